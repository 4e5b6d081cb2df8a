"""Starting or joining Ray, quietly, and knowing what it can offer."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass

# Quiet, lean defaults for every Ray process this one starts (set before Ray is imported).
_RAY_ENV_DEFAULTS = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_DISABLE_SIGINT_HANDLER": "1",
    "RAY_DEDUP_LOGS": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}


def quiet_ray_environment(verbose: bool = False) -> None:
    """Set Ray's environment defaults and keep its log spam out of the way."""
    for key, value in _RAY_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    import ray  # noqa: F401  (Ray configures its loggers on import; adjust them after)

    level = logging.INFO if verbose else logging.ERROR
    for name in ("ray", "ray.rllib", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(level)
    if not verbose:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module="ray")


@dataclass(frozen=True)
class Capacity:
    """CPUs and GPUs a run may draw on."""

    cpus: int
    gpus: float
    may_oversubscribe: bool


def local_capacity() -> Capacity:
    """What the embedded local Ray will see on this machine."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return Capacity(cpus=cpus, gpus=float(_local_gpu_count()), may_oversubscribe=True)


def _local_gpu_count() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and not visible.strip():
        return 0
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def start_local_ray(num_cpus: int, num_gpus: int, verbose: bool = False) -> None:
    """Start the embedded Ray with exactly the cores and GPUs of the plan."""
    import ray

    quiet_ray_environment(verbose)
    ray.init(
        # "local": always a new instance of our own, never a cluster that happens to run
        # on this machine (ray.init() would join one started by `ray start`).
        address="local",
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        include_dashboard=False,
        log_to_driver=verbose,
        logging_level=logging.INFO if verbose else logging.ERROR,
        configure_logging=True,
    )


def stop_ray() -> None:
    """Disconnect from (and, when embedded, stop) Ray."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
