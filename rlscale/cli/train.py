"""``rlscale train``: parse flags, call the library, show progress."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from rlscale.cli.app import setup_logging, stop_cleanly_on_signals
from rlscale.cli.options import flag_overrides, option
from rlscale.cli.progress import ProgressPrinter, process_start
from rlscale.envs.resolve import describe_space


def print_plan_table(console: Console, plan: Any) -> None:
    """The resource plan's settings, then the reasons for them."""
    for key in ("total_cpus", "num_env_runners", "num_envs_per_env_runner",
                "num_cpus_per_env_runner", "num_cpus_for_main_process", "num_learners",
                "num_gpus_per_learner", "torch_threads"):
        console.print(f"  {key:<26} {getattr(plan, key)}")
    for reason in plan.reasons:
        console.print(f"  - {reason}")


def _print_plan(console: Console, job: Any) -> None:
    from rlscale.algos import config_diff
    from rlscale.algos.spaces import observation_connector

    console.print(f"[bold]Run[/bold]      {job.run_dir.path}")
    console.print("[bold]Env[/bold]      ", end="")
    console.print(f"{job.env.spec}  observations {describe_space(job.env.observation_space)}, "
                  f"actions {describe_space(job.env.action_space)}", markup=False)
    if job.env.env_config:
        console.print(f"         env_config {job.env.env_config}", markup=False)
    if observation_connector(job.env.observation_space) is not None:
        console.print("         observations flattened (discrete parts one-hot) by RLlib's "
                      "FlattenObservations connector")
    console.print(f"[bold]Algo[/bold]     {job.algo.name}   preset: {job.preset or 'none'}")
    console.print("[bold]Plan[/bold]")
    print_plan_table(console, job.plan)
    stop = {k: v for k, v in job.exp.stop.model_dump().items() if v is not None}
    console.print(f"[bold]Stop[/bold]     {stop or 'none: trains until Ctrl-C'}")
    console.print("[bold]RLlib config[/bold] (settings that differ from RLlib's defaults)")
    diff = config_diff(job.algo, job.algo_config)
    text = yaml.safe_dump(diff, sort_keys=True, default_flow_style=False, width=88)
    for line in text.splitlines():
        console.print(f"  {line}", markup=False)


def train(
    experiment: Path | None = typer.Argument(
        None, help="Experiment YAML file (every flag has a key there).", show_default=False
    ),
    env: str | None = option("env"),
    env_config: str | None = option("env_config"),
    env_packages: list[str] | None = option("env_packages"),
    no_check_env: bool = option("no_check_env"),
    algo: str | None = option("algo"),
    num_cpus: int | None = option("num_cpus"),
    num_gpus: float | None = option("num_gpus"),
    stop_reward: float | None = option("stop_reward"),
    stop_iters: int | None = option("stop_iters"),
    stop_timesteps: int | None = option("stop_timesteps"),
    stop_time: float | None = option("stop_time"),
    seed: int | None = option("seed"),
    sets: list[str] | None = option("sets"),
    output: str | None = option("output"),
    name: str | None = option("name"),
    checkpoint_every: int | None = option("checkpoint_every"),
    preset: str | None = option("preset"),
    resume: bool = option("resume"),
    overwrite: bool = option("overwrite"),
    address: str | None = option("address"),
    dry_run: bool = option("dry_run"),
    verbose: bool = option("verbose"),
) -> None:
    """Train an agent: any Gymnasium env, any online RLlib algorithm, every core used."""
    start = process_start()
    setup_logging(verbose)
    from rlscale.runners.session import quiet_ray_environment

    quiet_ray_environment(verbose)
    from rlscale.cli.check_env import parse_env_config
    from rlscale.config import resolve_experiment
    from rlscale.runners import prepare_job, run_mode
    from rlscale.runners.cluster import (
        alive_nodes,
        check_plan_fits,
        connect_cluster,
        slurm_allocation,
    )
    from rlscale.runners.session import preload, start_local_ray, stop_ray

    flags = flag_overrides(
        env=env, env_config=parse_env_config(env_config), env_packages=env_packages or None,
        algo=algo, num_cpus=num_cpus, num_gpus=num_gpus, stop_reward=stop_reward,
        stop_iters=stop_iters, stop_timesteps=stop_timesteps, stop_time=stop_time, seed=seed,
        output=output, name=name, checkpoint_every=checkpoint_every, preset=preset,
        address=address,
    )
    exp, preset_name = resolve_experiment(experiment, sets or [], flags)
    mode = run_mode(resume, overwrite)
    console = Console(highlight=False, soft_wrap=True)
    cluster = exp.resources.address
    if cluster is None and dry_run:
        _print_plan(console, prepare_job(exp, preset_name, mode, slurm_allocation(),
                                         check_env=not no_check_env))
        return
    if cluster is None:
        # Ray starts as soon as the plan is known, while PyTorch and pandas are imported
        # in the background; RLlib's config, built next, is checked once Ray is up.
        preload()
        try:
            job = prepare_job(
                exp, preset_name, mode, slurm_allocation(), check_env=not no_check_env,
                on_plan=lambda plan: start_local_ray(
                    plan.total_cpus, plan.gpus_to_reserve, verbose,
                    torch_threads=plan.torch_threads,
                ),
            )
            _train(job, console, start)
        finally:
            stop_ray()
        return
    # An existing cluster: its resources decide the plan, and a plan that cannot be
    # placed is refused here rather than left PENDING.
    try:
        capacity = connect_cluster(cluster, verbose)
        job = prepare_job(exp, preset_name, mode, capacity, check_env=not no_check_env)
        check_plan_fits(job.plan, alive_nodes())
        if dry_run:
            _print_plan(console, job)
            return
        _train(job, console, start)
    finally:
        stop_ray()


def _train(job: Any, console: Console, start: float) -> None:
    from rlscale.results.summary import INTERRUPTED
    from rlscale.runners import request_stop, run_job
    from rlscale.runners.session import stop_ray

    printer = ProgressPrinter(console, start)
    plan = job.plan
    sampling = (
        f"{plan.num_env_runners} env runner(s) x {plan.num_envs_per_env_runner} env(s)"
        if plan.num_env_runners
        else f"{plan.num_envs_per_env_runner} env(s) in the main process"
    )
    where = f" on Ray cluster {job.exp.resources.address}" if job.exp.resources.address else ""
    console.print(
        f"Training {job.algo.name} on {job.env.spec}{where}: {sampling}, {plan.total_cpus} core(s)"
        f"{', preset ' + job.preset if job.preset else ''} -> {job.run_dir.path}"
    )

    command = shlex.join(["rlscale", *sys.argv[1:]])
    with stop_cleanly_on_signals(
        console, "Stopping after this iteration and saving a checkpoint", request_stop
    ):
        summary = run_job(job, command, on_result=printer.row)
    stop_ray()
    printer.summary(summary, str(job.run_dir.path))
    if summary.status == INTERRUPTED:
        console.print(
            f"\nInterrupted at iteration {summary.iterations}; checkpoint saved. Resume with:\n"
            f"  rlscale train {shlex.quote(str(job.run_dir.path / 'config.yaml'))} --resume"
        )
        raise typer.Exit(130)
