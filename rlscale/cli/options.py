"""The options ``train``, ``sweep`` and ``slurm`` share, defined once.

Each shared flag has its names, its default and a help text here (``train``'s wording); a
command whose flag means something narrower passes its own help text. ``flag_overrides``
places the given flags at their experiment-file paths, for ``resolve_experiment``.
"""

from __future__ import annotations

from typing import Any

import typer

# Flag names; the second name of --env and --algo is an alias (RLlib's old CLI spelling).
_NAMES: dict[str, tuple[str, ...]] = {
    "env": ("--env", "--name-env"),
    "env_config": ("--env-config",),
    "env_packages": ("--env-package",),
    "no_check_env": ("--no-check-env",),
    "algo": ("--algo", "--run"),
    "policies": ("--policies",),
    "num_cpus": ("--num-cpus",),
    "num_gpus": ("--num-gpus",),
    "oversubscribe": ("--oversubscribe",),
    "stop_reward": ("--stop-reward",),
    "stop_iters": ("--stop-iters",),
    "stop_timesteps": ("--stop-timesteps",),
    "stop_time": ("--stop-time",),
    "seed": ("--seed",),
    "sets": ("--set",),
    "output": ("--output",),
    "name": ("--name",),
    "checkpoint_every": ("--checkpoint-every",),
    "preset": ("--preset",),
    "resume": ("--resume",),
    "overwrite": ("--overwrite",),
    "address": ("--address",),
    "dry_run": ("--dry-run",),
    "verbose": ("-v", "--verbose"),
    "engine": ("--engine",),
    "eval_every": ("--eval-every",),
    "eval_episodes": ("--eval-episodes",),
    "mlflow": ("--mlflow",),
    "wandb": ("--wandb",),
}

_HELP: dict[str, str] = {
    "env": "Gymnasium id (CartPole-v1), package.module:Class or path/to/file.py:Class.",
    "env_config": "JSON object passed to the env's constructor.",
    "env_packages": "Import this package first (it registers env ids); repeatable.",
    "no_check_env": "Skip the environment check before training.",
    "algo": "RLlib algorithm: PPO, APPO, IMPALA, DQN, SAC, TQC.",
    "policies": "Multi-agent envs: shared, per_agent, or PATTERN=POLICY,... (agent-id globs) "
                "[default: shared when all agents have the same spaces, else per_agent].",
    "num_cpus": "Total cores for the run, driver and learner included [default: all].",
    "num_gpus": "GPUs for the learner; fractions allowed [default: 0].",
    "oversubscribe": "Allow --num-cpus above 4x this machine's cores.",
    "stop_reward": "Stop when the mean episode return reaches this.",
    "stop_iters": "Stop after N iterations.",
    "stop_timesteps": "Stop after N env steps.",
    "stop_time": "Stop after this many seconds of training.",
    "seed": "Random seed.",
    "sets": "Override any experiment key: key.path=value (repeatable).",
    "output": "Folder for run directories [default: ./rlscale_runs].",
    "name": "Run name [default: <env>-<algo>-<time>].",
    "checkpoint_every": "Checkpoint every N iterations (and at the end) [default: 10].",
    "preset": "Preset: auto (the env's own, else the algorithm's default), none, or a name.",
    "resume": "Continue an existing run.",
    "overwrite": "Replace an existing run.",
    "address": "Train on the existing Ray cluster at HOST:PORT [default: start Ray here].",
    "dry_run": "Print the resource plan and RLlib config, train nothing.",
    "verbose": "Show Ray's and RLlib's logs.",
    "engine": "auto (a local run trains in this process, a cluster run through Tune), "
              "driver or tune [default: auto].",
    "eval_every": "Evaluate the greedy policy every N iterations [default: never].",
    "eval_episodes": "Episodes per evaluation [default: 10].",
    "mlflow": "Track the run in MLflow at this URI (a folder, file:/..., http://...).",
    "wandb": "Track the run in this Weights & Biases project (tracking.wandb.mode: offline "
    "for nodes without internet).",
}
# Flags that work but are left out of --help (for benchmarks and the path contract test).
_HIDDEN = frozenset({"engine"})

_SWITCHES = frozenset(
    {"no_check_env", "resume", "overwrite", "dry_run", "verbose", "oversubscribe"}
)
# Switches that set an experiment key: only an explicit flag (True) overrides the file.
_KEY_SWITCHES = frozenset({"oversubscribe"})

# Where each flag lands in the experiment file.
_PATHS: dict[str, tuple[str, ...]] = {
    "env": ("env",),
    "env_config": ("env_config",),
    "env_packages": ("env_packages",),
    "algo": ("algo",),
    "policies": ("policies",),
    "seed": ("seed",),
    "name": ("name",),
    "output": ("output",),
    "preset": ("preset",),
    "num_cpus": ("resources", "num_cpus"),
    "num_gpus": ("resources", "num_gpus"),
    "oversubscribe": ("resources", "oversubscribe"),
    "address": ("resources", "address"),
    "stop_reward": ("stop", "reward"),
    "stop_iters": ("stop", "iters"),
    "stop_timesteps": ("stop", "timesteps"),
    "stop_time": ("stop", "time_s"),
    "checkpoint_every": ("checkpoint", "every"),
    "eval_every": ("evaluation", "every"),
    "eval_episodes": ("evaluation", "episodes"),
    "mlflow": ("tracking", "mlflow", "uri"),
    "wandb": ("tracking", "wandb", "project"),
}


def option(key: str, help: str | None = None, *, alias: bool = True) -> Any:
    """The ``typer.Option`` of the shared flag ``key`` (a parameter's default).

    ``help`` replaces the usual help text; ``alias=False`` leaves out a second name.
    """
    names = _NAMES[key] if alias or key == "verbose" else _NAMES[key][:1]
    default = False if key in _SWITCHES else None
    return typer.Option(default, *names, help=help or _HELP[key], hidden=key in _HIDDEN)


def flag_overrides(**flags: Any) -> dict[str, Any]:
    """Only the flags that were given (not None), placed at their experiment-file paths."""
    out: dict[str, Any] = {}
    for key, value in flags.items():
        if value is None or (key in _KEY_SWITCHES and value is False):
            continue
        node = out
        *parents, leaf = _PATHS[key]
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
