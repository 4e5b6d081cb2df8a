"""Drawing learning curves to PNG or SVG with matplotlib (the ``report`` extra)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlscale.errors import ConfigError, MissingExtraError
from rlscale.report.curves import (
    METRIC_LABELS,
    X_AXES,
    Curve,
    Group,
    group_by_config,
    load_curve,
    mean_band,
)
from rlscale.results.files import publish_file

PLOT_SUFFIXES = (".png", ".svg")
BANDS = ("minmax", "std")


@dataclass(frozen=True)
class PlotLine:
    """One legend entry: a run, or a group of seeds drawn as mean and band."""

    label: str
    runs: list[str]
    final_mean: float


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError("rlscale plot", "report") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _steps(value: float, _pos: int) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def group_label(group: Group, band: str) -> str:
    """Legend text: the run name, or the seeds' run names and what the band shows."""
    names = group.names
    if len(names) == 1:
        return names[0]
    joined = ", ".join(names)
    if len(joined) > 48:
        joined = f"{names[0]}, ... {names[-1]}"
    what = "min-max" if band == "minmax" else "\u00b11 std"
    return f"{joined} (mean of {len(names)} seeds, {what})"


def plot_runs(
    runs: list[Path],
    output: Path,
    metric: str = "env_runners/episode_return_mean",
    x_axis: str = "timesteps",
    band: str = "minmax",
    title: str | None = None,
) -> list[PlotLine]:
    """Plot ``metric`` of ``runs`` against ``x_axis`` into ``output`` (atomically)."""
    if band not in BANDS:
        raise ConfigError(f"--band must be one of {', '.join(BANDS)}, not {band!r}")
    curves: list[Curve] = [load_curve(run, metric, x_axis) for run in runs]
    plt = _pyplot()
    groups = group_by_config(curves)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    lines: list[PlotLine] = []
    try:
        for i, group in enumerate(groups):
            color = f"C{i % 10}"
            label = group_label(group, band)
            if len(group.curves) == 1:
                c = group.curves[0]
                ax.plot(c.x, c.y, color=color, lw=1.8, label=label)
                final = float(c.y[-1]) if len(c.y) else float("nan")
            else:
                grid, mean, low, high = mean_band(group, band)
                ax.plot(grid, mean, color=color, lw=1.8, label=label)
                ax.fill_between(grid, low, high, color=color, alpha=0.2, lw=0)
                final = float(mean[-1])
            lines.append(PlotLine(label, group.names, final))
        envs = sorted({c.env for c in curves if c.env})
        ax.set_xlabel(X_AXES[x_axis][1])
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.set_title(title or (f"{', '.join(envs)}: " if envs else "")
                     + METRIC_LABELS.get(metric, metric))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8, frameon=False)
        if x_axis == "timesteps":
            from matplotlib.ticker import FuncFormatter

            ax.xaxis.set_major_formatter(FuncFormatter(_steps))
        fig.tight_layout()
        fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.stem}.",
                                   suffix=output.suffix)
        os.close(fd)
        try:
            fig.savefig(tmp, format=output.suffix.lower().lstrip("."))
            publish_file(Path(tmp), output)
        finally:
            Path(tmp).unlink(missing_ok=True)
    finally:
        plt.close(fig)
    return lines
