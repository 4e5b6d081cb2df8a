"""A local run with env runners samples in its main process while they start, then hands
over to them (rlscale.runners.quick_start), with the learner's weights."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from rlscale.runners.quick_start import StartingRunners, local_first, maybe_hand_over
from rlscale.runners.session import start_local_ray, stop_ray

pytestmark = pytest.mark.training


def test_the_main_process_samples_until_the_runners_are_up_then_hands_over() -> None:
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig().environment("CartPole-v1")
        .env_runners(num_env_runners=1, num_envs_per_env_runner=1)
        .training(train_batch_size_per_learner=256, minibatch_size=128, num_epochs=1)
        .debugging(seed=0)
    )
    start_local_ray(num_cpus=2, num_gpus=0, torch_threads=1)
    try:
        first = local_first(config)
        assert first is not None and first.num_env_runners == 0
        algo = first.build_algo()
        starting: StartingRunners | None = StartingRunners.start(algo, config)
        try:
            group = algo.env_runner_group
            assert group.num_remote_env_runners() == 0
            assert algo.train()["num_env_steps_sampled_lifetime"] >= 256  # sampled here
            deadline = time.monotonic() + 180
            while starting is not None and time.monotonic() < deadline:
                starting = maybe_hand_over(algo, starting)
                time.sleep(0.2)
            assert starting is None, "the env runner never came up"
            assert group.num_healthy_remote_env_runners() == 1
            # The runner samples with the learner's weights, not its own initial ones.
            learner = algo.learner_group.get_weights()["default_policy"]
            runner = group.foreach_env_runner(
                lambda r: r.module.get_state(inference_only=True), local_env_runner=False)[0]
            for name, value in runner.items():
                assert (learner[name] == value).all(), name
            indexes = group.foreach_env_runner(lambda r: r.worker_index,
                                               local_env_runner=False)
            assert indexes == [1]
            assert algo.train()["num_env_steps_sampled_lifetime"] >= 512
        finally:
            if starting is not None:
                starting.stop()
            algo.stop()
    finally:
        stop_ray()


def test_a_plan_without_env_runners_has_nothing_to_wait_for() -> None:
    from ray.rllib.algorithms.ppo import PPOConfig

    assert local_first(PPOConfig().env_runners(num_env_runners=0)) is None


def test_a_run_that_samples_at_once_keeps_the_contract(tmp_path) -> None:
    """The run's files say what was planned (1 env runner), and it resumes (a second segment
    samples at once again), whenever the handover happened."""
    import json

    import rlscale

    exp = {"env": "CartPole-v1", "seed": 0, "output": str(tmp_path), "name": "r",
           "resources": {"num_cpus": 2, "num_env_runners": 1},
           "algo_config": {"train_batch_size_per_learner": 512, "num_epochs": 1},
           "stop": {"iters": 2}, "checkpoint": {"every": 1}}
    first = rlscale.train(exp)
    assert first.status == "completed" and first.iterations == 2
    resumed = rlscale.train({**exp, "stop": {"iters": 4}}, resume=True)
    assert resumed.status == "completed" and resumed.iterations == 4
    assert resumed.timesteps_total > first.timesteps_total and resumed.segments == 2
    trials = sorted((tmp_path / "r").glob("PPO_*/params.json"))
    assert len(trials) == 2
    for params in trials:
        assert json.loads(params.read_text())["num_env_runners"] == 1


def _ppo(num_env_runners: int) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig

    return (
        PPOConfig().environment("CartPole-v1")
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=1)
        .training(train_batch_size_per_learner=256, minibatch_size=128, num_epochs=1)
        .fault_tolerance(restart_failed_env_runners=True,
                         delay_between_env_runner_restarts_s=0.5)
        .debugging(seed=0)
    )


def _until_all_answered(starting: StartingRunners) -> None:
    deadline = time.monotonic() + 180
    while not starting.poll():
        assert time.monotonic() < deadline, "the env runners never came up"
        time.sleep(0.2)


def _pid_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} still there")


def test_a_runner_killed_after_it_answered_is_restarted_and_counted() -> None:
    """A runner whose process dies between its answer and the handover: the run goes on
    with all its runners (Ray restarts the killed one), and the restart is counted where
    the run's faults are (RLlib's ``num_remote_worker_restarts``)."""
    config = _ppo(2)
    start_local_ray(num_cpus=3, num_gpus=0, torch_threads=1)
    try:
        first = local_first(config)
        assert first is not None
        algo = first.build_algo()
        starting: StartingRunners | None = StartingRunners.start(algo, config)
        try:
            assert starting is not None
            _until_all_answered(starting)
            pids = starting.group.foreach_env_runner(lambda r: os.getpid(),
                                                     local_env_runner=False)
            os.kill(pids[0], signal.SIGKILL)
            _pid_gone(pids[0])
            starting = maybe_hand_over(algo, starting)
            assert starting is None
            restarts = 0
            for _ in range(3):
                result = algo.train()
                restarts = max(restarts, int(
                    result["fault_tolerance"]["num_remote_worker_restarts"]))
            assert restarts >= 1, result["fault_tolerance"]
            group = algo.env_runner_group
            assert group.num_healthy_remote_env_runners() == 2
            assert sorted(group.foreach_env_runner(
                lambda r: r.worker_index, local_env_runner=False)) == [1, 2]
            now = group.foreach_env_runner(lambda r: os.getpid(), local_env_runner=False)
            assert pids[0] not in now and pids[1] in now
        finally:
            if starting is not None:
                starting.stop()
            algo.stop()
    finally:
        stop_ray()
