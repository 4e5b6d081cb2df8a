"""Simulator faults: a crashing or hanging env costs one sub-environment and one episode."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tests.conftest import read_summary
from tests.processes import descendants

FAULTY = str(Path(__file__).parents[1] / "fixtures" / "rlscale_testenvs" / "rlscale_testenvs"
             / "faulty.py") + ":FaultyCartPole"
NOISE = ("Traceback", "(raylet)", "WARNING", "ERROR", "A worker died", "EnvRunner")


def _train(cli, *extra: str, env_config: dict) -> object:
    return cli("train", "--env", FAULTY, "--env-config", json.dumps(env_config),
               "--seed", "0", "--name", "faulty", "--num-cpus", "1", "--no-check-env", *extra)


def test_a_crashing_and_hanging_env_is_restarted_and_training_goes_on(cli, tmp_path) -> None:
    # 1% of steps raise; the 3rd step of the sampling process hangs for an hour.
    start = time.monotonic()
    result = _train(cli, "--stop-iters", "3", "--set", "faults.step_timeout_s=2",
                    "--set", "algo_config.train_batch_size_per_learner=1000",
                    env_config={"p_raise": 0.01, "hang_at_step": 3, "raise_from_step": 10,
                                "seed": 0})
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 120  # the hour-long step was cut at 2 s
    summary = read_summary(tmp_path / "rlscale_runs" / "faulty")
    assert summary["status"] == "completed" and summary["iterations"] == 3
    # About 30 faults in 3,000 steps, each ending one episode; no runner process died.
    assert 10 <= summary["env_restarts"] <= 60, summary
    assert summary["failed_episodes"] == summary["env_restarts"]
    assert summary["env_runner_restarts"] == 0
    # The first fault is the hang (no env raises before its 10th step),
    # located in the env's own file.
    assert re.fullmatch(r"StepTimeout: the env did not return within 2 s "
                        r"\(faults\.step_timeout_s\) \(faulty\.py:\d+\)",
                        summary["first_env_fault"]), summary["first_env_fault"]
    # The progress display reports restarts under the rows, the first with its fault.
    lines = result.output.splitlines()
    restart_lines = [ln for ln in lines if "env restart(s)" in ln]
    assert restart_lines and "first: StepTimeout" in restart_lines[0]
    assert [ln for ln in lines if any(n in ln for n in NOISE)] == []
    # Failed episodes are not in the return window: its mean is over completed ones.
    assert summary["last_episode_return_mean"] is not None


def test_faults_that_outpace_progress_stop_the_run_with_the_envs_error(cli, tmp_path) -> None:
    result = _train(cli, "--stop-iters", "5", env_config={"p_raise": 0.5, "seed": 0})
    assert result.exit_code == 1, result.output
    run_dir = tmp_path / "rlscale_runs" / "faulty"
    error = result.stderr.strip()
    assert re.fullmatch(
        r"Error: training failed: SimulatorDiverged: solver diverged at step \d+ "
        r"\(faulty\.py:\d+\); the env faulted in \d+ of the last \d+ episodes "
        r"\(faults\.max_failed_fraction 0\.95\); traceback in " + re.escape(str(run_dir))
        + r"/error\.txt", error), error
    assert "Traceback" not in result.output
    text = (run_dir / "error.txt").read_text()
    assert "The env's exception:" in text and "raise SimulatorDiverged" in text
    summary = read_summary(run_dir)
    assert summary["status"] == "failed"
    assert summary["error"].startswith("SimulatorDiverged: solver diverged at step")


def _env_runners(pid: int) -> list[int]:
    found = []
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_text()
        except OSError:
            continue
        if "SingleAgentEnvRunner" in cmdline:
            found.append(child)
    return found


def test_a_killed_env_runner_process_is_restarted_quietly(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "rlscale", "train", "--env", FAULTY, "--env-config",
         json.dumps({"p_raise": 0.002, "seed": 0}), "--seed", "0", "--name", "k",
         "--num-cpus", "3", "--stop-iters", "8", "--no-check-env",
         "--set", "algo_config.train_batch_size_per_learner=1000",
         # the runners sample from iteration 1 (this process does not sample while they
         # start), so that the one killed at iteration 2 is one that was sampling
         "--set", "resources.sample_at_once=false"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines, killed = [], None
    try:
        for line in proc.stdout:
            lines.append(line)
            if killed is None and re.match(r"\s+2\s+[\d,]+\s", line):
                runners = _env_runners(proc.pid)
                assert len(runners) == 2, runners
                killed = runners[0]
                os.kill(killed, signal.SIGKILL)
        proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines)
    assert proc.returncode == 0, output
    summary = read_summary(tmp_path / "rlscale_runs" / "k")
    assert summary["iterations"] == 8
    assert summary["env_runner_restarts"] >= 1, output
    assert "env-runner restart(s)" in output
    assert [ln for ln in output.splitlines() if any(n in ln for n in NOISE)] == [], output
