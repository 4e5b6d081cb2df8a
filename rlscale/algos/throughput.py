"""Where the time went: per iteration, sampling, learning and waiting, and each node's env
steps/s.

RLlib's own timers (``result["timers"]``) are exponential moving averages with a 0.01
coefficient: after the first iteration they barely move, so they cannot say what one
iteration spent. Here each process that samples times its own ``sample()`` calls and counts
their env steps (logged per runner, summed per iteration), and the algorithm times its
learner updates; ``on_train_result`` folds them into ``result["rlscale_throughput"]``:

- ``iteration_s``: wall time since the previous result (None for the first one),
- ``sampling_s``: the slowest sampling process's time in ``sample()`` (the algorithm waits
  for all of them), ``learning_s``: time in the learner updates, ``waiting_s``: the rest
  (weight syncs, metrics, Ray), and each as a share of the iteration,
- ``nodes``: per node, its sampling processes, env steps and env steps/s while sampling,
- ``slowest_runner_vs_median``: the slowest process's sampling time over the median's.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from rlscale.results import metrics

THROUGHPUT_KEY = metrics.THROUGHPUT
# Where the sampling processes log their counts (taken out of the result again).
_LOGGED = "rlscale_sampling"
_LEARN_S = "_rlscale_learn_s"
_LEARN_CPU_S = "_rlscale_learn_cpu_s"
_LAST_T = "_rlscale_last_result_t"


def time_sampling(*, env_runner: Any = None, **_: Any) -> None:
    """``on_environment_created``: time this env runner's ``sample()`` calls and count
    their env steps, per runner, under its node's address."""
    if env_runner is None or getattr(env_runner, "_rlscale_timed", False):
        return
    import ray

    node = ray.util.get_node_ip_address() if ray.is_initialized() else "local"
    name = str(getattr(env_runner, "worker_index", 0))
    sample = env_runner.sample

    def timed_sample(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.thread_time()
        out = sample(*args, **kwargs)
        spent, cpu = time.perf_counter() - start, time.thread_time() - cpu
        steps = sum(len(e) for e in out) if isinstance(out, list) else 0
        logger = env_runner.metrics
        logger.log_value((_LOGGED, node, name, "steps"), steps, reduce="sum")
        logger.log_value((_LOGGED, node, name, "sample_s"), spent, reduce="sum")
        logger.log_value((_LOGGED, node, name, "sample_cpu_s"), cpu, reduce="sum")
        return out

    env_runner.sample = timed_sample
    env_runner._rlscale_timed = True


def _time_learning(algorithm: Any) -> None:
    group = getattr(algorithm, "learner_group", None)
    if group is None or getattr(group, "_rlscale_timed", False):
        return
    update = group.update

    def timed_update(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return update(*args, **kwargs)
        finally:
            setattr(algorithm, _LEARN_S,
                    getattr(algorithm, _LEARN_S, 0.0) + time.perf_counter() - start)
            setattr(algorithm, _LEARN_CPU_S,
                    getattr(algorithm, _LEARN_CPU_S, 0.0) + time.thread_time() - cpu)

    group.update = timed_update
    group._rlscale_timed = True


def fold_throughput(*, algorithm: Any, result: dict[str, Any], **_: Any) -> None:
    """``on_train_result``: put this iteration's :data:`THROUGHPUT_KEY` in the result."""
    now = time.perf_counter()
    previous = getattr(algorithm, _LAST_T, None)
    setattr(algorithm, _LAST_T, now)
    learned = getattr(algorithm, _LEARN_S, None)
    setattr(algorithm, _LEARN_S, 0.0)
    learned_cpu = getattr(algorithm, _LEARN_CPU_S, None)
    setattr(algorithm, _LEARN_CPU_S, 0.0)
    _time_learning(algorithm)  # from the next iteration on (the first is warm-up anyway)
    runners = result.get(metrics.ENV_RUNNER_RESULTS)
    logged = runners.pop(_LOGGED, None) if isinstance(runners, dict) else None
    result[THROUGHPUT_KEY] = summarize(
        logged if isinstance(logged, dict) else {},
        iteration_s=None if previous is None else now - previous,
        learning_s=learned if previous is not None else None,
        learning_cpu_s=learned_cpu if previous is not None else None,
    )


def summarize(logged: dict[str, Any], iteration_s: float | None,
              learning_s: float | None, learning_cpu_s: float | None = None,
              ) -> dict[str, Any]:
    """The throughput record of one iteration from the per-runner counts. Pure function."""
    per_runner: list[tuple[str, float, float]] = []
    sampling_cpu_s = 0.0
    for node, runners in sorted(logged.items()):
        if not isinstance(runners, dict):
            continue
        for stats in runners.values():
            if isinstance(stats, dict):
                # A runner that died mid-iteration reports NaN (RLlib's reduce of nothing).
                per_runner.append((node, _count(stats.get("steps")),
                                   _count(stats.get("sample_s"))))
                sampling_cpu_s += _count(stats.get("sample_cpu_s"))
    times = [t for _, _, t in per_runner if t > 0]
    sampling_s = max(times) if times else None
    nodes = []
    for node in sorted({n for n, _, _ in per_runner}):
        mine = [(s, t) for n, s, t in per_runner if n == node]
        steps = sum(s for s, _ in mine)
        # A process that sampled nothing this iteration (the main process once it handed
        # sampling over to the env runners, rlscale.runners.quick_start) is not counted.
        sampled = sum(1 for s, _ in mine if s > 0)
        nodes.append({
            "node": node, "sampling_processes": sampled, "env_steps": int(steps),
            "env_steps_per_s": round(steps / sampling_s, 1) if sampling_s else None,
        })
    slowest = (round(max(times) / statistics.median(times), 3)
               if len(times) > 1 and statistics.median(times) > 0 else None)
    record: dict[str, Any] = {
        "iteration_s": _round(iteration_s), "sampling_s": _round(sampling_s),
        "learning_s": _round(learning_s), "waiting_s": None,
        "sampling_share": None, "learning_share": None, "waiting_share": None,
        "slowest_runner_vs_median": slowest, "nodes": nodes,
        # CPU seconds (of the sampling and learning threads; every sampling process's
        # summed): what the work costs, whatever else shares the cores.
        "sampling_cpu_s": _round(sampling_cpu_s) if per_runner else None,
        "learning_cpu_s": _round(learning_cpu_s),
    }
    if iteration_s and sampling_s is not None and learning_s is not None:
        waiting = max(iteration_s - sampling_s - learning_s, 0.0)
        record["waiting_s"] = _round(waiting)
        record["sampling_share"] = round(min(sampling_s / iteration_s, 1.0), 3)
        record["learning_share"] = round(min(learning_s / iteration_s, 1.0), 3)
        record["waiting_share"] = round(waiting / iteration_s, 3)
    return record


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _count(value: Any) -> float:
    """A logged count or time as a float; 0 when missing or not finite."""
    try:
        out = float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return out if math.isfinite(out) else 0.0
