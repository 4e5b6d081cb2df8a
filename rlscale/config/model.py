"""The typed experiment model: one field per YAML key and per ``--set`` path."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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


class StopConfig(_Strict):
    """Stop criteria: the first one reached stops the run."""

    reward: float | None = Field(None, description="Mean episode return to reach.")
    iters: int | None = Field(None, ge=1, description="Training iterations.")
    timesteps: int | None = Field(None, ge=1, description="Environment steps sampled.")
    time_s: float | None = Field(None, gt=0, description="Wall-clock seconds of training.")

    def is_empty(self) -> bool:
        """True when no criterion is set (the run trains until interrupted)."""
        return all(v is None for v in self.model_dump().values())


class CheckpointSettings(_Strict):
    """When checkpoints are written (always one at the end)."""

    every: int = Field(10, ge=0, description="Checkpoint every N iterations (0: only at end).")


class ExperimentConfig(_Strict):
    """A complete experiment: what to train, how, where, and until when."""

    env: str = Field(description="Gymnasium id, module:Class or file.py:Class.")
    env_config: dict[str, Any] = Field(default_factory=dict)
    env_packages: list[str] = Field(
        default_factory=list, description="Packages imported first to register env ids."
    )
    algo: str = Field("PPO", description="RLlib algorithm name.")
    algo_config: dict[str, Any] = Field(
        default_factory=dict, description="Settings passed to RLlib's AlgorithmConfig."
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
    seed: int | None = None
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    stop: StopConfig = Field(default_factory=StopConfig)
    checkpoint: CheckpointSettings = Field(default_factory=CheckpointSettings)
    name: str | None = Field(None, description="Run name (default <env>-<algo>-<time>).")
    output: str = Field("rlscale_runs", description="Folder that holds run directories.")
    search: dict[str, Any] = Field(
        default_factory=dict,
        description="Sweep only: dotted key -> {grid|choice|uniform|loguniform|randint|quniform: "
        "...}, plus seeds: K (see rlscale.config.search).",
    )
