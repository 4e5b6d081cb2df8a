"""Listing the runs of an output folder: one row per run directory, newest first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlscale.errors import RunDirError
from rlscale.results.rundir import (
    CONFIG_FILE,
    UnreadableFile,
    is_run_dir,
    read_config_file,
    read_summary,
)
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


def _unreadable(exc: UnreadableFile) -> str:
    return f"unreadable ({exc.path.name}: {exc.reason})"


def read_run(path: Path) -> RunRow:
    """One run's row, from ``summary.json`` (and ``config.yaml`` when it has no summary).

    A run whose ``summary.json`` or ``config.yaml`` cannot be read is listed all the same,
    with the status ``unreadable (<file>: <reason>)``.
    """
    config: dict[str, Any] = {}
    problem: str | None = None
    if (path / CONFIG_FILE).exists():
        try:
            config = read_config_file(path)
        except UnreadableFile as exc:
            problem = _unreadable(exc)
    summary: Summary | None = None
    if (path / SUMMARY_FILE).exists():
        try:
            summary = read_summary(path)
        except UnreadableFile as exc:
            problem = _unreadable(exc)
    if summary is None:
        env, algo = config.get("env"), config.get("algo")
        return RunRow(
            name=path.name, path=str(path),
            env=env if isinstance(env, str) else None,
            algo=algo if isinstance(algo, str) else None,
            status=problem or "no summary", best_return=None, timesteps=None,
            wall_time_s=None, target_reward=None, reached_target=None,
            updated_at=_mtime(path),
        )
    return RunRow(
        name=path.name,
        path=str(path),
        env=summary.env,
        algo=summary.algo,
        status=problem or summary.shown_status(),
        best_return=summary.best_episode_return_mean,
        timesteps=summary.timesteps_total,
        wall_time_s=summary.time_total_s,
        target_reward=summary.target_reward,
        reached_target=summary.reached_target if summary.target_reward is not None else None,
        updated_at=summary.updated_at,
    )


def _mtime(path: Path) -> float:
    """When the run last changed: its newest manifest, else the directory itself."""
    times = [p.stat().st_mtime for p in (path / CONFIG_FILE, path / SUMMARY_FILE) if p.exists()]
    return max(times, default=path.stat().st_mtime)


def list_runs(output: Path) -> list[RunRow]:
    """Every run directory directly under ``output``, the most recently updated first."""
    if not output.is_dir():
        raise RunDirError(f"no such folder: {output}")
    output = output.resolve()
    rows = [read_run(p) for p in output.iterdir() if p.is_dir() and is_run_dir(p)]
    # updated_at of an unreadable summary is unknown: such a run sorts by its files' times.
    return sorted(rows, key=lambda r: r.updated_at, reverse=True)


def rows_json(rows: list[RunRow]) -> str:
    """The rows as one JSON array."""
    return json.dumps([r.to_dict() for r in rows], indent=2)
