"""``rlscale runs``: one row per run directory, newest first; --json."""

from __future__ import annotations

import json
import shutil
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
