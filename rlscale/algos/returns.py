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


def _returns(logged: Any) -> list[float]:
    """Returns as RLlib hands logged lists back: a list, the value itself when it held one,
    or None when nothing was logged."""
    if logged is None:
        return []
    items = logged if isinstance(logged, list | tuple | deque) else [logged]
    return [r for r in map(float, items) if not math.isnan(r)]
