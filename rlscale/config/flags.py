"""Every flag of ``rlscale train``, ``sweep`` and ``slurm``, declared once.

A :class:`Flag` holds a flag's names (the first is the flag, the others aliases), the
experiment key it sets (``None``: it steers the command, not the experiment), the commands
that take it, its type and default. Its help text is the key's ``Field`` description in
:mod:`rlscale.config.model` unless the flag has a text of its own; a command whose flag means
something narrower (a sweep's ``--stop-iters`` is per trial) names its wording in
``help_in``.

From this one table come the commands' options (``rlscale.cli.options``), the flags placed
at their experiment paths (``flag_overrides`` there), the key-to-flag map that error messages
use (:data:`KEY_FLAGS`) and the flags table of the CLI reference. Adding a flag that sets a
key is one entry here (and its field in the model, where its help text lives).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rlscale.config.model import ExperimentConfig

TRAIN, SWEEP, SLURM = "train", "sweep", "slurm"
_ALL = frozenset({TRAIN, SWEEP, SLURM})
_RUN = frozenset({TRAIN, SWEEP})


@dataclass(frozen=True)
class Flag:
    """One command-line flag."""

    param: str  # the command function's parameter name
    names: tuple[str, ...]  # the flag, then its aliases
    type: Any  # the parameter's annotation, e.g. ``int | None``
    path: str | None = None  # the dotted experiment key it sets
    commands: frozenset[str] = _ALL
    help_text: str | None = None  # instead of the key's Field description
    help_in: Mapping[str, str] = field(default_factory=dict)  # a command's own wording
    default: Any = None
    hidden: bool = False  # works, but is left out of --help
    aliases_in: frozenset[str] = _ALL  # the commands that take the aliases too

    @property
    def switch(self) -> bool:
        """An on/off flag (``--resume``): False unless given."""
        return self.type is bool

    def names_in(self, command: str) -> tuple[str, ...]:
        """The names ``command`` takes for this flag."""
        return self.names if command in self.aliases_in else self.names[:1]

    def help(self, command: str = TRAIN) -> str:
        """The help text in ``command``: its own wording, the flag's, or the key's field's."""
        if command in self.help_in:
            return self.help_in[command]
        if self.help_text is not None:
            return self.help_text
        if self.path is None:
            raise ValueError(f"flag {self.names[0]} has no help text and no experiment key")
        info = _field(self.path)
        if not info.description:
            raise ValueError(f"experiment key {self.path} has no description (its flag's help)")
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if self.switch or default in (None, "", [], {}):
            return info.description
        return f"{info.description} [default: {default}]"


