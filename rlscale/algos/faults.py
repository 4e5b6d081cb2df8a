"""Simulator faults: a crashing or hanging env costs one sub-environment and one episode.

RLlib 2.60's own ``restart_failed_sub_environments`` recreates the whole vector env of an
env runner when one of its sub-environments raises, and throws away every episode in
progress in it (all ``num_envs_per_env_runner`` of them): with 32 CartPoles per runner and
a step that raises on 0.2% of calls, hardly any episode lives to 100 steps. rlscale wraps
each sub-environment instead (:class:`FaultTolerantEnv`):

- an exception in ``step()`` ends that env's episode as *truncated* (its value is
  bootstrapped, as for a time limit), with the last good observation and a marker in its
  info; the env is rebuilt by its creator and the vector env resets it as usual; an
  exception in ``reset()`` rebuilds it and resets again (a few times, then it propagates);
- a ``step()`` or ``reset()`` running longer than ``faults.step_timeout_s`` is interrupted
  (``SIGALRM`` in the main thread, where env runners step their envs) and handled as a
  crash; one watchdog thread per process checks a deadline, so a step costs two clock reads;
- the env runners' callbacks count the restarts and failed episodes and keep the first
  fault's type, message and file:line; failed episodes stay out of the return window
  (:mod:`rlscale.algos.returns`);
- the algorithm's ``on_train_result`` puts the counts in the result under ``faults`` (read by
  :meth:`rlscale.results.summary.Summary.record_result`) and stops the run with
  :class:`SimulatorFaults` when faults outpace progress.

Envs with their own vector implementation (CartPole-v1) cannot be wrapped one by one: they
keep RLlib's behaviour (the whole vector env is rebuilt), counted by RLlib's
``num_env_step_failures``. A crashed or killed env-runner process is restarted by RLlib
(``fault_tolerance`` in :func:`fault_tolerance_settings`).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

import gymnasium as gym

from rlscale.algos import watchdog
from rlscale.algos.watchdog import WATCHDOG, StepTimeout
from rlscale.config.model import FaultsConfig
from rlscale.envs.env_faults import FAULT_INFO, PROCESS_FAULTS, EnvFault, SimulatorFaults
from rlscale.results import metrics

log = logging.getLogger(__name__)

# The result's section and its keys (rlscale.results.metrics owns the names).
RESULT_KEY = metrics.FAULTS
ENV_RESTARTS, ENV_RUNNER_RESTARTS, FAILED_EPISODES = (
    metrics.ENV_RESTARTS, metrics.ENV_RUNNER_RESTARTS, metrics.FAILED_EPISODES
)
FIRST_FAULT = metrics.FIRST_FAULT
# Env-runner metrics (cleared on every reduce), taken out of the result again.
_M_RESTARTS = "rlscale_env_restarts"
_M_FAILED = "rlscale_failed_episodes"
_M_OK = "rlscale_completed_episodes"
_M_FAULT = "rlscale_env_fault_detail"
_RLLIB_STEP_FAILURES = "num_env_step_failures"  # RLlib's own count (whole vector env rebuilt)

RESET_ATTEMPTS = 3  # a reset() that raises this often in a row propagates the last error
OUTCOME_WINDOW = 100  # episodes over which the share of failed ones is judged
MIN_OUTCOMES = 20  # ... once this many have ended


# --- the env wrapper ---------------------------------------------------------------------

class FaultTolerantEnv(gym.Wrapper):  # type: ignore[type-arg]
    """One sub-environment that survives its own exceptions and hangs (see module doc)."""

    def __init__(self, make: Callable[[], gym.Env], step_timeout_s: float | None) -> None:
        super().__init__(make())
        self._make = make
        self._timeout = step_timeout_s
        self._last_obs: Any = None
        if step_timeout_s is not None:
            WATCHDOG.start(step_timeout_s)

    def _guard(self) -> contextlib.AbstractContextManager[None]:
        return WATCHDOG.watching() if self._timeout is not None else contextlib.nullcontext()

    def _rebuild(self, exc: BaseException) -> EnvFault:
        # a timeout is raised by the watchdog's handler: its place is where the env was
        fault = EnvFault.from_exception(exc, skip_files=(__file__, watchdog.__file__))
        PROCESS_FAULTS.add(fault)
        log.info("env restarted after %s", fault.line())
        if not isinstance(exc, StepTimeout):  # a hung env may hang in close() too
            with contextlib.suppress(Exception):
                self.env.close()
        self.env = self._make()
        return fault

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        for attempt in range(RESET_ATTEMPTS):
            try:
                with self._guard():
                    obs, info = self.env.reset(seed=seed, options=options)
            except Exception as exc:
                if attempt == RESET_ATTEMPTS - 1:
                    raise
                self._rebuild(exc)
                continue
            self._last_obs = obs
            return obs, info
        raise AssertionError("unreachable")

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        try:
            with self._guard():
                obs, reward, terminated, truncated, info = self.env.step(action)
        except Exception as exc:
            fault = self._rebuild(exc)
            # The episode ends here, truncated (not a terminal state of the task).
            return self._last_obs, 0.0, False, True, {FAULT_INFO: fault.line()}
        self._last_obs = obs
        return obs, reward, terminated, truncated, info


def _make_fault_tolerant(
    creator: Callable[[Any], Any], settings: FaultsConfig, env_config: Any
) -> FaultTolerantEnv:
    try:
        return FaultTolerantEnv(lambda: creator(env_config), settings.step_timeout_s)
    except Exception as exc:  # the runner cannot start: the driver names why
        from rlscale.algos.runner_start import note_start_error

        note_start_error(exc)
        raise


def register_fault_tolerant_env(env: Any, settings: FaultsConfig) -> None:
    """Register ``env`` (a :class:`~rlscale.envs.resolve.ResolvedEnv`) with Tune's registry,
    each sub-environment wrapped in :class:`FaultTolerantEnv` (native vector envs as is)."""
    import functools

    from ray.tune.registry import register_env

    from rlscale.envs.resolve import register_for_rllib

    if env.native_vector:
        register_for_rllib(env)
        return
    register_env(env.rllib_env, functools.partial(_make_fault_tolerant, env.creator(), settings))


# --- RLlib callbacks ---------------------------------------------------------------------

def episode_failed(episode: Any) -> bool:
    """True when ``episode`` ended because its env faulted."""
    try:
        info = episode.get_infos(-1)
    except (IndexError, KeyError, TypeError, ValueError):
        return False
    return isinstance(info, Mapping) and FAULT_INFO in info


def count_episode(*, episode: Any, metrics_logger: Any = None, **_: Any) -> None:
    """``on_episode_end``: count the episode as failed or completed."""
    if metrics_logger is not None:
        key = _M_FAILED if episode_failed(episode) else _M_OK
        metrics_logger.log_value(key, 1, reduce="sum")


def drain_faults(*, metrics_logger: Any = None, **_: Any) -> None:
    """``on_sample_end``: move this process's restarts (and its first fault) into metrics."""
    restarts, first = PROCESS_FAULTS.drain()
    if metrics_logger is None or not restarts:
        return
    metrics_logger.log_value(_M_RESTARTS, restarts, reduce="sum")
    if first is not None:
        metrics_logger.log_value(_M_FAULT, asdict(first), reduce="item_series", window=1)


