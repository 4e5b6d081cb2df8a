"""Episodes without a time limit, and a stop that always stops (docs/time-limits.md).

PendulumEnv given as a class has no TimeLimit and never ends an episode of its own (a
continuing task): an evaluation with no step cap would play its first episode forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest

import rlscale
from rlscale.envs.bounds import (
    DEFAULT_MAX_EPISODE_STEPS,
    EpisodeBound,
    bound_config,
    set_stopping,
    split_bound,
    take_cut_count,
)
from rlscale.envs.resolve import create_env_for_rllib, resolve_env
from tests.conftest import read_summary

CONTINUING = "gymnasium.envs.classic_control.pendulum:PendulumEnv"


def test_an_episode_is_truncated_at_its_cap_and_at_once_when_the_run_stops() -> None:
    from gymnasium.envs.classic_control.pendulum import PendulumEnv

    env = EpisodeBound(PendulumEnv(), max_steps=3)
    env.reset(seed=0)
    assert [env.step(env.action_space.sample())[3] for _ in range(3)] == [False, False, True]
    env.reset(seed=0)
    take_cut_count()
    set_stopping()
    try:
        assert env.step(env.action_space.sample())[3] is True
    finally:
        set_stopping(False)
    assert take_cut_count() == 1
    past = EpisodeBound(PendulumEnv(), max_steps=1000, deadline=time.time() - 1)
    past.reset(seed=0)
    assert past.step(past.action_space.sample())[3] is True
    assert take_cut_count() == 1


def test_the_cap_reaches_the_env_the_creator_builds_and_not_its_constructor() -> None:
    """The bound rides in env_config; an RLlib EnvContext stays one without it."""
    from ray.rllib.env.env_context import EnvContext

    config = EnvContext(bound_config({}, 5), worker_index=3)
    own, bound = split_bound(config)
    assert isinstance(own, EnvContext) and own.worker_index == 3 and dict(own) == {}
    assert bound == {"max_steps": 5, "deadline": None}
    env = create_env_for_rllib(CONTINUING, (), config)
    assert isinstance(env, EpisodeBound) and env.max_steps == 5
    assert not isinstance(create_env_for_rllib(CONTINUING, (), {}), EpisodeBound)


def test_the_default_cap_is_the_envs_own_time_limit_else_a_stated_one() -> None:
    from rlscale.algos.evaluation import episode_step_cap
    from rlscale.config.model import ExperimentConfig

    exp = ExperimentConfig(env="x")
    assert resolve_env("CartPole-v1").max_episode_steps == 500
    assert episode_step_cap(exp, resolve_env("CartPole-v1")) == 500
    assert resolve_env(CONTINUING).max_episode_steps is None
    assert episode_step_cap(exp, resolve_env(CONTINUING)) == DEFAULT_MAX_EPISODE_STEPS
    wrapped = resolve_env(CONTINUING, wrappers=[
        {"gymnasium.wrappers:TimeLimit": {"max_episode_steps": 77}}])
    assert episode_step_cap(exp, wrapped) == 77
    exp = ExperimentConfig(env="x", evaluation={"max_episode_steps": 9})
    assert episode_step_cap(exp, resolve_env("CartPole-v1")) == 9
    assert isinstance(gym.make("CartPole-v1"), gym.Env)


@pytest.mark.training
@pytest.mark.parametrize("engine", ["driver", "tune"])
def test_stop_time_ends_a_run_whose_evaluation_never_ends(engine: str, tmp_path: Path) -> None:
    """A continuing task, its evaluation uncapped (a cap no episode reaches): stop.time_s
    cuts the evaluation in progress, says so in the summary, and the run ends, on both
    paths. The cut evaluation's return is not counted."""
    start = time.monotonic()
    summary = rlscale.train(overrides={
        "env": CONTINUING, "seed": 0, "output": str(tmp_path), "name": engine,
        "resources.num_cpus": 1, "stop.time_s": 12,
        "evaluation.every": 1, "evaluation.episodes": 1,
        "evaluation.max_episode_steps": 10**9,
        "algo_config.train_batch_size_per_learner": 256, "algo_config.minibatch_size": 128,
        "algo_config.num_epochs": 1,
    }, engine=engine)
    took = time.monotonic() - start
    assert summary.status == "completed"
    # Start-up (Ray, a Tune trial actor) comes on top of the 12 s: a loose bound that an
    # evaluation that never ends would break.
    assert took < 180, took
    stored = read_summary(Path(summary.run_dir or ""))
    assert stored["eval_max_episode_steps"] == 10**9
    assert stored["eval_cut_iteration"] == stored["iterations"]
    assert stored["eval_return_mean"] is None  # the only evaluation was cut
    assert stored["timesteps_total"] > 0
    # No training episode ever ended: the reward figure is the mean reward per step
    # (Pendulum's rewards lie in [-16.3, 0]).
    assert stored["last_episode_return_mean"] is None
    assert -16.3 <= stored["last_reward_per_step_mean"] < 0


