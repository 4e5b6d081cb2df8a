"""Sampling from the first second: a local run's main process samples while its env runners
start, and hands over to them once they are up (``resources.sample_at_once``, on by default).

An env runner is a fresh Ray worker that imports RLlib and PyTorch before it can sample: on
a small machine, seconds in which a run whose plan has remote env runners would otherwise
do nothing. Here the algorithm is built with its env runner in the main process (which has
imported all of that already) and trains on its samples, while the planned remote env
runners start beside it as RLlib's own ``EnvRunnerGroup`` (the same config, worker indexes
and seeds as RLlib would give them). Between two iterations, as soon as every one of them
answers, they join the algorithm's group (:meth:`EnvRunnerGroup.reset`), get the learner's
weights and the connectors' states, and sample from then on; the main process's envs stay
idle. The run's files, config, checkpoints, stop and resume are those of a run built with
its runners from the start (the run records its placement again once they are in).

A runner that could not start: when none could, the run fails as it would have
(:func:`rlscale.algos.runner_start.nothing_sampled`, naming the env's error); when some
could, they take over and RLlib starts the others again, as it restarts a failed runner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rlscale.startup_times import mark

log = logging.getLogger(__name__)

_PROBE = "rlscale_started"
_OWNER = "_rlscale_runners_owner"


def _own_handle(runner: Any) -> Any:
    """In an env runner: its own actor handle (what the algorithm's group adopts)."""
    import ray

    return ray.get_runtime_context().current_actor


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
    answered: dict[int, Any]  # the group's actor id -> that runner's actor handle

    @classmethod
    def start(cls, algorithm: Any, config: Any) -> StartingRunners:
        """Start ``config.num_env_runners`` env runners, without waiting for them."""
        from ray.rllib.env.env_runner_group import EnvRunnerGroup

        starting = config.copy(copy_frozen=False)
        starting.validate_env_runners_after_construction = False  # no wait here
        group = EnvRunnerGroup(env_creator=algorithm.env_creator, config=starting,
                               local_env_runner=False, logdir=algorithm.logdir)
        group.foreach_env_runner_async(_own_handle, tag=_PROBE)
        mark("the planned env runners asked for (the main process samples meanwhile)")
        return cls(group, int(config.num_env_runners), {})

    def poll(self) -> bool:
        """Note the runners that answered since the last call; True once all have (or
        failed to start)."""
        for actor_id, handle in self.group.fetch_ready_async_reqs(tags=_PROBE):
            self.answered[actor_id] = handle
        failed = self.count - self.group.num_healthy_remote_env_runners()
        return len(self.answered) + failed >= self.count

    def hand_over(self, algorithm: Any) -> None:
        """Give the runners that started to ``algorithm``'s group, in worker-index order,
        with the learner's weights and the main process's connector states."""
        from rlscale.algos.runner_start import nothing_sampled, start_error
        from rlscale.results import metrics

        if not self.answered:
            self.stop()
            steps = metrics.finite(algorithm.metrics.peek(
                (metrics.ENV_RUNNER_RESULTS, metrics.ENV_STEPS_LIFETIME), default=0))
            raise nothing_sampled(start_error(), int(steps or 0))
        handles = [self.answered[i] for i in sorted(self.answered)]
        group = algorithm.env_runner_group
        group.reset(handles)
        # A runner's handle of itself is borrowed: the group that created the runners owns
        # them, and they live as long as it does (as long as the algorithm's group, here).
        setattr(group, _OWNER, self.group)
        missing = self.count - len(handles)
        if missing:  # RLlib starts these again, as it restarts a failed runner
            group.add_workers(missing, validate=False)
        group.sync_weights(from_worker_or_learner_group=algorithm.learner_group,
                           inference_only=True)
        group.sync_env_runner_states(config=algorithm.config)
        log.info("the main process handed sampling over to %d env runner(s)", len(handles))

    def stop(self) -> None:
        """Stop the runners that were never handed over."""
        self.group.stop()


def maybe_hand_over(algorithm: Any, starting: StartingRunners | None) -> StartingRunners | None:
    """Between two iterations: hand over once every runner answered; what is left to wait
    for (None once handed over)."""
    if starting is None or not starting.poll():
        return starting
    starting.hand_over(algorithm)
    return None
