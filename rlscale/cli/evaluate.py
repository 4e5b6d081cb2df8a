"""``rlscale evaluate``: restore a run's policy and run episodes in this process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlscale.errors import ConfigError

if TYPE_CHECKING:
    from rlscale.evaluate.run import EvaluationReport


def parse_env_config(items: list[str]) -> dict[str, Any]:
    """``--env-config`` values as one mapping: a JSON object, as ``train`` and ``check-env``
    take it (``'{"key": 1}'``); ``KEY=VALUE`` (a YAML scalar) is kept as an alias. Repeated
    values are merged in order."""
    from rlscale.cli.check_env import parse_env_config as parse_json
    from rlscale.config.load import parse_scalar

    out: dict[str, Any] = {}
    for item in items:
        if item.lstrip().startswith("{"):
            out.update(parse_json(item) or {})
            continue
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--env-config: expected a JSON object like '{{\"key\": 1}}', "
                              f"got {item}")
        out[key.strip()] = parse_scalar(raw)
    return out


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
        None, "--env-config", help="Override the run's env_config: a JSON object, as "
        "train takes it (KEY=VALUE also works; repeatable)."
    ),
    video: Path | None = typer.Option(
        None, "--video", help="Record the episodes to PATH (.mp4 or .gif)."
    ),
    fps: int = typer.Option(50, "--fps", min=1, help="Frames per second of --video."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --video."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run episodes with a trained policy and report their returns."""
    from rlscale.evaluate.run import evaluate_run

    err = Console(stderr=True, highlight=False)
    progress = Progress(
        TextColumn("episodes"), BarColumn(), MofNCompleteColumn(),
        TextColumn("last return {task.fields[last]}"), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task("episodes", total=episodes, last="-")
        report = evaluate_run(
            target, checkpoint=checkpoint, episodes=episodes, seed=seed, explore=explore,
            env_config=parse_env_config(env_config or []), video=video, fps=fps,
            overwrite=overwrite,
            on_episode=lambda i, ret, length: progress.update(task, advance=1, last=f"{ret:.1f}"),
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    _print_report(report)


def _print_report(report: EvaluationReport) -> None:
    """The report as aligned ``key  value`` lines (each agent's mean under the total's)."""
    summed = " (summed over agents)" if report.multiagent else ""
    lines = {
        "return_mean": f"{report.return_mean:.2f}{summed}",
        "return_std": f"{report.return_std:.2f}",
        "return_min": f"{report.return_min:.2f}",
        "return_max": f"{report.return_max:.2f}",
        "length_mean": f"{report.length_mean:.1f}",
    }
    if report.agent_return_mean is not None and report.agent_policy is not None:
        for agent, mean in report.agent_return_mean.items():
            wins = (report.agent_win_rate or {}).get(agent)
            rate = f", wins {wins:.0%}" if wins is not None else ""
            lines[f"  {agent}"] = f"{mean:.2f}  (policy {report.agent_policy[agent]}{rate})"
    lines["episodes"] = (f"{report.episodes} ({'sampled' if report.explore else 'greedy'} "
                         f"actions, seed {report.seed})")
    lines["checkpoint"] = report.checkpoint
    lines["seconds"] = (f"{report.total_s:.1f} (restore {report.restore_s:.1f}, "
                        f"episodes {report.episodes_s:.1f})")
    if report.video is not None:
        lines["video"] = f"{report.video} ({report.video_frames} frames)"
    console = Console(highlight=False, soft_wrap=True)
    width = max(len(k) for k in lines)
    for key, value in lines.items():
        console.print(f"{key:<{width}}  {value}", markup=False)
