"""``rlscale train --dry-run --predict``'s output: the scaling prediction as tables."""

from __future__ import annotations

from rich.console import Console

from rlscale.algos.scaling import KNEE_GAIN, Point
from rlscale.runners.predict import ScalingReport


def _rows(points: list[Point], first: str) -> list[str]:
    lines = [f"  {first:>6} {'runners':>8} {'batch':>7} {'steps/s':>9} {'iter s':>8} "
             f"{'sample s':>9} {'learn s':>8} {'other s':>8}  bound"]
    for p in points:
        label = p.cores if first == "cores" else p.nodes
        lines.append(
            f"  {label:>6} {p.env_runners:>8} {p.batch:>7} {p.steps_per_s:>9,.0f} "
            f"{p.iteration_s:>8.2f} {p.sampling_s:>9.2f} {p.learning_s:>8.2f} "
            f"{p.overhead_s + p.network_s:>8.2f}  {p.bound.value}")
    return lines


def print_scaling(console: Console, report: ScalingReport) -> None:
    """The pilot's figures, the cores table, the nodes table and the knee."""
    pilot = report.pilot
    console.print("[bold]Scaling prediction[/bold] "
                  f"({'synchronous' if report.synchronous else 'asynchronous'} sampling)")
    console.print(
        f"  from {report.source}: one sampling process {pilot.steps_per_process_s:,.0f} env "
        f"steps/s, learner {1e6 * pilot.learning_s_per_step:.1f} us per env step, "
        f"{pilot.overhead_s:.2f} s other per iteration, batch {pilot.batch:,} over "
        f"{pilot.processes} sampling process(es)", markup=False)
    console.print("  One node:")
    for line in _rows(report.cores, "cores"):
        console.print(line, markup=False)
    console.print(f"  Nodes of {report.node_cpus} cores (network assumed 1 GB/s):")
    for line in _rows(report.nodes, "nodes"):
        console.print(line, markup=False)
    console.print(
        f"  More cores buy nothing past {report.knee_cores} on one node (doubling them adds "
        f"less than {KNEE_GAIN:.0%} to the predicted steps/s, a grown batch included)",
        markup=False)
