"""Metric names (RLlib 2.60 new API stack result keys), in one place."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

TRAINING_ITERATION = "training_iteration"
TIME_TOTAL_S = "time_total_s"
TIME_THIS_ITER_S = "time_this_iter_s"
ENV_STEPS_LIFETIME = "num_env_steps_sampled_lifetime"
ENV_RUNNER_RESULTS = "env_runners"  # the result's section of env-runner metrics
EPISODE_RETURN_MEAN_KEY = "episode_return_mean"  # in it: the mean return of the last 100
EPISODE_RETURN_MEAN = f"{ENV_RUNNER_RESULTS}/{EPISODE_RETURN_MEAN_KEY}"  # (algos/returns.py)
# Multi-agent: mappings agent -> and policy (RL module) -> mean return, in the same section.
AGENT_RETURN_MEAN_KEY = "agent_episode_returns_mean"
POLICY_RETURN_MEAN_KEY = "module_episode_returns_mean"
EPISODE_LEN_MEAN = "env_runners/episode_len_mean"
# The mean reward per env step sampled in the iteration (algos/returns.py): what a
# continuing task, whose episodes never end, is judged by.
REWARD_PER_STEP_KEY = "reward_per_step_mean"
REWARD_PER_STEP = f"{ENV_RUNNER_RESULTS}/{REWARD_PER_STEP_KEY}"
ENV_STEPS_THIS_ITER = "env_runners/num_env_steps_sampled"
# In results of iterations that evaluated (evaluation.every): the evaluation's mean return
# and the number of episodes it played.
EVAL_RETURN_MEAN = f"evaluation/{ENV_RUNNER_RESULTS}/{EPISODE_RETURN_MEAN_KEY}"
EVAL_EPISODES = f"evaluation/{ENV_RUNNER_RESULTS}/num_episodes"
# Evaluation episodes a stop cut short (rlscale.envs.bounds), in the evaluation that was cut.
EVAL_CUT_KEY = "episodes_cut_by_stop"
EVAL_CUT = f"evaluation/{EVAL_CUT_KEY}"
# rlscale's own section of each result: where an iteration's time went (algos/throughput.py
# writes it, results/throughput.py folds it into summary.json).
THROUGHPUT = "rlscale_throughput"
# rlscale's section of env faults (algos/faults.py writes it, results/summary.py adds it up):
# the iteration's counts, and the first fault when an env faulted in the iteration.
FAULTS = "faults"
ENV_RESTARTS, ENV_RUNNER_RESTARTS, FAILED_EPISODES = (
    "env_restarts", "env_runner_restarts", "failed_episodes"
)
FIRST_FAULT = "fault"


def get_metric(result: Mapping[str, Any], path: str) -> Any:
    """Read ``a/b`` from a nested result dict or from Tune's flattened form."""
    if path in result:
        return result[path]
    node: Any = result
    for part in path.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when missing or NaN."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def progress_row(result: Mapping[str, Any]) -> dict[str, Any]:
    """The figures shown per iteration: iteration, env steps, return, env steps/s."""
    steps_iter = finite(get_metric(result, ENV_STEPS_THIS_ITER)) or 0.0
    dt = finite(get_metric(result, TIME_THIS_ITER_S)) or 0.0
    return {
        "iteration": int(get_metric(result, TRAINING_ITERATION) or 0),
        "env_steps": int(finite(get_metric(result, ENV_STEPS_LIFETIME)) or 0),
        "episode_return_mean": finite(get_metric(result, EPISODE_RETURN_MEAN)),
        "reward_per_step_mean": finite(get_metric(result, REWARD_PER_STEP)),
        "env_steps_per_s": steps_iter / dt if dt > 0 else None,
        "time_total_s": finite(get_metric(result, TIME_TOTAL_S)) or 0.0,
        # None in iterations that did not evaluate.
        "eval_return_mean": finite(get_metric(result, EVAL_RETURN_MEAN)),
        "eval_episodes": finite(get_metric(result, EVAL_EPISODES)),
        "eval_cut": int(finite(get_metric(result, EVAL_CUT)) or 0),
    }
