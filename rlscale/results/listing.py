"""Listing the runs of an output folder: one row per run directory, newest first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlscale.errors import RunDirError
from rlscale.results.rundir import CONFIG_FILE, RunDir, is_run_dir
from rlscale.results.summary import SUMMARY_FILE, Summary


@dataclass(frozen=True)
class RunRow:
    """What ``rlscale runs`` shows of one run."""

    name: str
    path: str
    env: str | None
    algo: str | None
    status: str
    best_return: float | None
    timesteps: int | None
    wall_time_s: float | None
    target_reward: float | None
    reached_target: bool | None
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_run(path: Path) -> RunRow:
    """One run's row, from ``summary.json`` (and ``config.yaml`` when it has no summary)."""
    config = RunDir(path).read_config()
    summary: Summary | None = None
    if (path / SUMMARY_FILE).is_file():
        try:
            summary = Summary.read(path)
        except (OSError, ValueError, TypeError):
            summary = None
    if summary is None:
        return RunRow(
            name=path.name, path=str(path), env=config.get("env"), algo=config.get("algo"),
            status="no summary", best_return=None, timesteps=None, wall_time_s=None,
            target_reward=None, reached_target=None,
            updated_at=(path / CONFIG_FILE).stat().st_mtime if config else path.stat().st_mtime,
        )
    return RunRow(
        name=path.name,
        path=str(path),
        env=summary.env,
        algo=summary.algo,
        status=summary.shown_status(),
        best_return=summary.best_episode_return_mean,
        timesteps=summary.timesteps_total,
        wall_time_s=summary.time_total_s,
        target_reward=summary.target_reward,
        reached_target=summary.reached_target if summary.target_reward is not None else None,
        updated_at=summary.updated_at,
    )


def list_runs(output: Path) -> list[RunRow]:
    """Every run directory directly under ``output``, the most recently updated first."""
    if not output.is_dir():
        raise RunDirError(f"no such folder: {output}")
    output = output.resolve()
    rows = [read_run(p) for p in output.iterdir() if p.is_dir() and is_run_dir(p)]
    return sorted(rows, key=lambda r: r.updated_at, reverse=True)


def rows_json(rows: list[RunRow]) -> str:
    """The rows as one JSON array."""
    return json.dumps([r.to_dict() for r in rows], indent=2)
