"""Starting or joining Ray, quietly, and knowing what it can offer."""

from __future__ import annotations

import contextlib
import glob
import importlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rlscale.algos.plan import Node, one_node
from rlscale.startup_times import mark

# Quiet, lean defaults for every Ray process this one starts (set before Ray is imported).
# No pre-started workers: Ray starts one idle worker per CPU for the first driver, but Tune's
# trial actor and the env runners each get a fresh worker anyway, and the unused ones are
# killed a second later, their start-up spent for nothing (docs/code-figures.md).
_RAY_ENV_DEFAULTS = {
    "RAY_prestart_worker_first_driver": "0",
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
    if not verbose:
        # Ray's C++ core in this driver writes errors to stderr (e.g. a line per env runner
        # it creates with restarts allowed); -v keeps them, and Ray's log files' detail.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    import ray  # noqa: F401  (Ray configures its loggers on import; adjust them after)

    # Not even errors: what goes wrong reaches the user as an exception, in one line
    # (RLlib logs a page at ERROR for each env it restarts, in whatever process samples).
    level = logging.INFO if verbose else logging.CRITICAL
    for name in ("ray", "ray.rllib", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(level)
    if not verbose:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module="ray")


@contextlib.contextmanager
def quiet_core_start(verbose: bool = False) -> Iterator[None]:
    """Around ``ray.init``: without ``verbose``, the C++ core's start-up lines (it announces
    the ``RAY_BACKEND_LOG_LEVEL`` it read, on file descriptor 2, in every process) go
    nowhere; Python's exceptions are raised as usual once stderr is back."""
    if verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_driver_errors(verbose: bool = False) -> None:
    """Without ``verbose``, stop this driver's relay of Ray's error messages to stdout.

    Ray's driver prints every error message the cluster publishes for its job, whatever
    ``log_to_driver`` says: a restarted env runner brings ``(raylet) A worker died or was
    killed ...`` and a page of text into the progress table. rlscale reports restarts itself
    (:mod:`rlscale.algos.faults`); ``-v`` keeps Ray's messages. The relay is a thread that
    ends when the driver's ``threads_stopped`` event is set (Ray clears it at shutdown).
    """
    import ray._private.worker as ray_worker

    original = _ORIGINAL_PRINT.setdefault("print", ray_worker.print_to_stdstream)
    if verbose:
        ray_worker.print_to_stdstream = original
        return
    worker = ray_worker.global_worker
    listener = getattr(worker, "listener_thread", None)
    stopped = getattr(worker, "threads_stopped", None)
    if listener is not None and stopped is not None and getattr(worker, "logger_thread",
                                                                None) is None:
        stopped.set()
        # The relay may already wait inside its poll: the message that wakes it would
        # still be printed, through this module function (log_to_driver is off, so the
        # relay is its only caller).
        ray_worker.print_to_stdstream = _drop_relayed_message


_ORIGINAL_PRINT: dict[str, Any] = {}


def _drop_relayed_message(*args: Any, **kwargs: Any) -> None:
    """Ray's driver relay, silenced (see :func:`quiet_driver_errors`)."""


@dataclass(frozen=True)
class Capacity:
    """CPUs and GPUs a run may draw on, in all and (``nodes``) node by node."""

    cpus: int
    gpus: float
    may_oversubscribe: bool
    # The nodes, the driver's first; empty: one node with all of ``cpus`` and ``gpus``.
    nodes: tuple[Node, ...] = ()

    def node_list(self) -> tuple[Node, ...]:
        """The nodes the plan places processes on."""
        return self.nodes or one_node(self.cpus, self.gpus)


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
    if sys.platform.startswith("linux") and not glob.glob("/dev/nvidia[0-9]*"):
        return 0  # no NVIDIA device: no need to import PyTorch (a second) to ask it
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def torch_thread_environment(torch_threads: int) -> dict[str, str]:
    """Environment variables that cap PyTorch's threads in every Ray process of a run.

    Ray gives each worker ``OMP_NUM_THREADS`` = its CPU count unless it is already set, so
    a process given several CPUs would run PyTorch with as many threads, while the machine
    also runs Ray's own processes and other runs, and threads that contend for the same
    cores slow a small network's update down many times (docs/code-figures.md). A value
    the user exported is kept.
    """
    return {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(torch_threads))}


# Third-party modules RLlib imports that take most of its import time (PyTorch, and pandas
# through Tune: docs/code-figures.md) and never import Ray: a thread imports them while this one
# resolves and checks the env; :func:`finish_preload` joins it before RLlib is imported, so
# that no two threads ever import inside the same package.
HEAVY_IMPORTS = ("torch", "pandas")
# Imported in this thread while Ray starts: PyTorch's optimizers import torch._dynamo (and
# sympy) on their first use, which the learner RLlib builds in this process makes; it is
# the largest part of building the algorithm (docs/benchmarks.md, start-up).
LATE_IMPORTS = ("torch._dynamo",)

