"""``rlscale slurm``: write (and submit) a Slurm job that trains on one or many nodes."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from rlscale.cli.common import setup_logging
from rlscale.cli.options import flag_overrides, with_flags


@with_flags("slurm")
def slurm(
    experiment: Path | None = typer.Argument(
        None, help="Experiment YAML file (every train flag has a key there).", show_default=False
    ),
    nodes: int | None = typer.Option(
        None, "--nodes", help="Nodes in all (the GPU node included); required unless --predict.",
        show_default=False),
    cpus_per_node: int | None = typer.Option(
        None, "--cpus-per-node", help="Cores per node [default: whole nodes, --exclusive]."
    ),
    gpus_per_node: int | None = typer.Option(
        None, "--gpus-per-node", help="GPUs per node (with --gpu-learner-node: on the GPU node)."
    ),
    gpu_learner_node: bool = typer.Option(
        False, "--gpu-learner-node",
        help="Heterogeneous job: CPU nodes for env runners, one GPU node for the learner.",
    ),
    time_limit: str = typer.Option(..., "--time", help="Time limit, HH:MM:SS or D-HH:MM:SS."),
    partition: str | None = typer.Option(None, "--partition", help="Slurm partition."),
    gpu_partition: str | None = typer.Option(
        None, "--gpu-partition", help="Partition of the GPU node [default: --partition]."
    ),
    account: str | None = typer.Option(None, "--account", help="Slurm account."),
    qos: str | None = typer.Option(None, "--qos", help="Slurm QOS."),
    setup: str | None = typer.Option(
        None, "--setup", help="Shell lines run first, e.g. 'module load cuda; source "
        "venv/bin/activate' [default: put this rlscale's environment on PATH]."
    ),
    simulator: str | None = typer.Option(
        None, "--simulator", help="Shell command started on every env-runner node beside "
        "Ray, before training: external simulators ($RLSCALE_NODE_INDEX, $RLSCALE_NODES set)."
    ),
    signal_lead: int = typer.Option(
        300, "--signal-lead", help="Seconds before the time limit to checkpoint and requeue."
    ),
    join_timeout: int = typer.Option(
        300, "--join-timeout", help="Seconds to wait for every node to join Ray."
    ),
    submit: bool = typer.Option(False, "--submit", help="Write the script and sbatch it."),
    **flags: Any,
) -> None:
    """Write a Slurm job script for an experiment into its run directory; submit it."""
    verbose, overwrite, dry_run = flags["verbose"], flags["overwrite"], flags["dry_run"]
    setup_logging(verbose)
    from rlscale.errors import ConfigError
    from rlscale.runners import slurm as slurm_runner
    from rlscale.runners.session import quiet_ray_environment

    if dry_run and submit:
        raise ConfigError("--dry-run and --submit cannot be used together")
    console = Console(highlight=False, soft_wrap=True)
    if flags["predict"]:
        nodes, cpus_per_node = _size_from_prediction(console, experiment, nodes, cpus_per_node,
                                                     flags)
    elif nodes is None:
        raise ConfigError("--nodes is required (or --predict, with --cpus-per-node, to size "
                          "the job from the scaling prediction)")
    req = slurm_runner.SlurmRequest(
        nodes=nodes, time=time_limit, cpus_per_node=cpus_per_node,
        gpus_per_node=gpus_per_node, gpu_learner_node=gpu_learner_node, partition=partition,
        gpu_partition=gpu_partition, account=account, qos=qos, setup=setup,
        simulator=simulator,
        signal_lead_s=signal_lead, join_timeout_s=join_timeout,
    )
    slurm_runner.validate_request(req)
    quiet_ray_environment(verbose)
    job, experiment_data = _plan_job(experiment, req, flags)
    run_dir = job.run_dir.path
    script = slurm_runner.render_script(req, run_dir, job.exp.name or run_dir.name)
    path = slurm_runner.write_job(run_dir, script, experiment_data, overwrite)
    if dry_run:
        console.print(script, markup=False, end="")
        return
    if not submit:
        console.print(f"Wrote {path}\nSubmit it with:  sbatch {shlex.quote(str(path))}"
                      "\n(or rerun with --submit)")
        return
    _submit(console, path, req, job, run_dir)


def _size_from_prediction(console: Console, experiment: Path | None, nodes: int | None,
                          cpus_per_node: int | None, flags: dict[str, Any]) -> tuple[int, int]:
    """``--predict``: the nodes and cores per node the scaling prediction supports (a pilot
    trained here first), printed with the reason."""
    from rlscale.algos.policies import parse_policies_flag
    from rlscale.errors import ConfigError
    from rlscale.runners.predict import PILOT_ITERS, size_from_prediction

    if nodes is not None:
        raise ConfigError("--predict sizes the job: leave out --nodes")
    if cpus_per_node is None:
        raise ConfigError("--predict needs --cpus-per-node (the cores of one node)")
    overrides = flag_overrides(
        "slurm", {**flags, "policies": parse_policies_flag(flags["policies"])})
    console.print(f"Predicting scaling: the run's own figures if it trained, else a pilot of "
                  f"{PILOT_ITERS} iterations here (in a temporary folder) ...", markup=False)
    size, report = size_from_prediction(experiment, node_cpus=cpus_per_node,
                                        overrides=overrides, sets=flags["sets"] or [],
                                        check_env=not flags.get("no_check_env", False),
                                        verbose=flags["verbose"])
    console.print(f"Sized from the prediction ({report.source}): {size.nodes} node(s) x "
                  f"{size.cpus_per_node} cores: {size.reason}", markup=False)
    return size.nodes, size.cpus_per_node


def _submit(console: Console, path: Path, req: Any, job: Any, run_dir: Path) -> None:
    """sbatch the written job script ``path`` and say how to follow the job."""
    from rlscale.errors import ResourceError
    from rlscale.runners import slurm as slurm_runner

    try:
        job_id = slurm_runner.submit(path, slurm_runner.request_info(req))
    except ResourceError as exc:
        raise ResourceError(f"{exc} (the job script is written: {path})") from None
    plan = job.plan
    console.print(
        f"Submitted job {job_id}: {req.nodes} node(s), {plan.num_env_runners} env runner(s)"
        f"{', GPU learner node' if req.gpu_learner_node else ''} -> {run_dir}\n"
        f"Follow it with:\n  rlscale status {shlex.quote(str(run_dir))}\n"
        f"  tail -f {shlex.quote(str(run_dir / f'slurm-{job_id}.out'))}"
    )


def _plan_job(
    experiment: Path | None, req: Any, flags: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The job planned against the allocation of ``req`` (a plan that cannot fit fails here,
    not in the queue), and the experiment the job script trains."""
    from rlscale.algos.policies import parse_policies_flag
    from rlscale.config import resolve_experiment
    from rlscale.results.rundir import NEW, OVERWRITE
    from rlscale.runners import prepare_job
    from rlscale.runners import slurm as slurm_runner
    from rlscale.runners.cluster import check_plan_fits

    overrides = flag_overrides(
        "slurm", {**flags, "policies": parse_policies_flag(flags["policies"])})
    exp, preset_name = resolve_experiment(experiment, flags["sets"] or [], overrides)
    experiment_data = slurm_runner.job_experiment(exp, req)
    planned = exp.model_copy(update={"resources": exp.resources.model_copy(
        update={"num_gpus": experiment_data["resources"]["num_gpus"]})})
    job = prepare_job(planned, preset_name, OVERWRITE if flags["overwrite"] else NEW,
                      slurm_runner.allocation_capacity(req, exp.resources.num_cpus))
    allocation = slurm_runner.allocation_nodes(req)
    if allocation is not None:
        check_plan_fits(job.plan, allocation)
    experiment_data["name"], experiment_data["output"] = job.exp.name, job.exp.output
    return job, experiment_data
