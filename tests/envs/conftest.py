"""The installable custom-env package of tests/fixtures, installed for real into a temp dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[1] / "fixtures" / "rlscale_testenvs"


@pytest.fixture(scope="session")
def testenvs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install`` the test package into a private folder (no network, no venv change)."""
    root = tmp_path_factory.mktemp("testenvs")
    source = root / "src"
    shutil.copytree(FIXTURE, source)  # pip builds in the source tree: keep ours clean
    target = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )
    return target


@pytest.fixture
def testenvs(testenvs_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package importable here and in every process started from here (Ray's
    env runners and the check's new process inherit PYTHONPATH)."""
    monkeypatch.syspath_prepend(str(testenvs_site))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv(
        "PYTHONPATH", str(testenvs_site) + (os.pathsep + path if path else "")
    )
    return testenvs_site