_PRELOADING: list[threading.Thread] = []


def preload(modules: Sequence[str] = HEAVY_IMPORTS) -> None:
    """Import ``modules`` in a background thread (see :func:`finish_preload`)."""
    thread = threading.Thread(target=_import_all, args=(modules,), name="preload", daemon=True)
    _PRELOADING.append(thread)
    thread.start()


def finish_preload(modules: Sequence[str] = LATE_IMPORTS) -> None:
    """Wait for :func:`preload`'s thread, then import ``modules`` here."""
    while _PRELOADING:
        _PRELOADING.pop().join()
    _import_all(modules)


def _import_all(modules: Sequence[str]) -> None:
    """Import each module; one that fails is left for its real import to report."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001,S112  (reported where the module is used)
            continue


def start_local_ray(
    num_cpus: int,
    num_gpus: int,
    verbose: bool = False,
    torch_threads: int | None = 1,
    background: bool = False,
) -> None:
    """Start the embedded Ray with exactly the cores and GPUs of the plan.

    Its processes inherit this one's environment, which first gets
    :func:`torch_thread_environment` (``torch_threads=None`` leaves Ray's default).
    They listen on 127.0.0.1 only, accept only clients holding this run's token (a 0600
    file in a 0700 directory of the run's own) and keep their files in the user's own
    temp directory (:mod:`rlscale.runners.private_ray`); :func:`stop_ray` removes the token.

    ``background``: start it in a thread and return at once, so that this thread imports
    RLlib meanwhile (``ray.init`` mostly waits for Ray's processes to come up); call
    :func:`wait_for_ray` before anything uses Ray. Until then this process's file descriptor
    2 is silenced (see :func:`quiet_core_start`): the caller must not write to stderr.
    """
    import ray

    from rlscale.runners.private_ray import private_local_ray

    quiet_ray_environment(verbose)
    if torch_threads is not None:
        os.environ.update(torch_thread_environment(torch_threads))
    private = private_local_ray()
    _PRIVATE.append(private)
    if not background:
        _start_or_undo(ray, private.temp_dir, num_cpus, num_gpus, verbose)
        return
    start = _BackgroundStart(
        target=_start_or_undo, args=(ray, private.temp_dir, num_cpus, num_gpus, verbose)
    )
    _STARTING.append(start)
    start.start()


class _BackgroundStart(threading.Thread):
    """``ray.init`` in a thread; the exception it raised, if any, for :func:`wait_for_ray`.

    The thread lives until :func:`stop_ray`: Ray's processes are started with the kernel's
    parent-death signal, which follows the thread that started them, not the process.
    """

    def __init__(self, target: Any, args: tuple[Any, ...]) -> None:
        super().__init__(name="ray-start", daemon=True)
        self._call = (target, args)
        self.error: BaseException | None = None
        self.started_ray = threading.Event()
        self.release = threading.Event()

    def run(self) -> None:
        target, args = self._call
        try:
            target(*args)
            mark("ray.init returned (in its thread)")
        except BaseException as exc:  # noqa: BLE001  (re-raised by wait_for_ray)
            self.error = exc
        self.started_ray.set()
        self.release.wait()


# The background Ray start of this process (start_local_ray(background=True)), if any.
_STARTING: list[_BackgroundStart] = []


def wait_for_ray() -> None:
    """Wait for a background Ray start to finish; raise what it raised."""
    for start in _STARTING:
        start.started_ray.wait()
        if start.error is not None:
            raise start.error


def _start_or_undo(ray: Any, temp_dir: str, num_cpus: int, num_gpus: int,
                   verbose: bool) -> None:
    try:
        _init_local(ray, temp_dir, num_cpus, num_gpus, verbose)
    except BaseException:
        while _PRIVATE:
            _PRIVATE.pop().close()
        raise


# The private set-up of the embedded Ray this process started, undone by stop_ray().
_PRIVATE: list[Any] = []


def _init_local(ray: Any, temp_dir: str, num_cpus: int, num_gpus: int, verbose: bool) -> None:
    from rlscale.runners.lean_ray import lean_head

    with quiet_core_start(verbose), lean_head(keep_log_monitor=verbose):
        _ray_init_local(ray, temp_dir, num_cpus, num_gpus, verbose)
    quiet_driver_errors(verbose)


def _ray_init_local(ray: Any, temp_dir: str, num_cpus: int, num_gpus: int,
                    verbose: bool) -> None:
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
        _node_ip_address="127.0.0.1",
        _temp_dir=temp_dir,
    )


def stop_ray() -> None:
    """Disconnect from (and, when embedded, stop) Ray."""
    import ray

    with contextlib.suppress(BaseException):  # a failed start leaves nothing to stop
        wait_for_ray()
    if ray.is_initialized():
        ray.shutdown()
    while _STARTING:
        _STARTING.pop().release.set()
    while _PRIVATE:
        _PRIVATE.pop().close()