class _Progress:
    """What the algorithm remembers between iterations to tell faults from progress."""

    def __init__(self) -> None:
        self.runner_restarts = 0
        self.outcomes: deque[bool] = deque(maxlen=OUTCOME_WINDOW)  # True: failed
        self.restarts_without_episode = 0
        self.last_fault: EnvFault | None = None


def _pop_number(section: dict[str, Any], key: str) -> int:
    value = metrics.finite(section.pop(key, None))
    return int(value) if value is not None else 0


def _pop_fault(section: dict[str, Any]) -> EnvFault | None:
    logged = section.pop(_M_FAULT, None)
    items = logged if isinstance(logged, list | tuple | deque) else [logged]
    for item in items:
        if isinstance(item, Mapping):
            return EnvFault.from_dict(item)
    return None


def fault_result_hook(settings: FaultsConfig) -> Callable[..., None]:
    """The ``on_train_result`` callback that reports faults and stops the run when they
    outpace progress."""
    import functools

    return functools.partial(_on_train_result, settings)


def _on_train_result(
    settings: FaultsConfig, *, algorithm: Any, result: dict[str, Any], **_: Any
) -> None:
    state = getattr(algorithm, "_rlscale_fault_progress", None)
    if state is None:
        state = algorithm._rlscale_fault_progress = _Progress()
    runners = result.get(metrics.ENV_RUNNER_RESULTS)
    runners = runners if isinstance(runners, dict) else {}
    restarts = _pop_number(runners, _M_RESTARTS)
    restarts += _rllib_step_failures(algorithm, runners)
    failed = _pop_number(runners, _M_FAILED)
    completed = _pop_number(runners, _M_OK)
    fault = _pop_fault(runners)
    lifetime = metrics.finite(
        metrics.get_metric(result, "fault_tolerance/num_remote_worker_restarts")
    )
    runner_restarts = max(int(lifetime or 0) - state.runner_restarts, 0)
    state.runner_restarts = int(lifetime or 0)
    section: dict[str, Any] = {
        ENV_RESTARTS: restarts, ENV_RUNNER_RESTARTS: runner_restarts, FAILED_EPISODES: failed,
    }
    if fault is not None:
        section[FIRST_FAULT] = asdict(fault)
        state.last_fault = fault
    result[RESULT_KEY] = section
    state.outcomes.extend([True] * failed + [False] * completed)
    state.restarts_without_episode = (
        state.restarts_without_episode + restarts if completed == 0 else 0
    )
    _stop_if_outpaced(settings, state)


