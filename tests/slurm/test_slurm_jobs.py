"""``rlscale slurm --submit`` against a real local Slurm with two nodes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import read_summary
from tests.runners.raycluster import leftover_processes
from tests.slurm.conftest import FINISHED, job_fields, job_log, wait_until

pytestmark = pytest.mark.training


def _submit(cli, *args: str) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    result = cli("slurm", "--env", "CartPole-v1", "--nodes", "2", "--cpus-per-node", "2",
                 "--seed", "0", *args, "--submit")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("Submitted job ")
    job_id = first.split()[2].rstrip(":")
    run = Path(first.rsplit("-> ", 1)[1])
    return job_id, run


def _summary(run: Path) -> dict:
    try:
        return read_summary(run)
    except (OSError, ValueError):
        return {}


def test_two_node_job_trains_with_env_runners_on_both_nodes(local_slurm, cli) -> None:
    t0, started_at = time.monotonic(), time.time()
    job_id, run = _submit(cli, "--time", "00:10:00", "--stop-reward", "150",
                          "--stop-iters", "40", "--name", "two")
    token_file = run / f".job-{job_id}" / "ray_token"
    wait_until("the job's token", token_file.is_file, 120, every=0.5)
    token = token_file.read_text()
    assert token and token_file.stat().st_mode & 0o777 == 0o600
    wait_until("the first iteration", lambda: _summary(run).get("iterations", 0) >= 1, 300)
    first_iteration_s = time.monotonic() - t0
    # While Ray runs on both nodes, the token is on no command line.
    assert leftover_processes(token) == []
    wait_until("the job to finish", lambda: job_fields(job_id).get("JobState") in FINISHED, 400)
    end_s = time.monotonic() - t0
    print(f"sbatch -> first iteration {first_iteration_s:.0f} s, -> end {end_s:.0f} s")

    assert job_fields(job_id)["JobState"] == "COMPLETED", job_log(run)
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["reached_target"] is True
    placement = json.loads((run / "placement.json").read_text())
    assert set(placement["env_runners"]) == {"127.0.0.2", "127.0.0.3"}
    log = job_log(run)
    assert "2 Ray node(s) joined: 127.0.0.2, 127.0.0.3" in log
    # The token is in no file of the run (script, job log, Ray node logs) and its file is gone.
    for path in run.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path
    assert not token_file.parent.exists()
    # ... nor in the logs of the Ray sessions started since the job was submitted.
    for session in Path("/tmp/ray").glob("session_2*"):
        if session.stat().st_mtime < started_at:
            continue
        for path in (session / "logs").rglob("*"):
            if path.is_file() and path.stat().st_size < 20_000_000:
                assert token not in path.read_text(errors="replace"), path
    # Nothing of the job is left running.
    assert leftover_processes("--node-ip-address=127.0.0.2") == []
    assert leftover_processes("--node-ip-address=127.0.0.3") == []

    status = cli("status", str(run))
    assert status.exit_code == 0
    assert "job_state         COMPLETED" in status.stdout
    assert "env_runner_nodes  127.0.0.2 x" in status.stdout


def test_a_job_that_hits_its_time_limit_requeues_and_resumes(local_slurm, cli) -> None:
    # The training must outlast Slurm's next time-limit check (every 30 s) after the limit
    # is brought close below: 100 iterations of 3,000 steps, about 80-90 s on 2 quiet cores
    # (with the default batch they took 26 s once, and the job ended before the signal).
    job_id, run = _submit(cli, "--time", "00:10:00", "--signal-lead", "120",
                          "--stop-iters", "100", "--checkpoint-every", "5", "--name", "requeue",
                          "--set", "algo_config.train_batch_size_per_learner=3000")
    wait_until("the first iteration", lambda: _summary(run).get("iterations", 0) >= 1, 300)
    # Bring the time limit close: Slurm now signals the job (USR1, 120 s before the
    # limit) at its next time-limit check, which stops training with a checkpoint.
    elapsed = time_s(job_fields(job_id)["RunTime"])
    limit_min = elapsed // 60 + 2
    subprocess.run(["scontrol", "update", f"JobId={job_id}", f"TimeLimit={limit_min}"],
                   check=True)
    wait_until("the requeued job to be pending again", lambda: (
        job_fields(job_id).get("Restarts"), job_fields(job_id).get("JobState")) == (
        "1", "PENDING"), 180)
    interrupted = _summary(run)
    assert interrupted["status"] == "interrupted", job_log(run)
    assert 1 <= interrupted["iterations"] < 100
    # Slurm holds a requeued job for a while; let it start soon, with room to finish, once
    # both nodes have cleaned up after the first segment (its steps can take seconds to die).
    # Not at once: slurmd revokes the job's credential at the requeue, and refuses ("Job
    # credential revoked") a new one issued within the same second, failing the job.
    wait_until("both nodes to be idle again", lambda: local_slurm.idle_nodes() == 2, 120)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now+5",
                    "TimeLimit=00:10:00"], check=True)
    wait_until("the job to finish", lambda: job_fields(job_id).get("JobState") in FINISHED, 400)
    assert job_fields(job_id)["JobState"] == "COMPLETED", job_log(run) + local_slurm.ctld_log()
    summary = read_summary(run)
    assert summary["status"] == "completed"
    assert summary["iterations"] == 100
    assert summary["segments"] == 2
    log = job_log(run)
    assert "time limit near: checkpointing, then requeueing" in log
    assert "resuming from the latest checkpoint" in log
    commands = (run / "command.txt").read_text().splitlines()
    assert len(commands) == 2 and commands[1].endswith("--resume")


def time_s(text: str) -> int:
    """Seconds in Slurm's ``[D-]HH:MM:SS``."""
    days, _, hms = text.rpartition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    return int(days or 0) * 86400 + h * 3600 + m * 60 + s


