"""The mean return of the last N episodes, as RLlib documents it.

RLlib's ``metrics_num_episodes_for_smoothing`` (100) is documented as the number of episodes
the episode metrics are smoothed over, but RLlib 2.60 clears its windowed metrics at every
iteration: ``env_runners/episode_return_mean`` is the mean over the episodes that ended during
that iteration (a single episode when an iteration is short, as in SAC and DQN), and missing
when none ended (then missing from ``progress.csv`` for good, if it was the first iteration).
rlscale stops on it (``stop.reward``), records the best in ``summary.json``, shows it in the
progress table and ranks sweep trials by it, so each env runner logs every episode's return
and the algorithm puts the mean of the last N back under that key. The window is kept in the
algorithm's metrics logger, which RLlib saves with every checkpoint, so a resumed run goes on
with the returns it had.

A multi-agent episode's return is the sum over its agents (RLlib's ``get_return``); its
agents' and policies' (RL modules') returns get windows of their own, put back under RLlib's
``agent_episode_returns_mean/<agent>`` and ``module_episode_returns_mean/<policy>`` keys.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from rlscale.results import metrics

# Where env runners log each finished episode's return for the algorithm to collect.
_RETURNS = "rlscale_episode_returns"
# The window, logged as one item in the algorithm's metrics logger so that checkpoints hold
# it; it comes back in the next result (after a restore: as restored), where it is taken out
# again. It is the window's only copy.
_SAVED = "rlscale_recent_returns"
# Per agent and per policy (multi-agent): env runners' key, the saved item, RLlib's result key.
_GROUPS = (
    ("rlscale_agent_returns", "rlscale_recent_agent_returns", metrics.AGENT_RETURN_MEAN_KEY),
    ("rlscale_module_returns", "rlscale_recent_module_returns", metrics.POLICY_RETURN_MEAN_KEY),
)


def log_episode_return(
    *, episode: Any, prev_episode_chunks: Any = None, env_runner: Any = None,
    metrics_logger: Any = None, **_: Any,
) -> None:
    """``on_episode_end``: log the whole episode's return (earlier chunks included); an
    episode its env's fault ended is left out."""
    from rlscale.algos.faults import episode_failed

    if metrics_logger is None or (env_runner is not None and env_runner.config.in_evaluation):
        return  # evaluation episodes: RLlib's own per-evaluation mean is the figure
    if episode_failed(episode):
        return
    total = float(episode.get_return())
    total += sum(float(chunk.get_return()) for chunk in prev_episode_chunks or ())
    window = env_runner.config.metrics_num_episodes_for_smoothing if env_runner else None
    metrics_logger.log_value(_RETURNS, total, reduce="item_series", window=window)
    if hasattr(episode, "agent_episodes"):  # a MultiAgentEpisode
        by_agent, by_module = _agent_returns([*(prev_episode_chunks or ()), episode])
        for group, returns in zip(_GROUPS, (by_agent, by_module), strict=True):
            for name, value in returns.items():
                metrics_logger.log_value((group[0], name), value, reduce="item_series",
                                         window=window)


def _agent_returns(chunks: list[Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Each agent's and each module's return over an episode's chunks."""
    by_agent: dict[str, float] = {}
    by_module: dict[str, float] = {}
    for chunk in chunks:
        for agent_id, agent_episode in chunk.agent_episodes.items():
            value = float(agent_episode.get_return())
            by_agent[str(agent_id)] = by_agent.get(str(agent_id), 0.0) + value
            module = str(agent_episode.module_id)
            by_module[module] = by_module.get(module, 0.0) + value
    return by_agent, by_module


def put_window_mean(*, algorithm: Any, result: dict[str, Any], **_: Any) -> None:
    """``on_train_result``: the mean of the last N returns replaces RLlib's per-iteration one."""
    runners = result.get(metrics.ENV_RUNNER_RESULTS)
    if not isinstance(runners, dict):
        return
    recent = deque(_returns(result.pop(_SAVED, None)),  # none in a new run's first result
                   maxlen=algorithm.config.metrics_num_episodes_for_smoothing)
    recent.extend(_returns(runners.pop(_RETURNS, None)))
    # Always present, NaN before the first episode ends: Tune's progress.csv takes its
    # columns from the first result, and RLlib leaves the key out of an iteration in which no
    # episode ended, so a run with long episodes had no return column (nothing to plot).
    runners[metrics.EPISODE_RETURN_MEAN_KEY] = sum(recent) / len(recent) if recent else math.nan
    algorithm.metrics.log_value(_SAVED, list(recent), reduce="item")
    size = algorithm.config.metrics_num_episodes_for_smoothing
    for logged, saved, key in _GROUPS:
        previous = result.pop(saved, None) or {}
        fresh = runners.pop(logged, None) or {}
        if not previous and not fresh:
            continue
        means: dict[str, float] = {}
        for name in sorted({*previous, *fresh}):
            window = deque(_returns(previous.get(name)), maxlen=size)
            window.extend(_returns(fresh.get(name)))
            means[name] = sum(window) / len(window) if window else math.nan
            algorithm.metrics.log_value((saved, name), list(window), reduce="item")
        runners[key] = means


def _returns(logged: Any) -> list[float]:
    """Returns as RLlib hands logged lists back: a list, the value itself when it held one,
    or None when nothing was logged."""
    if logged is None:
        return []
    items = logged if isinstance(logged, list | tuple | deque) else [logged]
    return [r for r in map(float, items) if not math.isnan(r)]


def log_reward_per_step(*, samples: Any = None, metrics_logger: Any = None, **_: Any) -> None:
    """``on_sample_end``: the mean reward per env step of what was just sampled, finished
    episodes or not (``env_runners/reward_per_step_mean``). A continuing task, whose
    episodes never end, has no episode return: the progress and the summary show this
    instead. Single-agent episodes (a multi-agent step has one reward per agent)."""
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode

    if metrics_logger is None or not samples:
        return
    total, steps = 0.0, 0
    for chunk in samples:
        if not isinstance(chunk, SingleAgentEpisode) or len(chunk) == 0:
            continue
        total += float(sum(chunk.get_rewards()))
        steps += len(chunk)
    if steps:
        metrics_logger.log_value(metrics.REWARD_PER_STEP_KEY, total / steps, reduce="mean",
                                 window=1000)
