"""The driver path: a local single run trains RLlib's ``Algorithm`` in this process.

Tune's trial actor is a fresh Ray worker that imports RLlib and PyTorch again before its
first iteration; a local single run (no ``--address``, not a sweep trial, not a Slurm job)
skips it and loops ``algo.train()`` here (RLlib's own example scripts do the same without
Tune). What the user gets is the Tune path's, file for file: the same trial directory
name and layout, ``result.json``, ``progress.csv`` and TensorBoard events written by Tune's
own logger callbacks, checkpoints in Tune's ``checkpoint_NNNNNN`` layout, and the same
summary, stop criteria, Ctrl-C and ``--resume`` (``tests/runners/test_paths.py`` holds
both paths to that contract).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from rlscale.results.diskfull import disk_full, is_disk_full
from rlscale.results.summary import Summary
from rlscale.runners.cluster import record_placement
from rlscale.runners.job import TrainingJob
from rlscale.runners.quick_start import (
    StartingRunners,
    local_first,
    maybe_hand_over,
    samples_at_once,
)
from rlscale.runners.segment import ResultHook, Segment, begin_segment
from rlscale.runners.stopping import criteria_met, past, stop_criteria, stop_requested
from rlscale.runners.tracking import logger_callbacks
from rlscale.startup_times import mark

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint_"


def trial_dirname(env: Any, algo_name: str, trial_id: str, now: datetime | None = None) -> str:
    """The directory name Tune gives a run's single trial:
    ``PPO_CartPole-v1_1a7b7_00000_0_2026-11-25_10-22-23``."""
    env_name = env.__name__ if isinstance(env, type) else str(env)
    name = f"{algo_name}_{env_name}_{trial_id}".replace("/", "_") + "_0"
    stamp = (now or datetime.today()).strftime("%Y-%m-%d_%H-%M-%S")
    return re.sub(r'[/()<>:"\\|?*]', "_", f"{name}_{stamp}")


class DriverTrial:
    """What Tune's logger callbacks need of a trial: its id, folder and config."""

    checkpoint = None  # nothing to fetch from remote storage: the folder is local
    evaluated_params: dict[str, Any] = {}  # noqa: RUF012  (no searched values)

    def __init__(self, run_dir: Path, env: Any, algo_name: str, config: dict[str, Any]) -> None:
        self.trial_id = f"{uuid.uuid4().hex[:5]}_00000"  # Tune's form for a single trial
        self.local_path = str(run_dir / trial_dirname(env, algo_name, self.trial_id))
        self.config = config

    def init_local_path(self) -> None:
        os.makedirs(self.local_path, exist_ok=True)

    @property
    def experiment_dir_name(self) -> str:
        return Path(self.local_path).parent.name

    def __str__(self) -> str:  # the run's name in MLflow and W&B, as Tune's trial names it
        return Path(self.local_path).name


def _loggers() -> list[Any]:
    """Tune's own result writers, the ones a Tune run gets by default."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

    return [JsonLoggerCallback(), CSVLoggerCallback(), TBXLoggerCallback()]


def _save(algo: Any, trial: DriverTrial, index: int) -> Path:
    """``checkpoint_NNNNNN`` in the trial folder, written under a temporary name and renamed,
    so that a checkpoint that exists is complete."""
    final = Path(trial.local_path) / f"{CHECKPOINT_PREFIX}{index:06d}"
    partial = final.with_name(f".{final.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        algo.save_to_path(str(partial))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # frees what it took of a full disk
        raise
    os.replace(partial, final)
    return final


def _torch_threads() -> None:
    """This process samples and learns: PyTorch gets the plan's thread count, which the
    Ray start put in ``OMP_NUM_THREADS`` (PyTorch may have been imported before that)."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        import torch

        torch.set_num_threads(int(threads))