def test_job_evaluates_wraps_its_envs_and_tracks_in_wandb_offline(local_slurm, cli) -> None:
    # Episodes cut at 10 steps by a wrapper of the experiment file (returns <= 10 where it
    # runs); evaluation and W&B from rlscale slurm's own flags, offline as on a compute node.
    (cli.cwd / "exp.yaml").write_text(
        "env_wrappers:\n  - {gymnasium.wrappers:TimeLimit: {max_episode_steps: 10}}\n"
        "algo_config: {train_batch_size_per_learner: 1000, minibatch_size: 250}\n"
    )
    job_id, run = _submit(cli, "exp.yaml", "--time", "00:10:00", "--stop-iters", "2",
                          "--eval-every", "1", "--eval-episodes", "3", "--wandb", "jobs",
                          "--set", "tracking.wandb.mode=offline", "--name", "ewt")
    wait_until("the job to finish", lambda: job_fields(job_id).get("JobState") in FINISHED, 400)
    assert job_fields(job_id)["JobState"] == "COMPLETED", job_log(run)
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 2
    assert summary["eval_iteration"] == 2 and summary["eval_episodes"] == 3
    assert 0 < summary["eval_return_mean"] <= summary["best_eval_return_mean"] <= 10
    assert 0 < summary["best_episode_return_mean"] <= 10
    assert set(json.loads((run / "placement.json").read_text())["env_runners"]) == {
        "127.0.0.2", "127.0.0.3"}
    tracking = json.loads((run / "tracking.json").read_text())
    assert tracking["wandb"] == {"project": "jobs", "mode": "offline", "group": "ewt",
                                 "sync": f"wandb sync {run}/*/wandb/offline-run-*"}
    (offline,) = run.glob("*/wandb/offline-run-*")
    (events,) = offline.glob("run-*.wandb")
    assert events.stat().st_size > 1000


def test_a_multi_agent_job_trains_its_policies(local_slurm, cli) -> None:
    """A multi-agent env (an RLlib MultiAgentEnv from a file, two mapped policies) as a
    two-node Slurm job."""
    envs = Path(__file__).parents[1] / "envs" / "multiagent_envs.py"
    result = cli("slurm", "--env", f"{envs}:Grid", "--policies",
                 "battery_*=battery,grid_operator=operator", "--nodes", "2",
                 "--cpus-per-node", "2", "--seed", "0", "--time", "00:10:00", "--stop-iters",
                 "2", "--set", "algo_config.train_batch_size_per_learner=400", "--name", "ma",
                 "--submit")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    job_id, run = first.split()[2].rstrip(":"), Path(first.rsplit("-> ", 1)[1])
    wait_until("the job to finish", lambda: job_fields(job_id).get("JobState") in FINISHED, 400)
    assert job_fields(job_id)["JobState"] == "COMPLETED", job_log(run)
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 2
    assert set(summary["policy_return_mean"]) == {"battery", "operator"}
    config = (run / "config.yaml").read_text()
    assert "battery_*: battery" in config and "grid_operator: operator" in config
    assert leftover_processes("--node-ip-address=127.0.0.2") == []
    assert leftover_processes("--node-ip-address=127.0.0.3") == []
