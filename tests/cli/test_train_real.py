"""``rlscale train`` for real: RLlib on the embedded local Ray, small budgets, fixed seeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import interrupt_rlscale, read_summary

pytestmark = pytest.mark.training


def test_cartpole_ppo_learns_and_writes_the_run_directory(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--stop-reward", "150", "--stop-iters", "30",
                 "--seed", "0", "--name", "learn", "--checkpoint-every", "4")
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "learn"
    summary = read_summary(run)
    assert summary["status"] == "completed"
    assert summary["reached_target"] is True
    assert summary["best_episode_return_mean"] >= 150
    assert summary["iterations"] < 30
    assert "reached_target            true" in result.stdout
    # The run directory of DESIGN.md, with Tune's own files beside ours.
    for name in ("config.yaml", "command.txt", "versions.json", "summary.json"):
        assert (run / name).is_file(), name
    trial = next(p for p in run.iterdir() if p.is_dir() and p.name.startswith("PPO_"))
    assert (trial / "progress.csv").is_file()
    assert list(trial.glob("events.out.tfevents.*")), "TensorBoard events"
    assert (run / summary["best_checkpoint"]).is_dir()
    assert (run / summary["last_checkpoint"]).is_dir()
    # A checkpoint every 4 iterations and one at the end.
    assert len(summary["checkpoints"]) == summary["iterations"] // 4 + (
        summary["iterations"] % 4 != 0)
    versions = json.loads((run / "versions.json").read_text())
    assert versions["ray"].startswith("2.") and versions["rlscale"]


def test_resume_continues_counters(cli) -> None:
    first = cli("train", "--env", "CartPole-v1", "--stop-iters", "2", "--seed", "1",
                "--name", "r", "--checkpoint-every", "1")
    assert first.exit_code == 0, first.output
    run = cli.cwd / "rlscale_runs" / "r"
    before = read_summary(run)
    assert before["iterations"] == 2

    again = cli("train", "--env", "CartPole-v1", "--stop-iters", "2", "--name", "r")
    assert again.exit_code == 2
    assert "already exists; use --resume" in again.stderr

    resumed = cli("train", str(run / "config.yaml"), "--stop-iters", "4", "--resume")
    assert resumed.exit_code == 0, resumed.output
    after = read_summary(run)
    assert after["iterations"] == 4
    assert after["segments"] == 2
    assert after["timesteps_total"] > before["timesteps_total"] * 1.5
    assert after["time_total_s"] > before["time_total_s"]
    rows = [ln.split() for ln in resumed.stdout.splitlines() if ln.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == [3, 4], "iterations go on from the checkpoint"
    assert len((run / "command.txt").read_text().splitlines()) == 2


def test_interrupt_saves_a_checkpoint_and_resume_goes_on(tmp_path: Path, cli) -> None:
    returncode, output = interrupt_rlscale(
        "train", "--env", "CartPole-v1", "--name", "int", "--checkpoint-every", "100",
        cwd=tmp_path, when=lambda line: line.split()[:1] == ["2"],  # the 2nd iteration's row
        timeout=120,
    )
    assert returncode == 130, output
    run = tmp_path / "rlscale_runs" / "int"
    summary = read_summary(run)
    assert summary["status"] == "interrupted"
    assert summary["iterations"] >= 2
    assert (run / summary["last_checkpoint"]).is_dir()
    assert f"rlscale train {run / 'config.yaml'} --resume" in output

    cli.cwd = tmp_path
    resumed = cli("train", str(run / "config.yaml"), "--resume",
                  "--stop-iters", str(summary["iterations"] + 1))
    assert resumed.exit_code == 0, resumed.output
    assert read_summary(run)["iterations"] == summary["iterations"] + 1


def test_tutorial_flag_names_with_dqn(tmp_path: Path) -> None:
    rlscale = Path(sys.executable).parent / "rlscale"
    done = subprocess.run(
        [str(rlscale), "train", "--run", "DQN", "--name-env", "CartPole-v1", "--num-cpus", "2",
         "--stop-iters", "3", "--name", "dqn"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = read_summary(tmp_path / "rlscale_runs" / "dqn")
    assert summary["algo"] == "DQN" and summary["iterations"] == 3
    assert summary["status"] == "completed"
