"""A training job: everything decided and checked before Ray starts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rlscale.algos import (
    AlgoInfo,
    ResourcePlan,
    check_action_space,
    get_algo,
    plan_resources,
)
from rlscale.algos.evaluation import check_evaluation
from rlscale.algos.normalize import check_observation_normalization
from rlscale.algos.plan import scale_batch
from rlscale.algos.sampling import async_algo_config, choose_sampling
from rlscale.config.model import ExperimentConfig
from rlscale.config.presets import is_generic, multiagent_preset, preset_for
from rlscale.envs import ResolvedEnv, resolve_env
from rlscale.envs.check import require_env_ok
from rlscale.envs.external_settings import parse_settings as external_settings
from rlscale.envs.spec import canonical_spec
from rlscale.errors import ConfigError, ResourceError, RunDirError
from rlscale.results.rundir import (
    CONFIG_FILE,
    NEW,
    OVERWRITE,
    RESUME,
    OutputDir,
    RunDir,
    UnreadableFile,
    check_output_folder,
    read_config_file,
    read_summary,
)
from rlscale.results.summary import SUMMARY_FILE
from rlscale.runners.session import Capacity, local_capacity
from rlscale.runners.tracking import check_tracking

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig


@dataclass
class TrainingJob:
    """A validated experiment with its env, algorithm, plan, RLlib config and run dir."""

    exp: ExperimentConfig
    preset: str | None
    env: ResolvedEnv
    algo: AlgoInfo
    plan: ResourcePlan
    algo_config: AlgorithmConfig
    run_dir: RunDir
    mode: str
    # What the env check on each cluster node found (rlscale.runners.preflight), if run.
    node_checks: list[Any] | None = None

    def resolved_config(self) -> dict[str, Any]:
        """The experiment as stored in ``config.yaml``: enough to rerun it exactly (where it
        ran, a cluster address that will not outlive the job, is not part of it)."""
        return self.exp.model_dump(mode="json", exclude={"resources": {"address"}})


def run_mode(resume: bool, overwrite: bool) -> str:
    """``new``, ``resume`` or ``overwrite`` from the two flags."""
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite cannot be used together")
    return RESUME if resume else OVERWRITE if overwrite else NEW


def canonical_experiment(exp: ExperimentConfig) -> tuple[ExperimentConfig, AlgoInfo]:
    """The experiment with the algorithm's own name, and a file-path env recorded with its
    absolute path (config.yaml reruns from anywhere); the algorithm RLlib trains (APPO for
    PPO with ``sampling: async``: see rlscale.algos.sampling)."""
    algo = get_algo(exp.algo)
    exp = exp.model_copy(update={"algo": algo.name, "env": canonical_spec(exp.env)})
    return exp, choose_sampling(algo, exp.sampling).algo


OutputDirT = TypeVar("OutputDirT", bound=OutputDir)


def place_output(
    exp: ExperimentConfig, mode: str, kind: type[OutputDirT]
) -> tuple[ExperimentConfig, OutputDirT]:
    """Name the run (or sweep: ``kind``) and make its output folder absolute; check its
    directory against ``mode`` before anything is written."""
    if mode == RESUME and exp.name is None:
        file = kind.RERUN_FILE
        raise ConfigError(
            f"--resume needs the {kind.KIND} to continue: pass its {file} "
            f"(rlscale {kind.COMMAND} {kind.KIND.upper()}_DIR/{file} --resume) or --name NAME"
        )
    name = exp.name or kind.default_name(exp.env, exp.algo)
    try:
        output = str(Path(exp.output).expanduser().resolve())
    except (OSError, RuntimeError) as exc:  # a link loop, a home that does not exist
        raise RunDirError(f"output folder {exp.output}: {exc}") from None
    exp = exp.model_copy(update={"name": name, "output": output})
    directory = kind(Path(output) / name)
    check_output_folder(Path(output))
    if directory.path.exists() and not directory.path.is_dir():
        raise RunDirError(f"{directory.path} is a file, not a {kind.KIND} directory")
    directory.check_mode(mode)
    return exp, directory


# A local run may ask for more cores than the machine has (oversubscribed, e.g. envs that
# wait on I/O), but not this many times more without saying so.
OVERSUBSCRIBE_FACTOR = 4


def check_cpus_within_reach(asked: int | None, capacity: Capacity, oversubscribe: bool) -> None:
    """Refuse ``--num-cpus`` above :data:`OVERSUBSCRIBE_FACTOR` times the machine's cores
    (as many Ray processes would start) unless ``oversubscribe`` is set."""
    if asked is None or oversubscribe or not capacity.may_oversubscribe:
        return
    limit = OVERSUBSCRIBE_FACTOR * capacity.cpus
    if asked > limit:
        raise ResourceError(
            f"--num-cpus {asked} is more than {OVERSUBSCRIBE_FACTOR}x the {capacity.cpus} "
            f"core(s) of this machine (at most {limit}): that many processes would start; "
            "pass --oversubscribe (resources.oversubscribe: true) if you mean it"
        )


# Called with the plan; may return a callable to call before the RLlib config is built
# (e.g. starting Ray in the background, then waiting for it).
PlanHook = Callable[[ResourcePlan], Callable[[], None] | None]


def build_run(
    exp: ExperimentConfig,
    algo: AlgoInfo,
    capacity: Capacity,
    check_env: bool = False,
    on_plan: PlanHook | None = None,
) -> tuple[ExperimentConfig, ResolvedEnv, ResourcePlan, AlgorithmConfig]:
    """Resolve the env, plan the resources and build the RLlib config of one run.

    ``algo`` is the algorithm RLlib trains (:func:`canonical_experiment`'s); the user's
    ``algo_config`` is checked against the experiment's own (``exp.algo``) and, for PPO with
    ``sampling: async``, carried over to APPO. ``check_env`` runs the fast part of
    ``rlscale check-env`` on the environment; ``on_plan`` is called with the plan before
    anything imports RLlib: checking ``algo_config`` against RLlib's config and building it
    come last, so that Ray can start while RLlib is imported (see :data:`PlanHook`).
    Returns the experiment with the planned cores recorded in ``resources.num_cpus``.
    """
    own = get_algo(exp.algo)
    sampling = choose_sampling(own, exp.sampling)
    res = exp.resources
    check_cpus_within_reach(res.num_cpus, capacity, res.oversubscribe)
    env = resolve_env(exp.env, exp.env_config, exp.env_packages, exp.env_wrappers)
    if env.is_multiagent:  # --preset auto: ALGO/multiagent in place of ALGO/default
        exp = multiagent_preset(exp)
    check_tracking(exp)  # MLflow / W&B installed, MLflow's store opens (runners.tracking)
    check_evaluation(exp)  # stop.on: eval needs evaluation.every (algos.evaluation)
    check_observation_normalization(env.observation_space, exp.normalize.obs)
    check_action_space(algo, env.action_space)
    num_env_runners, envs_per_runner, num_envs, step_time_us = _env_counts(exp, env, check_env)
    plan = plan_resources(
        nodes=capacity.node_list(),
        num_cpus=res.num_cpus,
        num_gpus=res.num_gpus,
        on_policy=algo.on_policy,
        synchronous=algo.synchronous,
        num_env_runners=num_env_runners,
        num_envs_per_env_runner=envs_per_runner,
        num_envs=num_envs,
        may_oversubscribe=capacity.may_oversubscribe,
        env_step_time_us=step_time_us,
        external=env.is_external,
    )
    # Record the cores actually planned, so config.yaml reruns the same plan.
    exp = exp.model_copy(
        update={"resources": res.model_copy(update={"num_cpus": plan.total_cpus})}
    )
    ready = on_plan(plan) if on_plan is not None else None
    # algo_config's keys, types and ranges (RLlib is imported here), then the batch.
    from rlscale.algos.build import build_algo_config, validate_algo_config

    checked = validate_algo_config(own, exp.algo_config, warn=False)
    if own.on_policy:
        exp, plan = _scale_batch(exp, own, plan)
        if BATCH_KEY in exp.algo_config:  # the batch, grown or not, as the plan has it
            checked[BATCH_KEY] = exp.algo_config[BATCH_KEY]
    settings, sampling = async_algo_config(
        sampling, exp.algo_config, plan.num_envs_per_env_runner * plan.sampling_processes,
        _batch(exp, own))
    plan = dataclasses.replace(plan, sampling=sampling)
    if ready is not None:
        ready()
    if algo.name != own.name:  # PPO as APPO (sampling: async): PPO's settings carried over
        checked = validate_algo_config(algo, settings, warn=False)
    return exp, env, plan, build_algo_config(exp, algo, env, plan, overrides=checked)


def _env_counts(
    exp: ExperimentConfig, env: ResolvedEnv, check_env: bool
) -> tuple[int | None, int | None, int | None, float | None]:
    """What the plan is given of the envs: env runners, envs per runner and envs in all as
    the user set them, and the env's measured step time (``check_env``: the fast part of
    ``rlscale check-env``). An external env has one env per simulator connection, sampled
    in the main process unless the user spreads them over env runners (one port each); its
    steps need a connected simulator, so it is not stepped here."""
    res = exp.resources
    if not env.is_external:
        step_time_us = None
        if check_env:
            report = require_env_ok(env)
            step_time_us = report.step_time_median_us or report.step_time_us
        return res.num_env_runners, res.num_envs_per_env_runner, res.num_envs, step_time_us
    simulators = external_settings(env.env_config).simulators
    return res.num_env_runners, simulators, None, None


BATCH_KEY = "train_batch_size_per_learner"
# Keys with which a user decides the batch or its fragments: then it is theirs.
USER_BATCH_KEYS = (BATCH_KEY, "train_batch_size", "rollout_fragment_length")


def user_set_batch(exp: ExperimentConfig) -> bool:
    """Whether the user set the batch or its fragments: what ``resolve_experiment``
    recorded (``exp.user_keys()``), never a comparison of values. An experiment not merged
    from layers (no preset in it) holds only its caller's keys."""
    user = exp.user_keys()
    if user is None:
        return any(k in exp.algo_config for k in USER_BATCH_KEYS)
    return any(f"algo_config.{k}" in user for k in USER_BATCH_KEYS)


