"""``rlscale runs``: one row per run directory, newest first; --json."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlscale.results.summary import COMPLETED, FAILED, Summary


def _run(root: Path, name: str, updated: float, **fields) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(f"env: CartPole-v1\nalgo: PPO\nname: {name}\n")
    summary = Summary(env="CartPole-v1", algo="PPO", **fields)
    summary.write(run)
    data = json.loads((run / "summary.json").read_text())
    data["updated_at"] = updated
    (run / "summary.json").write_text(json.dumps(data))
    return run


def test_table_newest_first_and_json(cli, tmp_path: Path) -> None:
    root = tmp_path / "rlscale_runs"
    _run(root, "old", 1_000_000, status=COMPLETED, target_reward=450.0, reached_target=True,
         best_episode_return_mean=499.6, timesteps_total=36049, time_total_s=23.9)
    _run(root, "new", 2_000_000, status=FAILED, best_episode_return_mean=None,
         timesteps_total=0, time_total_s=0.0)
    (root / "not-a-run").mkdir()
    result = cli("runs")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("  ")[0] == "name"
    assert [ln.split()[0] for ln in lines[1:]] == ["new", "old"]
    assert lines[2].split()[1:8] == ["CartPole-v1", "PPO", "completed", "499.6", "36,049",
                                     "24s", "yes"]
    assert lines[1].split()[1:8] == ["CartPole-v1", "PPO", "failed", "-", "0", "0s", "-"]

    rows = json.loads(cli("runs", str(root), "--json").stdout)
    assert [r["name"] for r in rows] == ["new", "old"]
    assert rows[1]["reached_target"] is True and rows[1]["best_return"] == 499.6
    assert rows[0]["reached_target"] is None


def test_empty_and_missing_folders(cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert cli("runs", "empty").stdout == "No runs in empty\n"
    result = cli("runs", "missing")
    assert (result.exit_code, result.stderr) == (2, "Error: no such folder: missing\n")


@pytest.mark.training
def test_a_real_run_is_listed(cli, trained_run: Path) -> None:
    shutil.copytree(trained_run, cli.cwd / "rlscale_runs" / "cp")
    rows = json.loads(cli("runs", "--json").stdout)
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["env"], row["algo"], row["status"]) == (
        "cp", "CartPole-v1", "PPO", "completed")
    assert row["timesteps"] > 0 and row["wall_time_s"] > 0 and row["best_return"] > 0
    # The training process (this one: the CLI ran in-process) and its machine are recorded.
    summary = json.loads((trained_run / "summary.json").read_text())
    assert (summary["pid"], summary["host"]) == (os.getpid(), socket.gethostname())


# A real process marks a run running, as train's and sweep's driver does, and waits.
_TRAINER = """
import sys, time
from pathlib import Path
from rlscale.results.summary import Summary
summary = Summary(env="CartPole-v1", algo="PPO")
summary.mark_running()
summary.write(Path(sys.argv[1]))
print("running", flush=True)
time.sleep(600)
"""


def _status(cli, root: Path) -> str:
    rows = json.loads(cli("runs", str(root), "--json").stdout)
    return rows[0]["status"]


def test_a_run_whose_process_was_killed_shows_died(cli, tmp_path: Path) -> None:
    root = tmp_path / "rlscale_runs"
    run = root / "killed"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("env: CartPole-v1\nalgo: PPO\nname: killed\n")
    proc = subprocess.Popen([sys.executable, "-c", _TRAINER, str(run)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "running\n"
        summary = json.loads((run / "summary.json").read_text())
        assert (summary["pid"], summary["host"]) == (proc.pid, socket.gethostname())
        assert _status(cli, root) == "running"
        proc.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 60
        while _status(cli, root) != "died":  # killed, not yet reaped: a zombie
            assert time.monotonic() < deadline, "still shown running after SIGKILL"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    assert _status(cli, root) == "died"  # reaped: no such process
    table = cli("runs", str(root)).stdout.splitlines()
    assert table[1].split()[:4] == ["killed", "CartPole-v1", "PPO", "died"]
    status = cli("status", str(run))
    assert status.exit_code == 0, status.output
    assert (f"run_status       died (process {proc.pid} on {socket.gethostname()} "
            "is gone)") in status.stdout

    # The same pid on another machine cannot be checked from here: still running.
    summary["host"] = "another-node"
    (run / "summary.json").write_text(json.dumps(summary))
    assert _status(cli, root) == "running"
