"""Sampling from the first second: a local run's main process samples while its env runners
start, and hands over to them once they are up (``resources.sample_at_once``, on by default).

An env runner is a fresh Ray worker that imports RLlib and PyTorch before it can sample: on
a small machine, seconds in which a run whose plan has remote env runners would otherwise
do nothing. Here the algorithm is built with its env runner in the main process (which has
imported all of that already) and trains on its samples, while the planned remote env
runners start beside it as RLlib's own ``EnvRunnerGroup`` (the same config, worker indexes
and seeds as RLlib would give them). Between two iterations, as soon as every one of them
answers, they join the algorithm's group (:meth:`EnvRunnerGroup.reset`), get the learner's
weights and the connectors' states, and sample from then on. The main process's envs are then
closed (a simulator's memory, licence, socket or GPU given back): on RLlib 2.60's new API
stack nothing uses them once the group has remote runners. Sampling asks the remote runners
only (the local one samples when the group has none); evaluation has its own env runner group
(``evaluation_interval``); checkpoints, restores and RLlib's restoring of a failed runner read
and write the local runner's module and connector states, not its envs; the spaces were read
when the algorithm was built (the runner keeps them and answers ``get_spaces`` from them).
The local runner is then as RLlib builds it in a run with remote runners, without envs
(unless ``create_env_on_local_worker`` is set: then they stay), so an algorithm that falls
back to it when no remote runner is healthy (APPO/IMPALA) fails as such a run would.
The run's files, config, checkpoints, stop and resume are those of a run built with
its runners from the start (the run records its placement again once they are in).

Runners that fail before the handover: every planned runner joins the algorithm's group
under its own worker index (1..N, RLlib's numbering, so that no two sample the same seeded
episodes). One that failed to start, or whose process died after it answered (Ray restarts
its actor quietly, even while it starts: its runtime context says so), joins marked failed:
RLlib restores it as it restores any failed runner (the learner's state, the
``on_env_runners_recreated`` callbacks) and counts it in ``num_remote_worker_restarts``,
which the run reports as ``env_runner_restarts``. When none could start, the run fails as
it would have (:func:`rlscale.algos.runner_start.nothing_sampled`, naming the env's error).

Not for every run (:func:`samples_at_once`): an external simulator's env (its simulators
connect to the env runners' ports), nor an asynchronous algorithm (APPO, IMPALA, PPO with
``sampling: async``), which RLlib builds with a state server for its remote runners only
when the config has some: built without them, it would push every state to the runners,
iteration by iteration, instead of their pulling it while they sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlscale.startup_times import mark

if TYPE_CHECKING:
    from rlscale.runners.job import TrainingJob

log = logging.getLogger(__name__)

_PROBE = "rlscale_started"


def _answer(runner: Any) -> bool:
    """In an env runner: that it is up (what the probe asks)."""
    return True


def _identity(runner: Any) -> tuple[int, bool]:
    """In an env runner: its worker index, and whether Ray restarted its actor (after its
    process died, even while it was starting)."""
    import ray

    return int(runner.worker_index), bool(ray.get_runtime_context().was_current_actor_reconstructed)


def samples_at_once(job: TrainingJob) -> bool:
    """Whether ``job``'s main process samples while its env runners start (see above)."""
    from rlscale.algos.sampling import SamplingMode

    sampling = job.plan.sampling
    asynchronous = sampling is not None and sampling.mode is SamplingMode.ASYNC
    return job.exp.resources.sample_at_once and not job.env.is_external and not asynchronous


def local_first(config: Any) -> Any | None:
    """The config to build the algorithm from so that its main process samples first, or
    None when the plan has no remote env runner (nothing to wait for)."""
    if not config.num_env_runners:
        return None
    return config.copy(copy_frozen=False).env_runners(num_env_runners=0)


