"""A sweep directory: its trials' run directories, the ranking, sweep.json and best.yaml.

```
<output>/<name>/
  sweep.yaml      the resolved experiment with its search block: `rlscale sweep` reruns it
  command.txt     the command line(s) as typed
  versions.json   software versions and host
  sweep.json      options, every trial, and the points ranked
  best.yaml       the best point as a ready-to-run experiment (`rlscale train best.yaml`)
  trials/         Tune's experiment; one run directory per trial (config.yaml,
                  summary.json, checkpoints), as `train` writes them
```
"""

from __future__ import annotations

import copy
import math
import shutil
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from rlscale.config.model import StopConfig
from rlscale.config.paths import get_path, set_path
from rlscale.results.files import (
    atomic_append_text,
    atomic_write_json,
    atomic_write_text,
    read_json,
)
from rlscale.results.rundir import (
    COMMAND_FILE,
    CONFIG_FILE,
    OVERWRITE,
    RESUME,
    VERSIONS_FILE,
    OutputDir,
    versions,
)
from rlscale.results.summary import COMPLETED, SUMMARY_FILE

SWEEP_FILE = "sweep.yaml"
REPORT_FILE = "sweep.json"
BEST_FILE = "best.yaml"
TRIALS = "trials"


def is_sweep_dir(path: Path) -> bool:
    """True when ``path`` holds an rlscale sweep."""
    return (path / SWEEP_FILE).is_file()


@dataclass(frozen=True)
class SweepDir(OutputDir):
    """One sweep's directory."""

    KIND: ClassVar[str] = "sweep"
    COMMAND: ClassVar[str] = "sweep"
    RERUN_FILE: ClassVar[str] = SWEEP_FILE
    NAME_TAG: ClassVar[str | None] = "sweep"

    @property
    def trials(self) -> Path:
        return self.path / TRIALS

    def has_files(self) -> bool:
        return self.path.exists() and any(self.path.iterdir())

    def is_ours(self) -> bool:
        return is_sweep_dir(self.path)

    def prepare(self, mode: str, config: dict[str, Any], command: str,
                options: dict[str, Any]) -> None:
        """Create (or clear, for --overwrite) the directory and write the manifests."""
        if mode == OVERWRITE and self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        if mode == RESUME:
            atomic_append_text(self.path / COMMAND_FILE, command + "\n")
            return
        atomic_write_text(self.path / SWEEP_FILE, yaml.safe_dump(config, sort_keys=False))
        atomic_write_text(self.path / COMMAND_FILE, command + "\n")
        atomic_write_json(self.path / VERSIONS_FILE, versions())
        atomic_write_json(self.path / REPORT_FILE, {"options": options, "trials": [],
                                                    "ranking": []})

    def read_options(self) -> dict[str, Any]:
        """The options the sweep was started with."""
        try:
            data = read_json(self.path / REPORT_FILE)
        except (OSError, ValueError):
            return {}
        return dict(data.get("options", {}))


@dataclass
class TrialRecord:
    """One trial as its run directory tells it."""

    name: str
    path: str
    values: dict[str, Any]
    seed: int | None
    status: str
    best_episode_return_mean: float | None
    last_episode_return_mean: float | None
    timesteps_total: int
    iterations: int
    time_total_s: float
    stopped_early: bool
    # With evaluation (evaluation.every): the best evaluation's mean return.
    best_eval_return_mean: float | None = None


# What the points are ranked by: the training return, or (with evaluation on) the
# evaluation return of the greedy policy.
RANK_BY_RETURN = "episode_return_mean"
RANK_BY_EVAL = "eval_return_mean"


@dataclass
class PointRecord:
    """One point of the search space, over its seeds."""

    rank: int
    values: dict[str, Any]
    seeds: list[int | None]
    best_return_mean: float | None
    best_return_std: float | None
    timesteps_mean: float
    time_s_mean: float
    iterations: list[int]
    statuses: list[str]
    trials: list[str] = field(default_factory=list)
    best_eval_return_mean: float | None = None  # mean over seeds (evaluation.every)
    best_eval_return_std: float | None = None
    ranked_by: str = RANK_BY_RETURN

    @property
    def score(self) -> float | None:
        """The mean over seeds the point is ranked by."""
        return (self.best_eval_return_mean if self.ranked_by == RANK_BY_EVAL
                else self.best_return_mean)

    @property
    def score_std(self) -> float | None:
        """The standard deviation over seeds of :attr:`score`."""
        return (self.best_eval_return_std if self.ranked_by == RANK_BY_EVAL
                else self.best_return_std)


def _budget_reached(summary: Mapping[str, Any], stop: StopConfig) -> bool:
    return bool(
        summary.get("reached_target")
        or (stop.iters is not None and summary.get("iterations", 0) >= stop.iters)
        or (stop.timesteps is not None and summary.get("timesteps_total", 0) >= stop.timesteps)
        or (stop.time_s is not None and summary.get("time_total_s", 0.0) >= stop.time_s)
    )