def _rllib_step_failures(algorithm: Any, runners: dict[str, Any]) -> int:
    """New sub-environment failures RLlib itself handled (native vector envs)."""
    total = int(metrics.finite(runners.get(_RLLIB_STEP_FAILURES)) or 0)
    seen = getattr(algorithm, "_rlscale_rllib_step_failures", 0)
    algorithm._rlscale_rllib_step_failures = total
    return max(total - seen, 0)


def _stop_if_outpaced(settings: FaultsConfig, state: _Progress) -> None:
    fault = state.last_fault
    if fault is None:
        return
    failed = sum(state.outcomes)
    if (len(state.outcomes) >= MIN_OUTCOMES
            and failed >= settings.max_failed_fraction * len(state.outcomes)):
        raise SimulatorFaults(
            fault, f"the env faulted in {failed} of the last {len(state.outcomes)} episodes "
            f"(faults.max_failed_fraction {settings.max_failed_fraction:g})"
        )
    if state.restarts_without_episode >= settings.max_restarts_without_episode:
        raise SimulatorFaults(
            fault, f"{state.restarts_without_episode} env restarts without a completed "
            f"episode (faults.max_restarts_without_episode "
            f"{settings.max_restarts_without_episode})"
        )


def fault_tolerance_settings(settings: FaultsConfig) -> dict[str, Any]:
    """RLlib's ``fault_tolerance(...)`` arguments: crashed or killed env-runner processes
    are restarted after a short delay; a sub-environment RLlib sees fail (one not wrapped
    here) is rebuilt instead of failing the runner."""
    return {
        "restart_failed_env_runners": True,
        "delay_between_env_runner_restarts_s": settings.env_runner_restart_delay_s,
        "restart_failed_sub_environments": True,
        "max_num_env_runner_restarts": 1000,
    }
