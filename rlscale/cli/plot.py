"""``rlscale plot``: learning curves of runs, seeds of one configuration grouped."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def plot(
    runs: list[Path] = typer.Argument(
        ..., metavar="RUN_DIR...", help="Run directories (or folders of runs).",
        show_default=False,
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Image to write: .png or .svg.", show_default=False
    ),
    x_axis: str = typer.Option(
        "timesteps", "--x", help="x axis: timesteps, time or iterations."
    ),
    metric: str = typer.Option(
        "env_runners/episode_return_mean", "--metric", help="Any column of progress.csv."
    ),
    band: str = typer.Option(
        "minmax", "--band", help="Band around the mean of seeds: minmax or std."
    ),
    title: str | None = typer.Option(None, "--title", help="Plot title."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing image."),
) -> None:
    """Plot learning curves; runs that differ only in seed are drawn as mean and band."""
    from rlscale.evaluate.video import check_output_file
    from rlscale.report.curves import expand_run_dirs
    from rlscale.report.plot import PLOT_SUFFIXES, plot_runs

    check_output_file(output, PLOT_SUFFIXES, "-o", overwrite)
    dirs = expand_run_dirs(runs)
    lines = plot_runs(dirs, output, metric=metric, x_axis=x_axis, band=band, title=title)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"Wrote {output}: {len(dirs)} run(s) in {len(lines)} curve(s)", markup=False)
    for line in lines:
        console.print(f"  {line.label}: last {line.final_mean:.1f}", markup=False)
