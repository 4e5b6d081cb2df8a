"""A sweep's trials: each writes a run directory of its own, with train's files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlscale.config.paths import get_path, set_path
from rlscale.results.rundir import NEW, RESUME, RunDir
from rlscale.results.summary import INTERRUPTED, RUNNING, SUMMARY_FILE, Summary
from rlscale.runners.segment import segment_summary
from rlscale.runners.sweep.job import SweepJob
from rlscale.runners.tune_run import TrialRuns


def trial_dirname(trial: Any) -> str:
    """``trial_00003``: the trial's counter, short and stable across a resume."""
    return f"trial_{str(trial.trial_id).rsplit('_', 1)[-1]}"


TrialHook = Callable[[str, str, dict[str, Any], dict[str, Any] | None], None]


class SweepTrials(TrialRuns):
    """Each trial writes a run directory of its own, with train's files."""

    def __init__(self, job: SweepJob, command: str, hook: TrialHook | None = None) -> None:
        self.job = job
        self.command = command
        self.hook = hook  # (event, trial name, searched values, progress row or None)
        self.runs: dict[str, tuple[Path, Summary]] = {}
        self.finished_ids: set[str] = set()

    def values(self, trial: Any) -> dict[str, Any]:
        """The searched values of ``trial`` (experiment keys), seed included."""
        config = getattr(trial, "config", {}) or {}
        out = {key: get_path(config, path) for key, path in self.job.rllib_paths.items()}
        if self.job.space.seeds is not None:
            out["seed"] = config.get("seed")
        return out

    def open(self, trial: Any) -> tuple[Path, Summary] | None:
        if trial.trial_id in self.runs:
            return self.runs[trial.trial_id]
        path = Path(trial.path)
        exp = self.job.exp
        resumed = (path / SUMMARY_FILE).is_file()
        previous = Summary.read(path) if resumed else None
        summary = segment_summary(exp, self.job.algo.name, previous)
        config = self.job.trial_experiment()
        for key, value in self.values(trial).items():
            set_path(config, key.split("."), value)
        config["name"], config["output"] = path.name, str(path.parent)
        RunDir(path).prepare(RESUME if resumed else NEW, config, self.command)
        summary.write(path)
        self.runs[trial.trial_id] = (path, summary)
        return path, summary

    def started(self, trial: Any) -> None:
        self.open(trial)
        self._emit("start", trial, None)

    def finished(self, trial: Any, status: str) -> None:
        target = self.open(trial)
        if target is None:
            return
        path, summary = target
        summary.status = status
        summary.write(path)
        self.finished_ids.add(trial.trial_id)
        self._emit(status, trial, None)

    def result(self, trial: Any, row: dict[str, Any]) -> None:
        self._emit("result", trial, row)

    def mark_interrupted(self) -> None:
        """Trials that were running when the sweep was stopped: resumable."""
        for trial_id, (path, summary) in self.runs.items():
            if trial_id not in self.finished_ids and summary.status == RUNNING:
                summary.status = INTERRUPTED
                summary.write(path)

    def _emit(self, event: str, trial: Any, row: dict[str, Any] | None) -> None:
        if self.hook is not None:
            self.hook(event, trial_dirname(trial), self.values(trial), row)
