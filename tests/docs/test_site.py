"""The docs site builds with warnings as errors, and every generated output in it is fresh."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _gen() -> ModuleType:
    """docs/gen.py, the generator of the pages' example outputs (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("rlscale_docs_gen", ROOT / "docs" / "gen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_site_builds_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Generated references made it into the pages.
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert "--stop-reward" in cli
    api = (tmp_path / "site" / "reference" / "python-api" / "index.html").read_text()
    assert "Train one experiment and return its final summary" in api
    # Docstrings there are Markdown: a Sphinx role (:class:`X`) would show raw.
    assert not re.search(r":(func|class|meth|attr|mod|data):`", api)
    assert 'href="#rlscale.errors.TrainingFailed"' in api  # a cross-reference resolved


def test_generated_outputs_are_fresh() -> None:
    """A stale block (a flag, field or message changed): run ``python docs/gen.py``."""
    gen = _gen()
    cache: dict[str, str] = {}
    stale = {}
    for page in gen.pages():
        _, names = gen.update(page, cache)
        if names:
            stale[str(page.relative_to(ROOT))] = names
    assert not stale, f"stale generated blocks (run: python docs/gen.py): {stale}"
    assert len(cache) >= 10  # the pages do ask for generated blocks


def test_a_changed_output_is_stale(tmp_path: Path) -> None:
    gen = _gen()
    page = tmp_path / "page.md"
    page.write_text("<!-- gen:cmd:error-missing-env -->\n```\nError: pasted by hand\n```\n"
                    "<!-- /gen -->\n")
    text, stale = gen.update(page, {})
    assert stale == ["cmd:error-missing-env"]
    assert "Error: 'env' is required (set it in the experiment file or with --env)" in text


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move details to docs/"
