"""Shared fixtures: an in-process CLI runner and a scratch output folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

# RLSCALE_TEST_CPUS=N: the tests see a machine with N cores (what os.sched_getaffinity and
# os.cpu_count say, which is all rlscale asks), so that `make test` also runs the plan,
# preset and CLI tests as on a 16- or 36-core node. Trainings are skipped in such a pass:
# Ray would start on this machine's real cores.
FAKE_CPUS_VAR = "RLSCALE_TEST_CPUS"
if os.environ.get(FAKE_CPUS_VAR):
    _fake_cpus = int(os.environ[FAKE_CPUS_VAR])
    os.sched_getaffinity = lambda pid: set(range(_fake_cpus))
    os.cpu_count = lambda: _fake_cpus

from rlscale.cli.app import app  # noqa: E402

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under RLSCALE_TEST_CPUS, skip what trains: only the planning is faked."""
    if not os.environ.get(FAKE_CPUS_VAR):
        return
    skip = pytest.mark.skip(reason=f"{FAKE_CPUS_VAR} fakes the core count: no training")
    for item in items:
        if "training" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say when the core count is faked."""
    if os.environ.get(FAKE_CPUS_VAR):
        return f"{FAKE_CPUS_VAR}={os.environ[FAKE_CPUS_VAR]}: {os.cpu_count()} cores visible"
    return None


class Cli:
    """Runs ``rlscale`` in-process; exceptions that are bugs propagate."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Any:
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            return self.runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            os.chdir(old)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI, run from a fresh temporary working directory."""
    return Cli(tmp_path)


def assert_error(result: Any, message: str, cwd: Path) -> None:
    """A user error: exit code 2, exactly one line on stderr, no traceback, nothing written."""
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output
    assert not (cwd / "rlscale_runs").exists(), "nothing may be written"


def read_summary(run_dir: Path) -> dict[str, Any]:
    """A run's summary.json."""
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small real run, trained once per session and shared (read-only) by the
    evaluate, export, plot and runs tests: PPO on CartPole-v1, 2 iterations, a checkpoint
    after each."""
    home = tmp_path_factory.mktemp("trained")
    result = Cli(home)("train", "--env", "CartPole-v1", "--stop-iters", "2", "--seed", "0",
                       "--name", "cp", "--checkpoint-every", "1", "--num-cpus", "1")
    assert result.exit_code == 0, result.output
    return home / "rlscale_runs" / "cp"


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    """A private copy of the trained run, safe to edit."""
    import shutil

    dest = tmp_path / "runs" / trained_run.name
    shutil.copytree(trained_run, dest)
    return dest


def interrupt_rlscale(
    *args: str, cwd: Path, when: Callable[[str], bool], timeout: float
) -> tuple[int, str]:
    """Run ``rlscale ARGS`` in a real process, press Ctrl-C (SIGINT) at the first output
    line for which ``when`` is true, and return its exit code and whole output."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlscale", *args], cwd=cwd, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if when(line):
            proc.send_signal(signal.SIGINT)
            break
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, "".join(lines) + out
