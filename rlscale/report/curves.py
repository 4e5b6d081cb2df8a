"""Learning curves read from runs' ``progress.csv`` files, grouped across seeds."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlscale.errors import ConfigError, RunDirError, did_you_mean
from rlscale.results import metrics
from rlscale.results.rundir import RunDir, is_run_dir

PROGRESS_FILE = "progress.csv"
X_AXES = {
    "timesteps": (metrics.ENV_STEPS_LIFETIME, "environment steps"),
    "time": (metrics.TIME_TOTAL_S, "training time (s)"),
    "iterations": (metrics.TRAINING_ITERATION, "training iteration"),
}
METRIC_LABELS = {
    metrics.EPISODE_RETURN_MEAN: "episode return (mean)",
    metrics.EPISODE_LEN_MEAN: "episode length (mean)",
}
# Keys of config.yaml that do not change what is learned: runs differing only in these
# (and the seed) are seeds of one configuration.
NOT_THE_CONFIG = ("seed", "name", "output", "stop", "checkpoint")


@dataclass
class Curve:
    """One run's metric against one x axis."""

    run: str
    path: Path
    config_key: str
    env: str
    x: np.ndarray
    y: np.ndarray


@dataclass
class Group:
    """Runs of one configuration that differ only in seed."""

    curves: list[Curve] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.run for c in self.curves]


def expand_run_dirs(paths: list[Path]) -> list[Path]:
    """Run directories from arguments: a run, or a folder holding runs (sorted by name)."""
    out: list[Path] = []
    for path in paths:
        if not path.exists():
            raise RunDirError(f"{path}: no such file or directory")
        if is_run_dir(path):
            out.append(path)
            continue
        inner = sorted(p for p in path.iterdir() if p.is_dir() and is_run_dir(p)) \
            if path.is_dir() else []
        if not inner:
            raise RunDirError(f"{path} is not an rlscale run directory (nor a folder of runs)")
        out.extend(inner)
    return out


def _read_rows(run: Path) -> tuple[list[dict[str, str]], list[str]]:
    rows: list[dict[str, str]] = []
    columns: list[str] = []
    # A sweep's trial is itself Tune's trial folder; a train run holds Tune's trial folders.
    own = [run / PROGRESS_FILE] if (run / PROGRESS_FILE).is_file() else []
    for progress in own + sorted(run.glob(f"*/{PROGRESS_FILE}")):
        with open(progress, newline="") as handle:
            reader = csv.DictReader(handle)
            columns.extend(c for c in reader.fieldnames or [] if c not in columns)
            rows.extend(reader)
    return rows, columns


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def config_key(config: Mapping[str, Any]) -> str:
    """A run's configuration without seed, name, output, stop and checkpoint settings."""
    kept = {k: v for k, v in config.items() if k not in NOT_THE_CONFIG}
    return json.dumps(kept, sort_keys=True, default=str)


def load_curve(run: Path, metric: str, x_axis: str) -> Curve:
    """The (x, metric) points of a run, one per training iteration."""
    if x_axis not in X_AXES:
        raise ConfigError(f"--x must be one of {', '.join(X_AXES)}, not {x_axis!r}")
    x_col = X_AXES[x_axis][0]
    rows, columns = _read_rows(run)
    if not rows:
        raise RunDirError(f"run {run} has no results yet (no {PROGRESS_FILE})")
    if metric not in columns:
        numeric = [c for c in columns if not math.isnan(_float(rows[-1].get(c)))]
        raise ConfigError(
            f"run {run.name} has no metric '{metric}'{did_you_mean(metric, numeric)}"
        )
    by_iter: dict[int, tuple[float, float]] = {}
    for row in rows:  # a resumed run appends a trial; the last value of an iteration wins
        it = int(_float(row.get(metrics.TRAINING_ITERATION)) or 0)
        by_iter[it] = (_float(row.get(x_col)), _float(row.get(metric)))
    pts = np.array([by_iter[k] for k in sorted(by_iter)], dtype=float).reshape(-1, 2)
    pts = pts[~np.isnan(pts).any(axis=1)]
    config = RunDir(run).read_config()
    return Curve(run.name, run, config_key(config), str(config.get("env", "")), pts[:, 0],
                 pts[:, 1])


def group_by_config(curves: list[Curve]) -> list[Group]:
    """Groups of curves with equal configuration, in order of first appearance."""
    groups: dict[str, Group] = {}
    for curve in curves:
        groups.setdefault(curve.config_key, Group()).curves.append(curve)
    return list(groups.values())


def mean_band(group: Group, band: str, points: int = 200) -> tuple[np.ndarray, ...]:
    """Mean and band (min-max, or +-1 std) of a group on the x range all its runs cover."""
    curves = [c for c in group.curves if len(c.x) > 0]
    lo = max(float(c.x.min()) for c in curves)
    hi = min(float(c.x.max()) for c in curves)
    if hi <= lo:
        grid = np.array([lo])
    else:
        grid = np.linspace(lo, hi, points)
    ys = np.stack([np.interp(grid, c.x, c.y) for c in curves])
    mean = ys.mean(axis=0)
    if band == "std":
        std = ys.std(axis=0)
        return grid, mean, mean - std, mean + std
    return grid, mean, ys.min(axis=0), ys.max(axis=0)


def describe(curves: list[Curve]) -> dict[str, Any]:
    """Which env(s) the curves are of (for the title)."""
    return {"envs": sorted({c.env for c in curves if c.env})}