def _scale_batch(
    exp: ExperimentConfig, algo: AlgoInfo, plan: ResourcePlan
) -> tuple[ExperimentConfig, ResourcePlan]:
    """Grow a batch the user did not set (the preset's or RLlib's) with the plan's envs.

    Who set the batch is what ``resolve_experiment`` recorded (``exp.user_keys()``), never
    a comparison of values: a user's batch equal to the preset's is the user's. An
    experiment not merged from layers (no preset in it) holds only its caller's keys.
    """
    mine = exp.algo_config
    grown, why = scale_batch(plan, _batch(exp, algo), user_set_batch(exp),
                             minibatch=_minibatch(exp, algo), tuned=_env_preset(exp))
    if why is None:
        return exp, plan
    exp = exp.model_copy(update={"algo_config": {**mine, BATCH_KEY: grown}})
    return exp, dataclasses.replace(plan, reasons=(*plan.reasons, why))


def _env_preset(exp: ExperimentConfig) -> bool:
    """Whether ``exp``'s preset was tuned for its env (not the algorithm's generic one)."""
    name = preset_for(exp.algo, str(exp.env)) if exp.preset == "auto" else exp.preset
    return name not in (None, "none") and not is_generic(str(name))


def _minibatch(exp: ExperimentConfig, algo: AlgoInfo) -> int | None:
    """The learner's minibatch of ``exp``: its own, else RLlib's default for ``algo``."""
    if "minibatch_size" in exp.algo_config:
        value = exp.algo_config["minibatch_size"]
    else:  # a fresh RLlib config only when the experiment has none (as _batch)
        value = getattr(algo.config(), "minibatch_size", None)
    return int(value) if isinstance(value, int) else None


