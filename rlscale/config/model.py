"""The typed experiment model: one field per YAML key and per ``--set`` path."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

# The longest file name most file systems take.
MAX_NAME = 255


class _Strict(BaseModel):
    # NaN and infinity are refused in every number field (a NaN target is never reached).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class ResourcesConfig(_Strict):
    """Where and on how much hardware the run trains."""

    num_cpus: int | None = Field(
        None, ge=1, description="Total cores the run may use, driver and learner included "
        "(default: every core Ray sees)."
    )
    num_gpus: float = Field(0.0, ge=0, description="GPUs for the learner (fractions allowed).")
    num_env_runners: int | None = Field(
        None, ge=0, description="Override the planned number of env runners."
    )
    num_envs_per_env_runner: int | None = Field(
        None, ge=1, description="Override the planned number of vectorized envs per runner."
    )
    num_envs: int | None = Field(
        None, ge=1, description="Envs in all, spread evenly over the sampling processes "
        "(num_envs_per_env_runner, if set, wins)."
    )
    address: str | None = Field(
        None, description="Existing Ray cluster (HOST:PORT); default: start Ray locally."
    )
    oversubscribe: bool = Field(
        False, description="Allow num_cpus above 4x the machine's cores (a local run)."
    )
    sample_at_once: bool = Field(
        True, description="A local run with env runners samples in the main process while "
        "they start, and hands over to them once they are up (false: wait for them; an "
        "external simulator's run and an asynchronous one (APPO, IMPALA, sampling: async) "
        "always wait)."
    )


class StopConfig(_Strict):
    """Stop criteria: the first one reached stops the run."""

    reward: float | None = Field(
        None, description="Stop when the mean episode return reaches this."
    )
    iters: int | None = Field(None, ge=1, description="Stop after N iterations.")
    timesteps: int | None = Field(None, ge=1, description="Stop after N env steps.")
    time_s: float | None = Field(
        None, gt=0, description="Stop after this many seconds of wall-clock time from the "
        "moment Ray is up (a sweep: seconds of training per trial); an evaluation in "
        "progress is cut."
    )
    on: Literal["train", "eval", "per_step"] | None = Field(
        None, description="Which figure stop.reward judges: train (the training episodes' "
        "mean return, the default), eval (the last evaluation's; needs evaluation.every) or "
        "per_step (the mean reward per env step of the iteration's samples: a continuing "
        "task, whose episodes never end)."
    )


class CheckpointSettings(_Strict):
    """When checkpoints are written (always one at the end)."""

    every: int = Field(10, ge=0, description="Checkpoint every N iterations (0: only at end).")


# --- Issue 19: evaluation, normalization, tracking (env_wrappers is an ExperimentConfig key).


class EvaluationSettings(_Strict):
    """Evaluation during training: greedy episodes on separate env runners."""

    every: int = Field(0, ge=0, description="Evaluate every N iterations (0: never).")
    episodes: int = Field(10, ge=1, description="Episodes per evaluation.")
    explore: bool = Field(False, description="Sample actions instead of acting greedily.")
    max_episode_steps: int | None = Field(
        None, ge=1, description="Steps after which an evaluation episode is cut (truncated) "
        "[default: the env's own time limit, else 1000]. Bounds every evaluation, and is the "
        "horizon of a continuing task's evaluation return.",
    )


class NormalizeSettings(_Strict):
    """Running normalization, saved with every checkpoint and applied by evaluate/export."""

    obs: bool = Field(False, description="Observations by a running mean and std "
                      "(RLlib's MeanStdFilter connector).")


class ExplorationSettings(_Strict):
    """How a Gaussian policy (continuous actions) explores at the start."""

    log_std_init: float | None = Field(
        None, ge=-20, le=2, description="Initial log standard deviation of the actions "
        "(SB3's log_std_init; RLlib starts at 0, a standard deviation of 1). Makes the "
        "log-std a learned parameter of its own (RLlib's free_log_std). PPO, APPO, IMPALA.",
    )


class ActionMaskSettings(_Strict):
    """Discrete actions an env marks illegal in its ``Dict`` observation (PettingZoo's
    convention), masked out of the policy's choices."""

    key: str | None = Field(
        "action_mask", min_length=1, description="The observation key that holds the mask "
        "(1: legal, 0: illegal; one entry per action, or per MultiDiscrete choice); found "
        "from the spaces. null: no masking (the key is then an ordinary observation).",
    )


class MlflowSettings(_Strict):
    """An MLflow tracking server or store."""

    uri: str = Field(description="Track the run in MLflow at this URI (a folder, file:/..., "
                     "http://...).")
    experiment: str | None = Field(None, description="MLflow experiment [default: run name].")


class WandbSettings(_Strict):
    """A Weights & Biases project."""

    project: str = Field(description="Track the run in this Weights & Biases project "
                         "(tracking.wandb.mode: offline for nodes without internet).")
    mode: Literal["online", "offline"] = Field(
        "online", description="offline: write run files only (wandb sync them later)."
    )
    group: str | None = Field(None, description="W&B group [default: the sweep's name].")
    entity: str | None = Field(None, description="W&B entity (team or user).")


