"""``rlscale evaluate``: restore a run's policy and run episodes in this process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlscale.errors import ConfigError


def parse_env_config(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` items (values parsed as YAML scalars) as a mapping."""
    from rlscale.config.load import parse_scalar

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--env-config expects KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_scalar(raw)
    return out


def _rel(path: Path, base: Path) -> str:
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def evaluate(
    target: Path = typer.Argument(
        ..., metavar="RUN_DIR_OR_CHECKPOINT", help="A run directory or a checkpoint in one.",
        show_default=False,
    ),
    checkpoint: str | None = typer.Option(
        None, "--checkpoint", help="Which checkpoint of a run: best, last or a PATH "
        "[default: best]."
    ),
    episodes: int = typer.Option(10, "--episodes", min=1, help="Episodes to run."),
    seed: int = typer.Option(0, "--seed", help="Episode i resets with seed S+i."),
    explore: bool = typer.Option(
        False, "--explore", help="Sample actions from the policy instead of acting greedily."
    ),
    env_config: list[str] | None = typer.Option(
        None, "--env-config", help="Override the run's env_config: KEY=VALUE (repeatable)."
    ),
    video: Path | None = typer.Option(
        None, "--video", help="Record the episodes to PATH (.mp4 or .gif)."
    ),
    fps: int = typer.Option(50, "--fps", min=1, help="Frames per second of --video."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --video."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run episodes with a trained policy and report their returns."""
    start = time.monotonic()
    from rlscale.evaluate.episodes import make_eval_env
    from rlscale.evaluate.multiagent import is_multiagent_ref
    from rlscale.evaluate.restore import locate_checkpoint
    from rlscale.evaluate.video import check_video_path

    overrides = parse_env_config(env_config or [])
    ref = locate_checkpoint(target, checkpoint)
    if is_multiagent_ref(ref):
        if video is not None:
            raise ConfigError("--video: not supported for multi-agent runs yet")
        _evaluate_multiagent(ref, overrides, episodes, seed, explore, as_json, start)
        return
    if video is not None:
        check_video_path(video, overwrite)
    config = ref.run_config()
    spec = str(config.get("env"))
    env = make_eval_env(
        spec, {**(config.get("env_config") or {}), **overrides},
        config.get("env_packages") or [], render=video is not None,
        wrappers=config.get("env_wrappers") or [],
    )
    try:
        result, frames, restore_s = _run(
            ref, env, episodes, seed, explore, video, fps, start
        )
    finally:
        env.close()
    total_s = time.monotonic() - start
    stats = result.stats()
    report: dict[str, Any] = {
        "run_dir": str(ref.run_dir),
        "checkpoint": _rel(ref.checkpoint, ref.run_dir),
        "env": spec,
        "algo": config.get("algo"),
        "episodes": episodes,
        "explore": explore,
        "seed": seed,
        **stats,
        "returns": result.returns,
        "lengths": result.lengths,
        "restore_s": round(restore_s, 3),
        "episodes_s": round(result.seconds, 3),
        "total_s": round(total_s, 3),
    }
    if video is not None:
        report["video"] = str(video)
        report["video_frames"] = frames
    if as_json:
        typer.echo(json.dumps(report))
        return
    console = Console(highlight=False, soft_wrap=True)
    lines = {
        "return_mean": f"{stats['return_mean']:.2f}",
        "return_std": f"{stats['return_std']:.2f}",
        "return_min": f"{stats['return_min']:.2f}",
        "return_max": f"{stats['return_max']:.2f}",
        "length_mean": f"{stats['length_mean']:.1f}",
        "episodes": f"{episodes} ({'sampled' if explore else 'greedy'} actions, seed {seed})",
        "checkpoint": report["checkpoint"],
        "seconds": f"{total_s:.1f} (restore {restore_s:.1f}, episodes {result.seconds:.1f})",
    }
    if video is not None:
        lines["video"] = f"{video} ({frames} frames)"
    width = max(len(k) for k in lines)
    for key, value in lines.items():
        console.print(f"{key:<{width}}  {value}", markup=False)


def _run(ref: Any, env: Any, episodes: int, seed: int, explore: bool, video: Path | None,
         fps: int, start: float) -> tuple[Any, int, float]:
    """Restore, then run the episodes under a progress bar (on stderr)."""
    from rlscale.evaluate.episodes import run_episodes
    from rlscale.evaluate.restore import load_policy
    from rlscale.evaluate.video import VideoRecorder

    err = Console(stderr=True, highlight=False)
    policy = load_policy(ref, env)
    restore_s = time.monotonic() - start
    progress = Progress(
        TextColumn("episodes"), BarColumn(), MofNCompleteColumn(),
        TextColumn("last return {task.fields[last]}"), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task("episodes", total=episodes, last="-")

        def on_episode(i: int, ret: float, length: int) -> None:
            progress.update(task, advance=1, last=f"{ret:.1f}")

        if video is None:
            return (
                run_episodes(policy, env, episodes, seed, explore, on_episode=on_episode),
                0,
                restore_s,
            )
        with VideoRecorder(video, fps=fps) as rec:
            result = run_episodes(policy, env, episodes, seed, explore, on_frame=rec.add,
                         on_episode=on_episode)
        return result, rec.frames, restore_s


def _evaluate_multiagent(ref: Any, overrides: dict[str, Any], episodes: int, seed: int,
                         explore: bool, as_json: bool, start: float) -> None:
    """``evaluate`` of a multi-agent run: the total return and each agent's."""
    from rlscale.envs.resolve import resolve_env
    from rlscale.evaluate.multiagent import load_agent_policies, run_multiagent_episodes

    config = ref.run_config()
    spec = str(config.get("env"))
    resolved = resolve_env(spec, {**(config.get("env_config") or {}), **overrides},
                           config.get("env_packages") or [])
    assert resolved.agents is not None
    policies = load_agent_policies(ref, resolved.agents)
    restore_s = time.monotonic() - start
    env = resolved.make()
    try:
        result = run_multiagent_episodes(policies, env, episodes, seed, explore)
    finally:
        env.close()
    total_s = time.monotonic() - start
    stats = result.stats()
    report: dict[str, Any] = {
        "run_dir": str(ref.run_dir), "checkpoint": _rel(ref.checkpoint, ref.run_dir),
        "env": spec, "algo": config.get("algo"), "episodes": episodes, "explore": explore,
        "seed": seed, **stats, "agent_policy": dict(policies.plan.mapping),
        "returns": result.returns, "lengths": result.lengths,
        "agent_returns": result.agent_returns, "restore_s": round(restore_s, 3),
        "episodes_s": round(result.seconds, 3), "total_s": round(total_s, 3),
    }
    if as_json:
        typer.echo(json.dumps(report))
        return
    console = Console(highlight=False, soft_wrap=True)
    lines = {
        "return_mean": f"{stats['return_mean']:.2f} (summed over agents)",
        "return_std": f"{stats['return_std']:.2f}",
        "return_min": f"{stats['return_min']:.2f}",
        "return_max": f"{stats['return_max']:.2f}",
        "length_mean": f"{stats['length_mean']:.1f}",
        **{f"  {agent}": f"{mean:.2f}  (policy {policies.plan.mapping[agent]})"
           for agent, mean in stats["agent_return_mean"].items()},
        "episodes": f"{episodes} ({'sampled' if explore else 'greedy'} actions, seed {seed})",
        "checkpoint": report["checkpoint"],
        "seconds": f"{total_s:.1f} (restore {restore_s:.1f}, episodes {result.seconds:.1f})",
    }
    width = max(len(k) for k in lines)
    for key, value in lines.items():
        console.print(f"{key:<{width}}  {value}", markup=False)