@pytest.mark.training
def test_sigterm_ends_a_run_stuck_in_its_env_within_10_s(tmp_path: Path) -> None:
    """The env hangs in step(): the clean stop cannot come, SIGTERM still ends the run."""
    env_file = tmp_path / "hang.py"
    env_file.write_text(
        "import time\n"
        "from gymnasium.envs.classic_control.pendulum import PendulumEnv\n"
        "class Hang(PendulumEnv):\n"
        "    def step(self, action):\n"
        "        time.sleep(3600)\n"
        "        return super().step(action)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlscale", "train", "--env", f"{env_file}:Hang", "--num-cpus",
         "1", "--no-check-env", "--name", "hang", "--set", "faults.step_timeout_s=null"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Training PPO"):
            break
    time.sleep(3)  # inside its first iteration's sampling, in the hanging step()
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    output = "".join(lines) + out
    assert took < 10, (took, output)
    assert proc.returncode != 0
    assert "aborting" in output
    assert read_summary(tmp_path / "rlscale_runs" / "hang")["status"] == "interrupted"


def test_stop_reward_judges_the_figure_stop_on_names() -> None:
    """stop.on picks the result key stop.reward judges: per_step is a continuing task's
    mean reward per env step, the only reward figure a task whose episodes never end has."""
    from rlscale.config.model import StopConfig
    from rlscale.results import metrics
    from rlscale.runners.stopping import stop_criteria

    assert stop_criteria(StopConfig(reward=1.0)) == {metrics.EPISODE_RETURN_MEAN: 1.0}
    assert stop_criteria(StopConfig(reward=1.0, on="eval")) == {metrics.EVAL_RETURN_MEAN: 1.0}
    assert stop_criteria(StopConfig(reward=-2.0, on="per_step")) == {
        metrics.REWARD_PER_STEP: -2.0}


@pytest.mark.training
def test_a_continuing_task_stops_on_its_reward_per_step(tmp_path: Path) -> None:
    """stop.on: per_step: a continuing task (no episode ever ends) reaches --stop-reward on
    its mean reward per step, and the summary says the target was reached."""
    summary = rlscale.train(overrides={
        "env": CONTINUING, "seed": 0, "output": str(tmp_path), "name": "per-step",
        "resources.num_cpus": 1, "stop.reward": -12.0, "stop.on": "per_step",
        "stop.iters": 5,
        "algo_config.train_batch_size_per_learner": 256, "algo_config.minibatch_size": 128,
        "algo_config.num_epochs": 1,
    })
    stored = read_summary(Path(summary.run_dir or ""))
    # Pendulum's rewards lie in [-16.3, 0]: a random policy's mean is far above -12.
    assert stored["last_episode_return_mean"] is None
    assert stored["last_reward_per_step_mean"] >= -12.0
    assert stored["reached_target"] is True
    assert stored["iterations"] == 1  # stopped at the first figure, not by stop.iters
