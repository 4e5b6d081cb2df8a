"""``summary.json``: the state of a run, updated as it trains and written atomically."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlscale.results import metrics
from rlscale.results.files import atomic_write_json, read_json
from rlscale.results.metrics import finite, get_metric, progress_row
from rlscale.results.throughput import fold_throughput

SUMMARY_FILE = "summary.json"

RUNNING, COMPLETED, INTERRUPTED, FAILED = "running", "completed", "interrupted", "failed"
# Shown (never written) for a run that says running but whose process is gone: killed
# (SIGKILL, out of memory) before it could record how it ended.
DIED = "died"


def process_alive(pid: int) -> bool:
    """True when process ``pid`` of this machine exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:  # killed but not yet reaped by its parent: dead all the same
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


@dataclass
class CheckpointRecord:
    """One checkpoint: where it is (relative to the run dir) and the state it holds."""

    path: str
    iteration: int
    timesteps: int
    time_total_s: float
    episode_return_mean: float | None
    # The last evaluation's mean return before the checkpoint (with evaluation.every).
    eval_return_mean: float | None = None


@dataclass
class Summary:
    """Everything ``summary.json`` holds."""

    env: str
    algo: str
    status: str = RUNNING
    target_reward: float | None = None
    reached_target: bool = False
    best_episode_return_mean: float | None = None
    last_episode_return_mean: float | None = None
    timesteps_total: int = 0
    iterations: int = 0
    time_total_s: float = 0.0
    best_checkpoint: str | None = None
    last_checkpoint: str | None = None
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    segments: int = 0
    error: str | None = None
    # Simulator faults (rlscale.algos.faults): sub-environments rebuilt after raising or
    # hanging, env-runner processes restarted after dying, episodes the faults ended, and
    # the first fault as "Type: message (file:line)".
    env_restarts: int = 0
    env_runner_restarts: int = 0
    failed_episodes: int = 0
    first_env_fault: str | None = None
    # Where the time went (rlscale.results.throughput): the latest iteration and the sums.
    throughput: dict[str, Any] | None = None
    # Multi-agent runs: the last mean return (last 100 episodes) of each policy and agent.
    policy_return_mean: dict[str, float | None] | None = None
    agent_return_mean: dict[str, float | None] | None = None
    pid: int | None = None  # the process that trains the run (Tune's driver), while it does
    host: str | None = None  # and its machine
    updated_at: float = field(default_factory=time.time)
    # Where the run directory is; not written (it is the folder the file is in).
    run_dir: str | None = field(default=None, compare=False)
    # With evaluation (evaluation.every): the last and the best evaluation's mean return,
    # the iteration of each, and how many episodes the last one played; target_on (stop.on)
    # says which figure target_reward judges: "train", "eval" or "per_step".
    eval_return_mean: float | None = None
    eval_iteration: int | None = None
    best_eval_return_mean: float | None = None
    best_eval_iteration: int | None = None
    eval_episodes: int | None = None
    # The step cap of an evaluation episode (evaluation.max_episode_steps, else the env's
    # time limit, else 1000), and the last iteration whose evaluation a stop cut short.
    eval_max_episode_steps: int | None = None
    # The last iteration's mean reward per env step (every run; a continuing task's figure
    # while no episode has ended).
    last_reward_per_step_mean: float | None = None
    eval_cut_iteration: int | None = None
    target_on: str = "train"

    def mark_running(self) -> None:
        """This process trains the run from now on: status running, its pid and host noted."""
        self.status, self.error = RUNNING, None
        self.pid, self.host = os.getpid(), socket.gethostname()

    def shown_status(self) -> str:
        """The status to show: ``died`` for a run that says running while its process, on
        this machine, is gone (on another machine it cannot be told: running)."""
        if (self.status == RUNNING and self.pid is not None
                and self.host == socket.gethostname() and not process_alive(self.pid)):
            return DIED
        return self.status

    def record_result(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """Fold one training result in; returns its progress row."""
        row = progress_row(result)
        self.throughput = fold_throughput(self.throughput, result)
        self.iterations = row["iteration"]
        self.timesteps_total = row["env_steps"]
        self.time_total_s = row["time_total_s"]
        for attr, key in (("policy_return_mean", metrics.POLICY_RETURN_MEAN_KEY),
                          ("agent_return_mean", metrics.AGENT_RETURN_MEAN_KEY)):
            means = get_metric(result, f"{metrics.ENV_RUNNER_RESULTS}/{key}")
            if isinstance(means, Mapping) and means:
                setattr(self, attr, {str(k): finite(v) for k, v in means.items()})
        per_step = row.get("reward_per_step_mean")
        if per_step is not None:
            self.last_reward_per_step_mean = per_step
            if (self.target_on == "per_step" and self.target_reward is not None
                    and per_step >= self.target_reward):
                self.reached_target = True
        ret = row["episode_return_mean"]
        if ret is not None:
            self.last_episode_return_mean = ret
            if self.best_episode_return_mean is None or ret > self.best_episode_return_mean:
                self.best_episode_return_mean = ret
            if (self.target_on == "train" and self.target_reward is not None
                    and ret >= self.target_reward):
                self.reached_target = True
        self._record_evaluation(row)
        row["eval_return_mean"] = self.eval_return_mean  # the display shows the last one
        self._record_faults(result, row)
        return row

    def _record_evaluation(self, row: Mapping[str, Any]) -> None:
        ret = row.get("eval_return_mean")
        if row.get("eval_cut"):  # cut short by a stop: its return is not the policy's
            self.eval_cut_iteration = self.iterations
            return
        if ret is None:
            return
        self.eval_return_mean, self.eval_iteration = ret, self.iterations
        if self.best_eval_return_mean is None or ret > self.best_eval_return_mean:
            self.best_eval_return_mean, self.best_eval_iteration = ret, self.iterations
        if self.target_on == "eval" and self.target_reward is not None \
                and ret >= self.target_reward:
            self.reached_target = True
        episodes = row.get("eval_episodes")
        self.eval_episodes = None if episodes is None else int(episodes)

    def _record_faults(self, result: Mapping[str, Any], row: dict[str, Any]) -> None:
        """Add the iteration's fault counts; the row gets them, and the first fault's
        description in the iteration it happened."""
        from rlscale.envs.env_faults import EnvFault

        env = int(get_metric(result, f"{metrics.FAULTS}/{metrics.ENV_RESTARTS}") or 0)
        runner = int(get_metric(result, f"{metrics.FAULTS}/{metrics.ENV_RUNNER_RESTARTS}")
                     or 0)
        self.env_restarts += env
        self.env_runner_restarts += runner
        self.failed_episodes += int(
            get_metric(result, f"{metrics.FAULTS}/{metrics.FAILED_EPISODES}") or 0
        )
        row.update(env_restarts=env, env_runner_restarts=runner,
                   total_env_restarts=self.env_restarts,
                   total_env_runner_restarts=self.env_runner_restarts, first_env_fault=None)
        fault = get_metric(result, f"{metrics.FAULTS}/{metrics.FIRST_FAULT}")
        if isinstance(fault, Mapping) and self.first_env_fault is None:
            self.first_env_fault = EnvFault.from_dict(fault).line()
            row["first_env_fault"] = self.first_env_fault

    def record_checkpoint(self, path: str) -> None:
        """Note a checkpoint written after the latest result."""
        record = CheckpointRecord(
            path=path,
            iteration=self.iterations,
            timesteps=self.timesteps_total,
            time_total_s=self.time_total_s,
            episode_return_mean=self.last_episode_return_mean,
            eval_return_mean=self.eval_return_mean,
        )
        self.checkpoints = [c for c in self.checkpoints if c.path != path] + [record]
        self.last_checkpoint = path
        # With evaluation, the best checkpoint is the one with the best evaluation return.
        evaluated = [c for c in self.checkpoints if c.eval_return_mean is not None]
        if evaluated:
            best = max(evaluated, key=lambda c: c.eval_return_mean or 0.0)
        else:
            scored = [c for c in self.checkpoints if c.episode_return_mean is not None]
            best = max(scored, key=lambda c: c.episode_return_mean or 0.0) if scored else record
        self.best_checkpoint = best.path

    def latest_checkpoint(self) -> CheckpointRecord | None:
        """The checkpoint with the highest iteration."""
        return max(self.checkpoints, key=lambda c: c.iteration, default=None)

    def write(self, run_dir: Path) -> None:
        """Write ``summary.json`` atomically."""
        self.updated_at = time.time()
        self.run_dir = str(run_dir)
        data = asdict(self)
        del data["run_dir"]
        atomic_write_json(run_dir / SUMMARY_FILE, data)

    @classmethod
    def read(cls, run_dir: Path) -> Summary:
        """Read ``summary.json`` of a run."""
        data = read_json(run_dir / SUMMARY_FILE)
        data["checkpoints"] = [CheckpointRecord(**c) for c in data.get("checkpoints", [])]
        known = set(cls.__dataclass_fields__) - {"run_dir"}
        return cls(**{k: v for k, v in data.items() if k in known}, run_dir=str(run_dir))
