"""Evaluate a run: restore its policy (or each agent's), run episodes, report the returns.

``rlscale evaluate`` and the Python API (``rlscale.evaluate(...)``) call
`evaluate_run`; the report it returns is what ``rlscale evaluate --json`` prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Called after each episode with its index, return and length (e.g. a progress bar).
EpisodeHook = Callable[[int, float, int], None]


@dataclass(frozen=True)
class EvaluationReport:
    """What the episodes gave. ``as_dict()`` is ``rlscale evaluate --json``'s object."""

    run_dir: Path
    checkpoint: str  # relative to run_dir when inside it
    env: str
    algo: str | None
    episodes: int
    explore: bool
    seed: int
    return_mean: float
    return_std: float
    return_min: float
    return_max: float
    length_mean: float
    returns: list[float]
    lengths: list[int]
    restore_s: float  # from the call to the restored policy
    episodes_s: float
    total_s: float
    video: Path | None = None
    video_frames: int | None = None
    # Multi-agent runs: the policy of each agent, and each agent's returns and mean.
    agent_policy: dict[str, str] | None = None
    agent_returns: dict[str, list[float]] | None = None
    agent_return_mean: dict[str, float] | None = None
    # The share of episodes each agent ended with a positive return: its win rate in a game
    # scored +1 win, -1 loss, 0 draw (PettingZoo's classic games).
    agent_win_rate: dict[str, float] | None = None

    @property
    def multiagent(self) -> bool:
        return self.agent_policy is not None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (the multi-agent and video keys only when set)."""
        out: dict[str, Any] = {
            "run_dir": str(self.run_dir), "checkpoint": self.checkpoint, "env": self.env,
            "algo": self.algo, "episodes": self.episodes, "explore": self.explore,
            "seed": self.seed, "return_mean": self.return_mean,
            "return_std": self.return_std, "return_min": self.return_min,
            "return_max": self.return_max, "length_mean": self.length_mean,
        }
        if self.multiagent:
            out["agent_return_mean"] = self.agent_return_mean
            out["agent_win_rate"] = self.agent_win_rate
            out["agent_policy"] = self.agent_policy
        out["returns"] = self.returns
        out["lengths"] = self.lengths
        if self.multiagent:
            out["agent_returns"] = self.agent_returns
        out.update(restore_s=round(self.restore_s, 3), episodes_s=round(self.episodes_s, 3),
                   total_s=round(self.total_s, 3))
        if self.video is not None:
            out["video"] = str(self.video)
            out["video_frames"] = self.video_frames
        return out


def evaluate_run(
    target: str | Path,
    *,
    checkpoint: str | None = None,
    episodes: int = 10,
    seed: int = 0,
    explore: bool = False,
    env_config: Mapping[str, Any] | None = None,
    video: str | Path | None = None,
    fps: int = 50,
    overwrite: bool = False,
    on_episode: EpisodeHook | None = None,
) -> EvaluationReport:
    """Run ``episodes`` episodes with the policy of a run directory or checkpoint.

    ``checkpoint``: ``best`` (the default), ``last`` or a path; episode ``i`` resets with
    seed ``seed + i``; actions are greedy unless ``explore``; ``env_config`` overrides the
    run's; ``video`` records the episodes to an ``.mp4`` or ``.gif`` file (``overwrite`` to
    replace one). Raises [`RlscaleError`][rlscale.errors.RlscaleError] for bad input.
    """
    from rlscale.errors import ConfigError
    from rlscale.evaluate.checkpoints import locate_checkpoint
    from rlscale.evaluate.multiagent import is_multiagent_ref
    from rlscale.evaluate.video import check_video_path

    start = time.monotonic()
    if episodes < 1:
        raise ConfigError(f"episodes must be at least 1, got {episodes}")
    ref = locate_checkpoint(Path(target), checkpoint)
    video_path = None if video is None else Path(video)
    if video_path is not None:
        check_video_path(video_path, overwrite)
    config = ref.run_config()
    common = {
        "run_dir": ref.run_dir, "checkpoint": _relative(ref.checkpoint, ref.run_dir),
        "env": str(config.get("env")), "algo": config.get("algo"), "episodes": episodes,
        "explore": explore, "seed": seed,
    }
    env_config = {**(config.get("env_config") or {}), **(env_config or {})}
    if is_multiagent_ref(ref):
        return _multiagent(ref, config, env_config, common, start, video_path, fps,
                           on_episode)
    return _single_agent(ref, config, env_config, common, start, video_path, fps, on_episode)


def _relative(path: Path, base: Path) -> str:
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def _single_agent(ref: Any, config: dict[str, Any], env_config: dict[str, Any],
                  common: dict[str, Any], start: float, video: Path | None, fps: int,
                  on_episode: EpisodeHook | None) -> EvaluationReport:
    from rlscale.evaluate.episodes import make_eval_env, run_episodes
    from rlscale.evaluate.restore import load_policy
    from rlscale.evaluate.video import VideoRecorder

    env = make_eval_env(common["env"], env_config, config.get("env_packages") or [],
                        render=video is not None, wrappers=config.get("env_wrappers") or [])
    try:
        policy = load_policy(ref, env)
        restore_s = time.monotonic() - start
        episodes, seed, explore = common["episodes"], common["seed"], common["explore"]
        frames = None
        if video is None:
            result = run_episodes(policy, env, episodes, seed, explore, on_episode=on_episode)
        else:
            with VideoRecorder(video, fps=fps) as recorder:
                result = run_episodes(policy, env, episodes, seed, explore,
                                      on_frame=recorder.add, on_episode=on_episode)
            frames = recorder.frames
    finally:
        env.close()
    stats: dict[str, Any] = result.stats()
    return EvaluationReport(
        **common, **stats, returns=result.returns, lengths=result.lengths,
        restore_s=restore_s, episodes_s=result.seconds, total_s=time.monotonic() - start,
        video=video, video_frames=frames,
    )


def _multiagent(ref: Any, config: dict[str, Any], env_config: dict[str, Any],
                common: dict[str, Any], start: float, video: Path | None, fps: int,
                on_episode: EpisodeHook | None) -> EvaluationReport:
    from rlscale.envs.resolve import resolve_env
    from rlscale.evaluate.episodes import make_eval_env
    from rlscale.evaluate.multiagent import load_agent_policies, run_multiagent_episodes
    from rlscale.evaluate.video import VideoRecorder

    packages = config.get("env_packages") or []
    resolved = resolve_env(common["env"], env_config, packages)
    assert resolved.agents is not None
    # The rendering env first: an env that cannot render is refused before the restore.
    env = (resolved.make() if video is None else
           make_eval_env(common["env"], env_config, packages, render=True,
                         wrappers=config.get("env_wrappers") or []))
    frames = None
    try:
        policies = load_agent_policies(ref, resolved.agents)
        restore_s = time.monotonic() - start
        episodes, seed, explore = common["episodes"], common["seed"], common["explore"]
        if video is None:
            result = run_multiagent_episodes(policies, env, episodes, seed, explore,
                                             on_episode=on_episode)
        else:
            with VideoRecorder(video, fps=fps) as recorder:
                result = run_multiagent_episodes(policies, env, episodes, seed, explore,
                                                 on_episode=on_episode, on_frame=recorder.add)
            frames = recorder.frames
    finally:
        env.close()
    stats = result.stats()
    return EvaluationReport(
        **common, **{k: stats[k] for k in ("return_mean", "return_std", "return_min",
                                           "return_max", "length_mean")},
        returns=result.returns, lengths=result.lengths, restore_s=restore_s,
        episodes_s=result.seconds, total_s=time.monotonic() - start,
        agent_policy=dict(policies.plan.mapping), agent_returns=result.agent_returns,
        agent_return_mean=stats["agent_return_mean"], agent_win_rate=stats["agent_win_rate"],
        video=video, video_frames=frames,
    )