def collect_trials(sweep: SweepDir, keys: Sequence[str], stop: StopConfig) -> list[TrialRecord]:
    """Every trial that has a run directory, in trial order."""
    records = []
    for path in sorted(sweep.trials.glob("*/" + SUMMARY_FILE)):
        run = path.parent
        try:
            summary = read_json(path)
            config = yaml.safe_load((run / CONFIG_FILE).read_text()) or {}
        except (OSError, ValueError, yaml.YAMLError):
            continue
        values = {k: get_path(config, k.split(".")) for k in keys if k != "seed"}
        status = summary.get("status", "unknown")
        records.append(TrialRecord(
            name=run.name,
            path=str(run),
            values=values,
            seed=config.get("seed"),
            status=status,
            best_episode_return_mean=summary.get("best_episode_return_mean"),
            last_episode_return_mean=summary.get("last_episode_return_mean"),
            timesteps_total=int(summary.get("timesteps_total", 0)),
            iterations=int(summary.get("iterations", 0)),
            time_total_s=float(summary.get("time_total_s", 0.0)),
            stopped_early=status == COMPLETED and not _budget_reached(summary, stop),
            best_eval_return_mean=summary.get("best_eval_return_mean"),
        ))
    return records


def _mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    known = [v for v in values if v is not None]
    if not known:
        return None, None
    return statistics.fmean(known), statistics.pstdev(known) if len(known) > 1 else 0.0


def rank_points(trials: Sequence[TrialRecord], mode: str = "max",
                by: str = RANK_BY_RETURN) -> list[PointRecord]:
    """Group trials by their searched values (seeds pooled) and rank by the mean over seeds
    of the best episode return (``by=RANK_BY_RETURN``) or of the best evaluation return
    (``RANK_BY_EVAL``); points without that return come last."""
    groups: dict[str, list[TrialRecord]] = {}
    for trial in trials:
        groups.setdefault(repr(sorted(trial.values.items())), []).append(trial)
    points = []
    for members in groups.values():
        best, best_std = _mean_std([t.best_episode_return_mean for t in members])
        best_eval, eval_std = _mean_std([t.best_eval_return_mean for t in members])
        points.append(PointRecord(
            rank=0,
            values=dict(members[0].values),
            seeds=[t.seed for t in members],
            best_return_mean=best,
            best_return_std=best_std,
            timesteps_mean=statistics.fmean(t.timesteps_total for t in members),
            time_s_mean=statistics.fmean(t.time_total_s for t in members),
            iterations=[t.iterations for t in members],
            statuses=[t.status for t in members],
            trials=[t.name for t in members],
            best_eval_return_mean=best_eval,
            best_eval_return_std=eval_std,
            ranked_by=by,
        ))
    sign = -1.0 if mode == "max" else 1.0
    points.sort(key=lambda p: (p.score is None, sign * (p.score or 0.0)))
    for i, point in enumerate(points, start=1):
        point.rank = i
    return points


def best_experiment(base: Mapping[str, Any], point: PointRecord, name: str) -> dict[str, Any]:
    """The base experiment with the best point's values: a file ``train`` runs as is."""
    data = copy.deepcopy({k: v for k, v in base.items() if k != "search"})
    for key, value in point.values.items():
        set_path(data, key.split("."), value)
    seeds = [s for s in point.seeds if s is not None]
    if seeds:
        data["seed"] = min(seeds)
    data["name"] = name
    return dict(data)


def write_report(
    sweep: SweepDir,
    base: Mapping[str, Any],
    trials: Sequence[TrialRecord],
    points: Sequence[PointRecord],
    options: Mapping[str, Any],
) -> Path | None:
    """Write sweep.json and, when a point has a return, best.yaml. Returns best.yaml."""
    finite = [p for p in points if p.score is not None and math.isfinite(p.score)]
    best = finite[0] if finite else None
    report = {
        "name": sweep.path.name,
        "options": dict(options),
        "search": dict(base.get("search", {})),
        "trials": [asdict(t) for t in trials],
        "ranking": [asdict(p) for p in points],
        "best": asdict(best) if best else None,
    }
    atomic_write_json(sweep.path / REPORT_FILE, report)
    if best is None:
        return None
    experiment = best_experiment(base, best, f"{sweep.path.name}-best")
    header = (f"# The best point of sweep {sweep.path.name} (rank 1 of {len(points)}): "
              f"rlscale train {BEST_FILE}\n")
    atomic_write_text(sweep.path / BEST_FILE,
                      header + yaml.safe_dump(experiment, sort_keys=False))
    return sweep.path / BEST_FILE