def _field(path: str) -> FieldInfo:
    """The ``Field`` of the experiment key at the dotted ``path``."""
    model: type[BaseModel] = ExperimentConfig
    *parents, leaf = path.split(".")
    for part in parents:
        annotation = model.model_fields[part].annotation
        nested = [a for a in (annotation, *getattr(annotation, "__args__", ()))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        model = nested[0]
    return model.model_fields[leaf]


FLAGS: tuple[Flag, ...] = (
    # rlscale sweep's own: how the trials are searched and scheduled.
    Flag("search", ("--search",), list[str] | None, commands=frozenset({SWEEP}),
         help_text="Search a key: key=SPEC, e.g. 'algo_config.lr={grid: [0.001, 0.0003]}' or "
         "seeds=3 (repeatable)."),
    Flag("samples", ("--samples",), int, commands=frozenset({SWEEP}), default=1,
         help_text="Samples of the search space (Tune's num_samples); a grid is repeated this "
         "many times."),
    Flag("search_alg", ("--search-alg",), str, commands=frozenset({SWEEP}), default="random",
         help_text="random (grid and random sampling), optuna, hyperopt."),
    Flag("scheduler", ("--scheduler",), str, commands=frozenset({SWEEP}), default="fifo",
         help_text="fifo, asha or pbt."),
    Flag("metric", ("--metric",), str, commands=frozenset({SWEEP}),
         default="env_runners/episode_return_mean",
         help_text="Result key searchers and schedulers optimize."),
    Flag("mode", ("--mode",), str, commands=frozenset({SWEEP}), default="max",
         help_text="max or min."),
    Flag("max_concurrent", ("--max-concurrent",), int | None, commands=frozenset({SWEEP}),
         help_text="At most this many trials at once (capped by the cores)."),
    # What to train.
    Flag("env", ("--env", "--name-env"), str | None, "env", aliases_in=frozenset({TRAIN, SLURM}),
         help_in={SWEEP: "Gymnasium id (e.g. CartPole-v1).", SLURM: "Gymnasium id."}),
    Flag("env_config", ("--env-config",), str | None, "env_config",
         commands=frozenset({TRAIN})),
    Flag("env_packages", ("--env-package",), list[str] | None, "env_packages",
         commands=frozenset({TRAIN})),
    Flag("no_check_env", ("--no-check-env",), bool, commands=_RUN,
         help_text="Skip the environment check before training."),
    Flag("algo", ("--algo", "--run"), str | None, "algo", aliases_in=frozenset({TRAIN, SLURM}),
         help_in={SWEEP: "RLlib algorithm.", SLURM: "RLlib algorithm."}),
    Flag("policies", ("--policies",), str | None, "policies",
         commands=frozenset({TRAIN, SLURM})),
    # Resources. A sweep's --num-cpus is the whole sweep's; its trials' is --cpus-per-trial.
    Flag("num_cpus", ("--num-cpus",), int | None, "resources.num_cpus",
         commands=frozenset({TRAIN, SLURM}),
         help_in={SLURM: "Total cores for the run [default: every allocated core]."}),
    Flag("num_cpus", ("--num-cpus",), int | None, commands=frozenset({SWEEP}),
         help_text="Cores the whole sweep may use [default: all]."),
    Flag("num_gpus", ("--num-gpus",), float | None, "resources.num_gpus",
         commands=frozenset({TRAIN, SLURM}),
         help_in={SLURM: "GPUs for the learner [default: the allocation's]."}),
    Flag("oversubscribe", ("--oversubscribe",), bool, "resources.oversubscribe", commands=_RUN),
    Flag("cpus_per_trial", ("--cpus-per-trial",), int | None, "resources.num_cpus",
         commands=frozenset({SWEEP}),
         help_text="Cores per trial: resources.num_cpus [default: 1]."),
    # Until when.
    Flag("stop_reward", ("--stop-reward",), float | None, "stop.reward",
         help_in={SWEEP: "Stop a trial at this mean episode return.", SLURM: "Target return."}),
    Flag("stop_iters", ("--stop-iters",), int | None, "stop.iters",
         help_in={SWEEP: "Iterations per trial."}),
    Flag("stop_timesteps", ("--stop-timesteps",), int | None, "stop.timesteps",
         help_in={SWEEP: "Env steps per trial."}),
    Flag("stop_time", ("--stop-time",), float | None, "stop.time_s",
         help_in={SWEEP: "Seconds of training per trial."}),
    Flag("seed", ("--seed",), int | None, "seed",
         help_in={SWEEP: "First seed (seeds: K adds 1, 2...)."}),
    Flag("sets", ("--set",), list[str] | None,
         help_text="Override any experiment key: key.path=value (repeatable).",
         help_in={SLURM: "Override: key.path=value."}),
    # Where results go.
    Flag("output", ("--output",), str | None, "output",
         help_in={SWEEP: "Folder for sweeps and runs [default: ./rlscale_runs]."}),
    Flag("name", ("--name",), str | None, "name",
         help_in={SWEEP: "Sweep name [default: <env>-<algo>-sweep-<time>].",
                  SLURM: "Run name."}),
    Flag("checkpoint_every", ("--checkpoint-every",), int | None, "checkpoint.every",
         help_in={SWEEP: "Checkpoint every N iterations (and at the end).",
                  SLURM: "Checkpoint every N iterations."}),
    Flag("preset", ("--preset",), str | None, "preset",
         help_in={SWEEP: "auto, none, or a preset name.",
                  SLURM: "Tuned preset: auto, none, NAME."}),
    Flag("resume", ("--resume",), bool, commands=_RUN, help_text="Continue an existing run.",
         help_in={SWEEP: "Continue an interrupted sweep."}),
    Flag("overwrite", ("--overwrite",), bool, help_text="Replace an existing run.",
         help_in={SWEEP: "Replace an existing sweep."}),
    Flag("address", ("--address",), str | None, "resources.address",
         commands=frozenset({TRAIN})),
    Flag("dry_run", ("--dry-run",), bool,
         help_text="Print the resource plan and RLlib config, train nothing.",
         help_in={SWEEP: "Print the trials, the plan per trial and the concurrency.",
                  SLURM: "Write and print the script."}),
    Flag("predict", ("--predict",), bool, commands=frozenset({TRAIN, SLURM}),
         help_text="With --dry-run: train a short pilot (or read the run's figures) and "
         "predict env steps/s at more cores and nodes (docs/scaling.md).",
         help_in={SLURM: "Size the job (--nodes, and the cores of one node) from the scaling "
                  "prediction: a short pilot here, or the run's figures (docs/scaling.md)."}),
    Flag("engine", ("--engine",), str | None, commands=frozenset({TRAIN}), hidden=True,
         help_text="auto (a local run trains in this process, a cluster run through Tune), "
         "driver or tune [default: auto]."),
    Flag("verbose", ("-v", "--verbose"), bool, help_text="Show Ray's and RLlib's logs.",
         help_in={SLURM: "More log output."}),
    # Evaluation and tracking.
    Flag("eval_every", ("--eval-every",), int | None, "evaluation.every"),
    Flag("eval_episodes", ("--eval-episodes",), int | None, "evaluation.episodes"),
    Flag("mlflow", ("--mlflow",), str | None, "tracking.mlflow.uri"),
    Flag("wandb", ("--wandb",), str | None, "tracking.wandb.project"),
)


def flags_of(command: str) -> list[Flag]:
    """The flags ``command`` takes, in the order of its ``--help``."""
    return [flag for flag in FLAGS if command in flag.commands]


def flag_of(command: str, param: str) -> Flag:
    """``command``'s flag for the parameter ``param``."""
    for flag in flags_of(command):
        if flag.param == param:
            return flag
    raise KeyError(f"{command} has no flag for the parameter {param!r}")


# The inverse map: experiment key -> the train flag that sets it, named in error messages.
KEY_FLAGS: dict[str, str] = {
    flag.path: flag.names[0] for flag in flags_of(TRAIN) if flag.path is not None
}