def _batch(exp: ExperimentConfig, algo: AlgoInfo) -> int:
    """The train batch of ``exp``: its own, else RLlib's default for ``algo``."""
    if BATCH_KEY in exp.algo_config:
        return int(exp.algo_config[BATCH_KEY])
    fresh = algo.config()
    return int(fresh.train_batch_size_per_learner or fresh.train_batch_size)


def prepare_job(
    exp: ExperimentConfig,
    preset: str | None = None,
    mode: str = NEW,
    capacity: Capacity | None = None,
    check_env: bool = True,
    on_plan: PlanHook | None = None,
) -> TrainingJob:
    """Check everything, and write nothing.

    ``check_env`` runs the fast part of ``rlscale check-env`` on the environment.
    ``on_plan`` (e.g. starting Ray with the planned cores) is called before the RLlib
    config is built; without it nothing here needs Ray.
    """
    exp, algo = canonical_experiment(exp)
    if exp.search:
        raise ConfigError(
            "the experiment has a search block: run it with rlscale sweep "
            "(train trains one configuration)"
        )
    exp, run_dir = place_output(exp, mode, RunDir)
    if mode == RESUME:
        if not (run_dir.path / CONFIG_FILE).is_file():
            raise RunDirError(f"cannot resume {run_dir.path}: its {CONFIG_FILE} is missing")
        try:
            stored = read_config_file(run_dir.path)
        except UnreadableFile as exc:
            raise RunDirError(f"cannot resume {run_dir.path}: its {CONFIG_FILE} is "
                              f"unreadable ({exc.reason})") from None
        for key in ("env", "algo"):
            if stored.get(key) != getattr(exp, key):
                raise ConfigError(
                    f"cannot resume {run_dir.path}: it trained {key} {stored.get(key)!r}, "
                    f"not {getattr(exp, key)!r}"
                )
        if not (run_dir.path / SUMMARY_FILE).is_file():
            raise RunDirError(f"cannot resume {run_dir.path}: it has no {SUMMARY_FILE} "
                              "(it never started training)")
        try:
            previous = read_summary(run_dir.path)
        except UnreadableFile as exc:
            raise RunDirError(f"cannot resume {run_dir.path}: its {SUMMARY_FILE} is "
                              f"unreadable ({exc.reason})") from None
        if previous.latest_checkpoint() is None:
            raise RunDirError(f"cannot resume {run_dir.path}: it has no checkpoint yet")

    exp, env, plan, algo_config = build_run(
        exp, algo, capacity or local_capacity(), check_env=check_env, on_plan=on_plan
    )
    if preset is not None and exp.preset != preset:  # the multi-agent preset took its place
        preset = exp.preset
    return TrainingJob(exp, preset, env, algo, plan, algo_config, run_dir, mode)
