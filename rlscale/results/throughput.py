"""``summary.json``'s ``throughput``: where a run's time went, folded over its iterations.

Each result carries ``rlscale_throughput`` (see ``rlscale.algos.throughput``): one
iteration's sampling, learning and waiting times and each node's env steps. The summary
keeps the latest iteration (``last``), the sums over every timed iteration (``total``: the
first iteration is start-up and is not timed) and which of sampling or learning took more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlscale.results import metrics

RESULT_KEY = metrics.THROUGHPUT
SAMPLING, LEARNING = "sampling", "learning"
# CPU seconds of the sampling processes (summed) and of the learner (absent from the
# results of runs recorded before they were).
CPU_KEYS = ("sampling_cpu_s", "learning_cpu_s")


def fold_throughput(previous: Mapping[str, Any] | None,
                    result: Mapping[str, Any]) -> dict[str, Any] | None:
    """``previous`` (the summary's throughput, or None) with one more result folded in."""
    record = result.get(RESULT_KEY)
    if not isinstance(record, Mapping):
        return dict(previous) if previous else None
    total = dict((previous or {}).get("total") or {
        "iterations": 0, "iteration_s": 0.0, "sampling_s": 0.0, "learning_s": 0.0,
        "waiting_s": 0.0})
    node_steps = dict((previous or {}).get("node_env_steps") or {})
    for node in record.get("nodes") or []:
        name = str(node.get("node"))
        node_steps[name] = int(node_steps.get(name, 0)) + int(node.get("env_steps") or 0)
    if record.get("sampling_share") is not None:
        total["iterations"] = int(total["iterations"]) + 1
        for key in ("iteration_s", "sampling_s", "learning_s", "waiting_s", *CPU_KEYS):
            total[key] = round(float(total.get(key) or 0.0) + float(record.get(key) or 0.0),
                               4)
    out: dict[str, Any] = {"last": dict(record), "total": total, "node_env_steps": node_steps,
                           "bound": None}
    if total["iterations"]:
        out["bound"] = SAMPLING if total["sampling_s"] >= total["learning_s"] else LEARNING
    return out


def _share(total: Mapping[str, Any], key: str) -> str:
    whole = float(total.get("iteration_s") or 0.0)
    return f"{100 * float(total.get(key) or 0.0) / whole:.0f}%" if whole else "-"


def describe_split(throughput: Mapping[str, Any] | None) -> str | None:
    """``sampling 62%, learning 30%, waiting 8% (over N iterations)``, or None."""
    total = (throughput or {}).get("total") or {}
    if not total.get("iterations"):
        return None
    return (f"sampling {_share(total, 'sampling_s')}, learning {_share(total, 'learning_s')}, "
            f"waiting {_share(total, 'waiting_s')} (over {total['iterations']} iteration(s) "
            "after the first)")


def describe_nodes(throughput: Mapping[str, Any] | None) -> str | None:
    """Each node's env steps/s in the latest iteration and env steps in all, or None."""
    last = (throughput or {}).get("last") or {}
    nodes = last.get("nodes") or []
    if not nodes:
        return None
    steps = (throughput or {}).get("node_env_steps") or {}
    parts = []
    for node in nodes:
        rate = node.get("env_steps_per_s")
        parts.append(f"{node['node']} {'-' if rate is None else f'{rate:,.0f}'} steps/s "
                     f"({node['sampling_processes']} process(es), "
                     f"{int(steps.get(node['node'], 0)):,} steps)")
    return ", ".join(parts)


def bound_line(throughput: Mapping[str, Any] | None) -> str | None:
    """The line after training: which of sampling or learning bound the run, and why."""
    split = describe_split(throughput)
    if split is None or throughput is None:
        return None
    bound = throughput.get("bound")
    hint = ("more sampling processes (cores, nodes) would help; a faster learner would not"
            if bound == SAMPLING else
            "a faster learner (a GPU, a smaller batch or fewer epochs) would help more than "
            "more env runners")
    slowest = ((throughput.get("last") or {}).get("slowest_runner_vs_median"))
    tail = f"; slowest sampler {slowest:.2f}x the median" if slowest else ""
    return f"{bound.capitalize() if bound else '?'} bound the run: {split}{tail}; {hint}"
