"""When a run stops: its stop criteria, and a clean stop asked for by Ctrl-C.

Both paths (Tune's trial actor and the driver's own loop) stop on the same criteria and the
same request, so a run stops alike wherever it trains.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from rlscale.config.model import StopConfig
from rlscale.envs.bounds import set_stopping
from rlscale.results import metrics

# Set by request_stop() (the CLI's Ctrl-C handler): the run stops after its current
# iteration, with a final checkpoint. A module global, so Tune can pickle the stopper.
_STOP_REQUESTED = threading.Event()


def request_stop() -> None:
    """Ask the running training to stop cleanly after the current iteration; an evaluation
    running in this process is cut (:mod:`rlscale.envs.bounds`)."""
    _STOP_REQUESTED.set()
    set_stopping()


def clear_stop() -> None:
    """Forget an earlier stop request (a new run starts)."""
    _STOP_REQUESTED.clear()
    set_stopping(False)


def stop_requested() -> bool:
    """True once :func:`request_stop` was called."""
    return _STOP_REQUESTED.is_set()


# The result key stop.reward judges, by stop.on: the training episodes' mean return, the
# last evaluation's (evaluation.every), or a continuing task's mean reward per env step.
_REWARD_FIGURE = {"train": metrics.EPISODE_RETURN_MEAN, "eval": metrics.EVAL_RETURN_MEAN,
                  "per_step": metrics.REWARD_PER_STEP}


def stop_criteria(stop: StopConfig) -> dict[str, float]:
    """Result keys and thresholds: the first one reached stops the run."""
    criteria: dict[str, float] = {}
    if stop.reward is not None:
        criteria[_REWARD_FIGURE[stop.on or "train"]] = stop.reward
    if stop.iters is not None:
        criteria[metrics.TRAINING_ITERATION] = stop.iters
    if stop.timesteps is not None:
        criteria[metrics.ENV_STEPS_LIFETIME] = stop.timesteps
    if stop.time_s is not None:
        criteria[metrics.TIME_TOTAL_S] = stop.time_s
    return criteria


def wall_deadline(stop: StopConfig, time_before_s: float = 0.0) -> float | None:
    """When (a ``time.time()`` value) ``stop.time_s`` ends a segment that starts now:
    stop.time_s counts wall-clock seconds, from the start of training (Ray's start and the
    algorithm's build included), over all of a run's segments (``time_before_s``: the
    training time of the segments before a ``--resume``)."""
    if stop.time_s is None:
        return None
    return time.time() + max(0.0, stop.time_s - time_before_s)


def past(deadline: float | None) -> bool:
    """True once ``deadline`` (from :func:`wall_deadline`) has passed."""
    return deadline is not None and time.time() >= deadline


def criteria_met(criteria: Mapping[str, float], result: Mapping[str, Any]) -> bool:
    """True when ``result`` reaches one of ``criteria`` (a missing or NaN value never does)."""
    for key, threshold in criteria.items():
        value = metrics.finite(metrics.get_metric(result, key))
        if value is not None and value >= threshold:
            return True
    return False