def run_in_driver(job: TrainingJob, command: str, on_result: ResultHook | None = None) -> Summary:
    """Train ``job`` in this process, in an already started local Ray (remote env runners,
    if the plan has any, are Ray actors). Returns the final summary.

    Raises :class:`TrainingFailed` (exit code 1) when the algorithm fails.
    """
    segment = begin_segment(job, command)
    _torch_threads()
    config = segment.algo_config
    first = local_first(config) if samples_at_once(job) else None
    starting: StartingRunners | None = None
    try:
        algo = (first or config).build_algo()
    except Exception as exc:
        raise segment.failed(exc) from exc
    mark("algorithm built")
    trial = DriverTrial(segment.run_dir, config.env, job.algo.name, config.to_dict())
    try:
        if first is not None:  # the planned env runners start while this process samples
            try:
                starting = StartingRunners.start(algo, config)
            except Exception as exc:
                raise segment.failed(exc) from exc
        _loop(algo, trial, segment, on_result, starting)
    finally:
        algo.stop()
    return segment.succeeded()


def _loop(algo: Any, trial: DriverTrial, segment: Segment, on_result: ResultHook | None,
          starting: StartingRunners | None = None) -> None:
    criteria = stop_criteria(segment.job.exp.stop)
    every = segment.job.exp.checkpoint.every
    recorder = segment.recorder()
    # + MLflow / W&B (tracking:), driven as Tune drives them (rlscale.runners.tracking).
    trackers = logger_callbacks(segment.job.exp, segment.run_dir)
    for tracker in trackers:
        tracker.setup()
    loggers = _loggers() + trackers
    failed = True
    trial.init_local_path()
    for logger in loggers:
        logger.log_trial_start(trial)
    try:
        _iterate(algo, trial, segment, on_result, loggers, recorder, criteria, every, starting)
        failed = False
    finally:
        with contextlib.suppress(OSError):  # a full disk: the run's error says so
            for logger in loggers:
                logger.log_trial_end(trial, failed=failed)
        for tracker in trackers:  # W&B's logging actor finishes writing
            tracker.on_experiment_end(trials=[trial])


def _iterate(algo: Any, trial: DriverTrial, segment: Segment, on_result: ResultHook | None,
             loggers: list[Any], recorder: Any, criteria: dict[str, float], every: int,
             starting: StartingRunners | None) -> None:
    """Train until a stop criterion or request; a full disk ends it with :class:`DiskFull`.
    ``starting``: the env runners to hand sampling over to once they are up."""
    saved = 0
    writing = "the iteration's results"
    try:
        while True:
            writing = "the iteration's results"
            try:
                starting = _hand_over(algo, starting, segment)
                result = algo.train()
            except KeyboardInterrupt:
                segment.aborted()
                raise
            except Exception as exc:
                raise segment.failed(exc) from exc
            result["trial_id"] = trial.trial_id
            iteration = int(result.get("training_iteration", 0))
            done = (stop_requested() or past(segment.deadline)
                    or criteria_met(criteria, result))
            result["done"] = done
            for logger in loggers:
                logger.log_trial_result(iteration, trial, result)
            row = recorder.result(result)
            if on_result is not None:
                on_result(row)
            if done or (every and iteration % every == 0):
                writing = f"{CHECKPOINT_PREFIX}{saved:06d}"
                recorder.checkpoint(_save(algo, trial, saved))
                saved += 1
            if done:
                return
    except (OSError, RuntimeError) as exc:
        if not is_disk_full(exc, segment.run_dir):
            raise
        raise disk_full(segment.run_dir, writing) from None
    finally:
        if starting is not None:
            starting.stop()


def _hand_over(algo: Any, starting: StartingRunners | None,
               segment: Segment) -> StartingRunners | None:
    """Hand sampling over to the env runners once they are up (and note where they run)."""
    left = maybe_hand_over(algo, starting)
    if starting is not None and left is None:
        record_placement(str(segment.run_dir), algo)
    return left
