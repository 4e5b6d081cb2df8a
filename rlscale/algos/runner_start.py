"""Env runners that cannot start, and a run that samples nothing.

An env runner whose env cannot be built in its own process (a module, a licence or a data
file missing there) dies in its constructor. RLlib restarts it (``restart_failed_env_runners``,
counted in the run's ``env_runner_restarts``) and, meanwhile, trains on the samples of the
healthy ones; when there are none, RLlib 2.60 either fails with an unrelated ``IndexError``
(the first runner is asked for the spaces) or trains on 0 env steps and reports nothing
wrong. Here:

- the env creator notes the first error an env raised while a runner built it, under this
  Ray job's key in Ray's key-value store, so the driver can name it (:func:`note_start_error`,
  :func:`start_error`);
- an iteration after which no remote env runner is healthy and no env step was ever sampled
  ends the run with :class:`NothingSampled`, naming that error (:func:`fail_if_nothing_sampled`,
  an ``on_train_result`` hook).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

_KEY = "rlscale_env_runner_start_error:"


class NothingSampled(RuntimeError):
    """No env runner can sample: the run would train on nothing."""


def _key() -> bytes | None:
    import ray

    if not ray.is_initialized():
        return None
    return (_KEY + ray.get_runtime_context().get_job_id()).encode()


def note_start_error(exc: BaseException) -> None:
    """In an env runner's process: remember ``exc`` (the env's, raised while the runner built
    it) as the job's env-runner start error, unless one is noted already."""
    try:
        from ray.experimental.internal_kv import _internal_kv_initialized, _internal_kv_put

        key = _key()
        if key is None or not _internal_kv_initialized():
            return
        _internal_kv_put(key, f"{type(exc).__name__}: {exc}".encode(), overwrite=False)
    except Exception as err:  # noqa: BLE001  (a note must never hide the env's own error)
        log.debug("could not note the env runner's start error: %s", err)


def start_error() -> str | None:
    """The first error an env raised while an env runner of this Ray job built it."""
    try:
        from ray.experimental.internal_kv import _internal_kv_get, _internal_kv_initialized

        key = _key()
        if key is None or not _internal_kv_initialized():
            return None
        value = _internal_kv_get(key)
    except Exception:  # noqa: BLE001  (no Ray, or no store: nothing noted)
        return None
    return value.decode() if value else None


def forget_start_error() -> None:
    """A new segment starts: an earlier one's note does not apply."""
    try:
        from ray.experimental.internal_kv import _internal_kv_del, _internal_kv_initialized

        key = _key()
        if key is not None and _internal_kv_initialized():
            _internal_kv_del(key)
    except Exception:  # noqa: BLE001
        pass


def nothing_sampled(why: str | None, main_process_steps: int | None = None) -> NothingSampled:
    """The error that ends a run no env runner can sample for; ``main_process_steps``: the
    env steps the main process sampled while they were starting (rlscale.runners.quick_start),
    if it did."""
    cause = f": {why}" if why else " (their error is in the run's error.txt)"
    if main_process_steps is not None:
        return NothingSampled(f"no env runner could start (the main process sampled "
                              f"{main_process_steps:,} env steps meanwhile){cause}")
    return NothingSampled(f"no env runner could sample, 0 env steps{cause}")


def fail_if_nothing_sampled(*, algorithm: Any, result: dict[str, Any], **_: Any) -> None:
    """``on_train_result``: raise :class:`NothingSampled` when the run has sampled no env
    step and none of its remote env runners is healthy (RLlib restarts them each iteration:
    a runner that came back would have sampled)."""
    from rlscale.results import metrics

    group = getattr(algorithm, "env_runner_group", None)
    if group is None or group.num_remote_env_runners() == 0:
        return  # the main process samples: an env that fails there raises itself
    steps = metrics.finite(metrics.get_metric(result, metrics.ENV_STEPS_LIFETIME)) or 0.0
    if steps > 0 or group.num_healthy_remote_env_runners() > 0:
        return
    raise nothing_sampled(start_error())
