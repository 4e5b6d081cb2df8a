"""``rlscale train``: parse flags, call the library, show progress."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from rlscale.cli.common import (
    command_line,
    print_how_to_connect,
    print_plan_table,
    print_policy_settings,
    setup_logging,
    stop_cleanly_on_signals,
)
from rlscale.cli.options import flag_overrides, with_flags
from rlscale.cli.progress import ProgressPrinter, process_start
from rlscale.envs.spaces import describe_space
from rlscale.startup_times import mark


class _PlainDumper(yaml.SafeDumper):
    """Shows objects in RLlib's config (a multi-agent run's spaces, module specs) as text."""


_PlainDumper.add_multi_representer(object, lambda d, o: d.represent_str(str(o)))


def _print_policies(console: Console, job: Any) -> None:
    from rlscale.algos.policies import plan_policies, policy_masks

    plan = plan_policies(job.exp.policies, job.exp.policies_to_train, job.env.agents)
    masks = policy_masks(plan, job.env.agents, job.exp.action_mask.key)
    for policy in plan.policies:
        trains = "" if policy in plan.to_train else "  (not trained)"
        console.print(f"         policy {policy}: {', '.join(plan.agents_of(policy))}{trains}",
                      markup=False)
        if policy in masks:
            console.print(f"           action mask: {masks[policy].describe()}", markup=False)


def _print_plan(console: Console, job: Any) -> None:
    from rlscale.algos import config_diff
    from rlscale.algos.spaces import observation_connector
    from rlscale.envs.images import env_image_plan
    from rlscale.envs.masks import find_action_mask

    console.print(f"[bold]Run[/bold]      {job.run_dir.path}")
    console.print("[bold]Env[/bold]      ", end="")
    if job.env.agents is not None:
        from rlscale.envs.multiagent_check import describe_agents

        obs, act = describe_agents(job.env.agents)
        console.print(f"{job.env.spec}  observations {obs}; actions {act}", markup=False)
    else:
        console.print(f"{job.env.spec}  observations "
                      f"{describe_space(job.env.observation_space)}, "
                      f"actions {describe_space(job.env.action_space)}", markup=False)
    if job.env.env_config:
        console.print(f"         env_config {job.env.env_config}", markup=False)
    for ref in job.env.env_wrappers:
        console.print(f"         wrapper {ref.path}{' ' + str(ref.kwargs) if ref.kwargs else ''}",
                      markup=False)
    print_how_to_connect(console, job, job.env.env_config)
    image = env_image_plan(job.env)
    mask = find_action_mask(job.env.observation_space, job.env.action_space,
                            job.exp.action_mask.key)
    if image is not None:
        model = job.exp.algo_config.get("model") or {}
        console.print(f"         observations: {image.describe(bool(model.get('conv_filters')))}",
                      markup=False)
    if mask is not None:
        console.print(f"         action mask: {mask.describe()}", markup=False)
    elif image is None and observation_connector(job.env.observation_space) is not None:
        console.print("         observations flattened (discrete parts one-hot) by RLlib's "
                      "FlattenObservations connector")
    model = getattr(job.algo_config, "model_config", None) or {}
    if isinstance(model, dict) and model.get("use_lstm"):
        console.print(f"         memory: an LSTM of {model.get('lstm_cell_size')} units, trained "
                      f"on sequences of {model.get('max_seq_len')} steps; evaluate and export "
                      "carry its state", markup=False)
    if job.env.agents is not None:
        _print_policies(console, job)
    console.print(f"[bold]Algo[/bold]     {job.algo.name}   preset: {job.preset or 'none'}")
    console.print("[bold]Plan[/bold]")
    print_plan_table(console, job.plan)
    _print_node_checks(console, job)
    stop = {k: v for k, v in job.exp.stop.model_dump().items() if v is not None}
    console.print(f"[bold]Stop[/bold]     {stop or 'none: trains until Ctrl-C'}")
    print_policy_settings(console, job.exp)
    console.print("[bold]RLlib config[/bold] (settings that differ from RLlib's defaults)")
    diff = config_diff(job.algo, job.algo_config)
    text = yaml.dump(diff, Dumper=_PlainDumper, sort_keys=True, default_flow_style=False,
                     width=88)
    for line in text.splitlines():
        console.print(f"  {line}", markup=False)


def _print_node_checks(console: Console, job: Any) -> None:
    from rlscale.runners.preflight import describe_checks

    if job.node_checks:
        console.print(describe_checks(job.node_checks), markup=False)


def _print_start(console: Console, job: Any) -> None:
    _print_node_checks(console, job)
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


@with_flags("train")
def train(
    experiment: Path | None = typer.Argument(
        None, help="Experiment YAML file (every flag has a key there).", show_default=False
    ),
    **flags: Any,
) -> None:
    """Train an agent: any Gymnasium env, any online RLlib algorithm, every core used."""
    start = process_start()
    verbose = flags["verbose"]
    setup_logging(verbose)
    mark("command line parsed (interpreter, CLI imports)")
    from rlscale.algos.policies import parse_policies_flag
    from rlscale.cli.check_env import parse_env_config
    from rlscale.runners import launch
    from rlscale.runners.stopping import request_stop

    mark("rlscale's runners imported")

    overrides = flag_overrides("train", {
        **flags, "env_config": parse_env_config(flags["env_config"]),
        "policies": parse_policies_flag(flags["policies"]),
    })
    console = Console(highlight=False, soft_wrap=True)
    common: dict[str, Any] = {"overrides": overrides, "sets": flags["sets"] or [],
                              "resume": flags["resume"], "overwrite": flags["overwrite"],
                              "check_env": not flags["no_check_env"], "verbose": verbose}
    if flags["predict"] and not flags["dry_run"]:
        from rlscale.errors import ConfigError

        raise ConfigError("--predict goes with --dry-run (it trains only a short pilot)")
    if flags["dry_run"]:
        _print_plan(console, launch.plan(experiment, **common))
        if flags["predict"]:
            from rlscale.cli.scaling import print_scaling
            from rlscale.runners.predict import PILOT_ITERS, predict_scaling

            console.print(f"Predicting scaling: the run's own figures if it trained, else a "
                          f"pilot of {PILOT_ITERS} iterations (in a temporary folder) ...")
            pilot = {k: v for k, v in common.items() if k != "overwrite"}
            print_scaling(console, predict_scaling(experiment, **pilot))
        return
    printer = ProgressPrinter(console, start)
    with stop_cleanly_on_signals(
        console, "Stopping after this iteration and saving a checkpoint", request_stop
    ) as take_signals:

        def on_start(job: Any) -> None:  # Ray is up: its SIGTERM handler is replaced
            take_signals()
            _print_start(console, job)

        summary = launch.train(
            experiment, **common, engine=flags["engine"] or launch.Engine.AUTO, on_start=on_start,
            on_result=printer.row, command=command_line(),
        )
    run_dir = Path(summary.run_dir) if summary.run_dir else None
    printer.summary(summary, str(run_dir))
    from rlscale.results.throughput import bound_line

    bound = bound_line(summary.throughput)
    if bound:
        console.print(bound, markup=False)
    from rlscale.results.summary import INTERRUPTED

    if summary.status == INTERRUPTED and run_dir is not None:
        console.print(
            f"\nInterrupted at iteration {summary.iterations}; checkpoint saved. Resume with:\n"
            f"  rlscale train {shlex.quote(str(run_dir / 'config.yaml'))} --resume"
        )
        raise typer.Exit(130)