@dataclass
class StartingRunners:
    """The planned remote env runners, starting in their own group."""

    group: Any  # ray.rllib.env.env_runner_group.EnvRunnerGroup
    count: int
    answered: set[int]  # the worker indexes of the runners that answered

    @classmethod
    def start(cls, algorithm: Any, config: Any) -> StartingRunners:
        """Start ``config.num_env_runners`` env runners, without waiting for them."""
        from ray.rllib.env.env_runner_group import EnvRunnerGroup

        starting = config.copy(copy_frozen=False)
        starting.validate_env_runners_after_construction = False  # no wait here
        group = EnvRunnerGroup(env_creator=algorithm.env_creator, config=starting,
                               local_env_runner=False, logdir=algorithm.logdir)
        group.foreach_env_runner_async(_answer, tag=_PROBE)
        mark("the planned env runners asked for (the main process samples meanwhile)")
        return cls(group, int(config.num_env_runners), set())

    def poll(self) -> bool:
        """Note the runners that answered since the last call; True once all have (or
        failed to start)."""
        # The group's actor ids are the runners' worker indexes (1..N, RLlib's numbering).
        for index, _ in self.group.fetch_ready_async_reqs(tags=_PROBE):
            self.answered.add(index)
        failed = self.count - self.group.num_healthy_remote_env_runners()
        return len(self.answered) + failed >= self.count

    def hand_over(self, algorithm: Any) -> None:
        """Give every planned runner to ``algorithm``'s group under its own worker index,
        with the learner's weights and the main process's connector states; one that
        failed or was restarted since it answered goes in as failed, for RLlib to
        restore (and count) as it restores any failed runner."""
        from rlscale.algos.runner_start import nothing_sampled, start_error
        from rlscale.results import metrics

        if not self.answered:
            self.stop()
            steps = metrics.finite(algorithm.metrics.peek(
                (metrics.ENV_RUNNER_RESULTS, metrics.ENV_STEPS_LIFETIME), default=0))
            raise nothing_sampled(start_error(), int(steps or 0))
        # Every runner, in worker-index order (the group's actor ids follow that order);
        # taken out of the starting group, which then stops none of them.
        mine = self.group._worker_manager  # RLlib's FaultTolerantActorManager
        indexes = sorted(mine.actor_ids())
        group = algorithm.env_runner_group
        group.reset([mine.remove_actor(index) for index in indexes])
        ids = dict(zip(indexes, group._worker_manager.actor_ids(), strict=True))
        up = self._still_up(group, algorithm.config.env_runner_health_probe_timeout_s)
        failed = [index for index in indexes if index not in up]
        for index in failed:
            group._worker_manager.set_actor_state(ids[index], healthy=False)
        group.sync_weights(from_worker_or_learner_group=algorithm.learner_group,
                           inference_only=True)
        group.sync_env_runner_states(config=algorithm.config)
        close_main_envs(algorithm)
        log.info("the main process handed sampling over to %d env runner(s)%s",
                 len(indexes) - len(failed),
                 f" ({len(failed)} to be restored by RLlib)" if failed else "")

    def _still_up(self, group: Any, timeout_s: float) -> set[int]:
        """The worker indexes of the runners that answered the probe and run in the
        process they started in (Ray restarts a killed runner quietly: RLlib would not
        count it, nor give it the learner's state). ``timeout_s``: RLlib's own bound on a
        health check; a runner that is up answers in milliseconds, a dead or restarting
        one fails at once, so this waits only for one that is neither."""
        answers = group.foreach_env_runner(_identity, local_env_runner=False,
                                           timeout_seconds=timeout_s)
        return {index for index, restarted in answers
                if index in self.answered and not restarted}

    def stop(self) -> None:
        """Stop the runners that were never handed over."""
        self.group.stop()


def close_main_envs(algorithm: Any) -> None:
    """Close the envs of the algorithm's env runner in the main process, which samples no
    more once the remote runners took over (see the module's doc)."""
    runner = algorithm.env_runner
    env = getattr(runner, "env", None)
    if env is None or algorithm.config.create_env_on_local_worker:  # the user keeps them
        return
    runner.spaces = runner.get_spaces()  # what it answers from now on, without an env
    runner.env = None  # its stop() closes nothing more; a sample() would fail at once
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001  (the user's close(): the run goes on)
        log.warning("closing the main process's envs after the handover failed: %s: %s",
                    type(exc).__name__, exc)
    else:
        log.info("the main process's envs are closed (the env runners sample)")


def maybe_hand_over(algorithm: Any, starting: StartingRunners | None) -> StartingRunners | None:
    """Between two iterations: hand over once every runner answered; what is left to wait
    for (None once handed over)."""
    if starting is None or not starting.poll():
        return starting
    starting.hand_over(algorithm)
    return None
