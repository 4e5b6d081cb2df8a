"""``rlscale status``: where a run stands (and its Slurm job, for a Slurm run)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def status(
    run_dir: Path = typer.Argument(..., help="A run directory.", show_default=False),
) -> None:
    """Show a run's Slurm job (state, nodes) and its latest progress."""
    from rlscale.errors import RunDirError
    from rlscale.results.rundir import is_run_dir, read_summary
    from rlscale.results.throughput import describe_nodes, describe_split
    from rlscale.runners.cluster import PLACEMENT_FILE
    from rlscale.runners.slurm import job_state, read_job_info

    info = read_job_info(run_dir)
    if info is None and (run_dir / "job.sbatch").is_file() and not is_run_dir(run_dir):
        raise RunDirError(f"{run_dir}: its job was written but not submitted "
                          f"(sbatch {run_dir / 'job.sbatch'})")
    if info is None and not is_run_dir(run_dir):
        raise RunDirError(f"{run_dir} is not an rlscale run (no summary.json or slurm.json)")
    console = Console(highlight=False, soft_wrap=True)
    rows: dict[str, str] = {"run_dir": str(run_dir.resolve())}
    if info is not None:
        job_id = str(info["job_id"])
        state = job_state(job_id)
        rows["slurm_job"] = job_id
        if state is None:
            rows["job_state"] = "unknown (Slurm no longer lists the job)"
        else:
            reason = f" ({state.reason})" if state.reason not in ("None", "") else ""
            rows["job_state"] = state.state + reason
            rows["nodes"] = state.nodes
            rows["elapsed"] = f"{state.elapsed} of {state.time_limit}"
            rows["requeued"] = str(state.restarts)
        rows["job_log"] = str(run_dir / f"slurm-{job_id}.out")
    if (run_dir / "summary.json").exists():
        s = read_summary(run_dir)  # a corrupt one is a one-line error naming the reason
        ret = "-" if s.last_episode_return_mean is None else f"{s.last_episode_return_mean:.1f}"
        best = "-" if s.best_episode_return_mean is None else f"{s.best_episode_return_mean:.1f}"
        shown = s.shown_status()
        if shown != s.status:
            shown += f" (process {s.pid} on {s.host} is gone)"
        rows["run_status"] = shown + (f": {s.error}" if s.error else "")
        rows["latest"] = (f"iteration {s.iterations}, {s.timesteps_total:,} env steps, "
                          f"return mean {ret} (best {best}), {s.time_total_s:.1f} s trained")
        if s.target_reward is not None:
            rows["reached_target"] = f"{str(s.reached_target).lower()} (target {s.target_reward:g})"
        split, nodes = describe_split(s.throughput), describe_nodes(s.throughput)
        if split:
            rows["time_split"] = split + (f", {s.throughput['bound']} bound"
                                          if s.throughput and s.throughput.get("bound") else "")
        if nodes:
            rows["env_steps_per_s"] = nodes
        slowest = ((s.throughput or {}).get("last") or {}).get("slowest_runner_vs_median")
        if slowest:
            rows["slowest_sampler"] = f"{slowest:.2f}x the median sampling time"
        rows["last_checkpoint"] = s.last_checkpoint or "-"
        rows["segments"] = str(s.segments)
    else:
        rows["run_status"] = "not started (no summary.json yet)"
    placement = run_dir / PLACEMENT_FILE
    if placement.is_file():
        import json

        try:
            runners = list(json.loads(placement.read_text())["env_runners"])
        except (OSError, ValueError, KeyError, TypeError):
            rows["env_runner_nodes"] = f"unknown ({PLACEMENT_FILE} unreadable)"
        else:
            rows["env_runner_nodes"] = ", ".join(
                f"{ip} x{runners.count(ip)}" for ip in sorted(set(map(str, runners)))
            ) or "none (the main process samples)"
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        console.print(f"{key:<{width}}  {value}", markup=False)