class TrackingSettings(_Strict):
    """Experiment trackers every trial reports to."""

    mlflow: MlflowSettings | None = None
    wandb: WandbSettings | None = None


class FaultsConfig(_Strict):
    """What a crashing or hanging simulator may cost before the run stops."""

    step_timeout_s: float | None = Field(
        30.0, gt=0, description="An env step() or reset() running longer is interrupted and "
        "handled as a crash (null: no limit)."
    )
    max_failed_fraction: float = Field(
        0.95, gt=0, le=1, description="Stop when this share of the last 100 episodes (20 at "
        "least) ended in an env fault."
    )
    max_restarts_without_episode: int = Field(
        50, ge=1, description="Stop after this many env restarts with no episode completed."
    )
    env_runner_restart_delay_s: float = Field(
        1.0, ge=0, description="Wait before restarting a crashed env-runner process."
    )


class ExperimentConfig(_Strict):
    """A complete experiment: what to train, how, where, and until when."""

    # Not a key: the dotted paths the user set (file, --set, flags), as opposed to the
    # preset's, when the experiment was merged (None: not known). The multi-agent preset,
    # chosen once the env is seen, replaces only the preset's settings.
    _user_keys: frozenset[str] | None = PrivateAttr(default=None)

    def user_keys(self) -> frozenset[str] | None:
        """The dotted paths the user set, as opposed to the preset (None: not known)."""
        return self._user_keys

    def with_user_keys(self, keys: frozenset[str]) -> ExperimentConfig:
        """This experiment, knowing which dotted paths the user set."""
        copy = self.model_copy()
        copy._user_keys = keys
        return copy

    env: str = Field(description="Gymnasium id (CartPole-v1), package.module:Class or "
                     "path/to/file.py:Class.")
    env_config: dict[str, Any] = Field(
        default_factory=dict, description="Passed to the env's constructor (on the command "
        "line: a JSON object)."
    )
    env_packages: list[str] = Field(
        default_factory=list, description="Packages imported first to register env ids."
    )
    env_wrappers: list[str | dict[str, dict[str, Any] | None]] = Field(
        default_factory=list, description="Gymnasium wrappers applied in order: "
        "module:Wrapper, or {module:Wrapper: {keyword: value}}."
    )
    algo: str = Field("PPO", description="RLlib algorithm: PPO, APPO, IMPALA, DQN, SAC, TQC.")
    algo_config: dict[str, Any] = Field(
        default_factory=dict, description="Settings passed to RLlib's AlgorithmConfig."
    )
    sampling: Literal["sync", "async"] | None = Field(
        None, description="sync: the env runners wait while the learner updates (PPO's "
        "loop, the default); async: they sample the next batch meanwhile, one batch "
        "off-policy (PPO runs as RLlib's APPO with its settings carried over; APPO and "
        "IMPALA always do). --dry-run says which and why.",
    )
    policies: str | dict[str, str] | None = Field(
        None, description="Multi-agent envs: 'shared' (one policy for all agents; the default "
        "when all have the same spaces), 'per_agent' (one per agent id; the default otherwise), "
        "or agent-id glob pattern -> policy name ({'battery_*': battery}).",
    )
    policies_to_train: list[str] | None = Field(
        None, description="Multi-agent envs: the policies that learn (default: all)."
    )
    preset: str = Field(
        "auto", description="Tuned preset: 'auto' (match env and algo), 'none' or a name."
    )
    seed: int | None = Field(
        None, ge=0, le=2**32 - 1, description="Random seed (NumPy's range: 0 to 2**32 - 1)."
    )
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    stop: StopConfig = Field(default_factory=StopConfig)
    checkpoint: CheckpointSettings = Field(default_factory=CheckpointSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    normalize: NormalizeSettings = Field(default_factory=NormalizeSettings)
    exploration: ExplorationSettings = Field(default_factory=ExplorationSettings)
    action_mask: ActionMaskSettings = Field(default_factory=ActionMaskSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    faults: FaultsConfig = Field(default_factory=FaultsConfig)
    name: str | None = Field(None, description="Run name (default <env>-<algo>-<time>).")
    output: str = Field("rlscale_runs", description="Folder that holds run directories.")
    search: dict[str, Any] = Field(
        default_factory=dict,
        description="Sweep only: dotted key -> {grid|choice|uniform|loguniform|randint|quniform: "
        "...}, plus seeds: K (see rlscale.config.search).",
    )

    @field_validator("name")
    @classmethod
    def _one_folder_name(cls, name: str | None) -> str | None:
        """A run name is one folder inside the output folder: no path of its own."""
        if name is None:
            return name
        if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
            raise ValueError(
                f"a run name is one folder name (no '/', '\\', '..' or absolute path; "
                f"use --output for the folder), got {name!r}"
            )
        if len(name.encode()) > MAX_NAME:
            raise ValueError(f"a run name has at most {MAX_NAME} bytes, got {len(name.encode())}")
        return name

    @field_validator("output")
    @classmethod
    def _a_path(cls, output: str) -> str:
        if not output.strip() or "\0" in output:
            raise ValueError(f"expected a folder path, got {output!r}")
        return output
