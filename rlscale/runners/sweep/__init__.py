"""Sweeps: many trials of one experiment through one Tune call, sharing the cores.

A sweep is an experiment with a ``search:`` block. Every trial is the experiment with one
point of the search space: the same env, algorithm, per-trial resource plan and RLlib
config builder as ``train``, the searched values put into the RLlib config as Tune search
objects. Each trial writes a run directory of its own (config.yaml, summary.json,
checkpoints) under ``<output>/<name>/trials/``.
"""

from rlscale.runners.sweep.job import (
    MODES,
    SCHEDULERS,
    SEARCH_ALGS,
    TRIALS_DIR,
    SweepJob,
    SweepOptions,
    sweep_options_record,
)
from rlscale.runners.sweep.prepare import prepare_sweep
from rlscale.runners.sweep.report import SweepReport, report_sweep
from rlscale.runners.sweep.run import interrupt_sweep, param_space, run_sweep
from rlscale.runners.sweep.trials import SweepTrials, TrialHook, trial_dirname

__all__ = [
    "MODES",
    "SCHEDULERS",
    "SEARCH_ALGS",
    "TRIALS_DIR",
    "SweepJob",
    "SweepOptions",
    "SweepReport",
    "SweepTrials",
    "TrialHook",
    "interrupt_sweep",
    "param_space",
    "prepare_sweep",
    "report_sweep",
    "run_sweep",
    "sweep_options_record",
    "trial_dirname",
]
