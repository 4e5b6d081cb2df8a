"""A local run with env runners samples in its main process while they start, then hands
over to them (rlscale.runners.quick_start), with the learner's weights."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

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


def _runner_processes() -> list[int]:
    from tests.processes import descendants

    found = []
    for pid in descendants(os.getpid()):
        try:
            if b"SingleAgentEnvRunner" in open(f"/proc/{pid}/cmdline", "rb").read():
                found.append(pid)
        except OSError:
            continue
    return found


def _train_until_restored(algo: Any, runners: int = 2) -> int:
    """Train (2 iterations at least) until ``runners`` env runners are healthy again; the
    env-runner restarts RLlib counted (what the run reports as ``env_runner_restarts``)."""
    deadline, iterations, restarts = time.monotonic() + 180, 0, 0
    group = algo.env_runner_group
    while iterations < 2 or group.num_healthy_remote_env_runners() < runners:
        assert time.monotonic() < deadline, "the killed runner never came back"
        result = algo.train()
        iterations += 1
        restarts = int(result["fault_tolerance"]["num_remote_worker_restarts"])
    return restarts


def _pid_and_restart(runner: Any) -> tuple[int, bool]:
    import ray

    return os.getpid(), bool(ray.get_runtime_context().was_current_actor_reconstructed)


class _AtOnce:
    """An algorithm built to sample in this process, with its planned runners starting."""

    def __init__(self, config: Any) -> None:
        first = local_first(config)
        assert first is not None and first.num_env_runners == 0
        self.algo = first.build_algo()
        self.starting: StartingRunners | None = StartingRunners.start(self.algo, config)

    def hand_over(self) -> None:
        """Wait until every runner answered (or failed), then hand over."""
        assert self.starting is not None
        _until_all_answered(self.starting)
        self.starting = maybe_hand_over(self.algo, self.starting)
        assert self.starting is None

    def stop(self) -> None:
        if self.starting is not None:
            self.starting.stop()
        self.algo.stop()


@contextlib.contextmanager
def _sampling_at_once(config: Any, num_cpus: int) -> Iterator[_AtOnce]:
    """A local Ray of ``num_cpus`` cores and :class:`_AtOnce` in it, both stopped after."""
    start_local_ray(num_cpus=num_cpus, num_gpus=0, torch_threads=1)
    try:
        run = _AtOnce(config)
        try:
            yield run
        finally:
            run.stop()
    finally:
        stop_ray()


def test_runners_killed_before_the_handover_are_restarted_under_their_index_and_counted(
) -> None:
    """One runner's process is killed while it starts, the other's after it answered, before
    the handover: the run goes on with both (Ray restarts them, RLlib restores them with the
    learner's state) and both restarts are counted where the run's faults are (RLlib's
    ``num_remote_worker_restarts``, the run's ``env_runner_restarts``)."""
    with _sampling_at_once(_ppo(2), num_cpus=3) as run:
        assert run.starting is not None
        deadline = time.monotonic() + 120
        while not (runners := _runner_processes()):
            assert time.monotonic() < deadline, "no env runner process"
            time.sleep(0.05)
        os.kill(runners[0], signal.SIGKILL)  # while it starts
        _until_all_answered(run.starting)
        answers = run.starting.group.foreach_env_runner(_pid_and_restart,
                                                        local_env_runner=False)
        answered = [pid for pid, restarted in answers
                    if not restarted and pid != runners[0]]
        os.kill(answered[0], signal.SIGKILL)  # after it answered
        _pid_gone(answered[0])
        run.hand_over()
        assert _train_until_restored(run.algo) >= 2
        group = run.algo.env_runner_group
        assert sorted(group.foreach_env_runner(
            lambda r: r.worker_index, local_env_runner=False)) == [1, 2]
        now = group.foreach_env_runner(lambda r: os.getpid(), local_env_runner=False)
        assert runners[0] not in now and answered[0] not in now


class _NotInRunnerOne(CartPoleEnv):
    """Builds everywhere but in the env runner of worker index 1."""

    def __init__(self, config: Any = None) -> None:
        if getattr(config, "worker_index", 0) == 1:
            raise RuntimeError("licence server unreachable from runner 1")
        super().__init__()


def test_runners_that_failed_to_start_keep_their_index_and_no_index_is_doubled() -> None:
    """Runner 1 of 2 cannot start: runner 2 takes over under index 2 (nothing else samples
    as 2, which would repeat its seeded episodes); 1 stays RLlib's to restore."""
    with _sampling_at_once(_ppo(2).environment(_NotInRunnerOne), num_cpus=3) as run:
        run.hand_over()
        for _ in range(2):
            run.algo.train()
        group = run.algo.env_runner_group
        assert group.num_remote_env_runners() == 2
        assert group.foreach_env_runner(lambda r: r.worker_index,
                                        local_env_runner=False) == [2]


class _CountsCloses(CartPoleEnv):
    """CartPole that counts the closes of its instances in this process."""

    closes = 0

    def close(self) -> None:
        type(self).closes += 1
        super().close()


def test_the_main_process_envs_close_at_the_handover_and_evaluation_and_resume_work(
        tmp_path) -> None:
    from ray.rllib.utils.metrics import EVALUATION_RESULTS

    config = _ppo(1).environment(_CountsCloses).evaluation(
        evaluation_interval=1, evaluation_duration=1, evaluation_duration_unit="episodes")
    start_local_ray(num_cpus=2, num_gpus=0, torch_threads=1)
    try:
        run = _AtOnce(config)
        try:
            run.algo.train()  # sampled in this process
            run.hand_over()
            assert run.algo.env_runner.env is None and _CountsCloses.closes == 1
            for _ in range(2):
                result = run.algo.train()
                assert result[EVALUATION_RESULTS]["env_runners"]["num_episodes"] >= 1
            steps = result["num_env_steps_sampled_lifetime"]
            assert steps >= 3 * 256
            run.algo.save_to_path(str(tmp_path / "checkpoint"))
        finally:
            run.stop()
        # --resume: a new algorithm that samples at once again, restored from the checkpoint
        again = local_first(config)
        assert again is not None
        resumed = again.build_algo()
        try:
            resumed.restore_from_path(str(tmp_path / "checkpoint"))
            assert resumed.train()["num_env_steps_sampled_lifetime"] >= steps + 256
        finally:
            resumed.stop()
    finally:
        stop_ray()


@pytest.mark.parametrize(("sampling", "at_once"), [(None, True), ("async", False)])
def test_an_asynchronous_run_waits_for_its_runners(tmp_path, sampling, at_once) -> None:
    """APPO (PPO with sampling: async) keeps RLlib's state server for its remote runners,
    which it builds only when the config has them: such a run does not sample at once."""
    from rlscale.runners import launch
    from rlscale.runners.job import prepare_job
    from rlscale.runners.quick_start import samples_at_once

    exp, preset = launch.load({
        "env": "CartPole-v1", "output": str(tmp_path),
        "resources": {"num_cpus": 3, "num_env_runners": 2},
        **({"sampling": sampling} if sampling else {})})
    job = prepare_job(exp, preset, check_env=False)
    assert job.plan.num_env_runners == 2
    assert samples_at_once(job) is at_once
