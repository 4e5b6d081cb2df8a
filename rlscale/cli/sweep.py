"""``rlscale sweep``: parse flags, call the library, show progress and the ranked table."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from rlscale.cli.common import (
    command_line,
    print_how_to_connect,
    print_plan_table,
    print_policy_settings,
    print_reasons,
    setup_logging,
    stop_cleanly_on_signals,
)
from rlscale.cli.options import flag_overrides, with_flags
from rlscale.cli.progress import process_start


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace(" ", "")


def _values_text(values: dict[str, Any]) -> str:
    return " ".join(f"{_short(k)}={_value(v)}" for k, v in values.items())


def _print_dry_run(console: Console, job: Any) -> None:
    space = job.space
    parts = [f"{job.options.samples} sample(s)"]
    if job.options.search_alg == "random":
        parts = [f"{space.grid_points} grid point(s)", f"{space.seeds or 1} seed(s)", *parts]
    console.print(f"[bold]Sweep[/bold]    {job.sweep_dir.path}")
    console.print(f"[bold]Trials[/bold]   {job.num_trials} ({' x '.join(parts)})")
    console.print("[bold]Env[/bold]      ", end="")
    console.print(job.env.spec, markup=False)
    print_how_to_connect(console, job, job.algo_config.env_config)  # the trials' ports
    console.print(f"[bold]Algo[/bold]     {job.algo.name}   preset: {job.preset or 'none'}")
    console.print("[bold]Search[/bold]")
    for dim in space.dimensions:
        console.print(f"  {dim.key:<32} {dim.describe()}", markup=False)
    if space.seeds is not None:
        seeds = job.seeds()
        console.print(f"  {'seeds':<32} {space.seeds} (seed {seeds[0]}..{seeds[-1]})")
    opts = job.options
    console.print(f"[bold]Searcher[/bold] {opts.search_alg}   [bold]scheduler[/bold] "
                  f"{opts.scheduler}   [bold]metric[/bold] {opts.metric} ({opts.mode})")
    stop = {k: v for k, v in job.exp.stop.model_dump().items() if v is not None}
    console.print(f"[bold]Stop[/bold]     per trial {stop}")
    print_policy_settings(console, job.exp)
    console.print("[bold]Plan per trial[/bold]")
    print_plan_table(console, job.plan)
    console.print(f"[bold]At once[/bold]  {job.max_concurrent} trial(s) of {job.trial_cpus:g} "
                  f"core(s) on {job.total_cpus} core(s)")
    print_reasons(console, job.reasons)


_ROW = "{:<12} {:<28} {:>5} {:>10} {:>12} {:>9}"


class SweepPrinter:
    """The sweep's first line, then one line per trial event and per trial iteration."""

    def __init__(self, console: Console, start: float) -> None:
        self.console, self.start = console, start
        self.job: Any = None
        self.iterations: dict[str, int] = {}
        self.header_done = False

    def begin(self, job: Any) -> None:
        """The sweep is planned: say what runs where."""
        self.job = job
        verb = "Resuming" if job.mode == "resume" else "Sweeping"
        self.console.print(
            f"{verb} {job.algo.name} on {job.env.spec}: {job.num_trials} trial(s), "
            f"{job.trial_cpus:g} core(s) each, {job.max_concurrent} at once on "
            f"{job.total_cpus} core(s), {job.options.search_alg} search, "
            f"{job.options.scheduler} scheduler -> {job.sweep_dir.path}"
        )

    def __call__(self, event: str, name: str, values: dict[str, Any],
                 row: dict[str, Any] | None) -> None:
        if not self.header_done:
            self.console.print(_ROW.format("trial", "values", "iter", "env steps",
                                           "return mean", "elapsed"), style="bold")
            self.header_done = True
        elapsed = f"{time.monotonic() - self.start:.1f}s"
        label = _values_text(values)
        if event == "result" and row is not None:
            self.iterations[name] = row["iteration"]
            ret = row["episode_return_mean"]
            self.console.print(_ROW.format(
                name, label, row["iteration"], f"{row['env_steps']:,}",
                "-" if ret is None else f"{ret:.1f}", elapsed), markup=False)
            return
        done = self.iterations.get(name)
        iters = self.job.exp.stop.iters
        if event == "completed" and done is not None and iters is not None and done < iters:
            event = f"stopped by the scheduler after iteration {done}"
        self.console.print(f"{name:<12} {label:<28} {event}", markup=False)


def print_table(console: Console, report: Any, keys: list[str]) -> None:
    """The ranked points: searched values, best return over seeds, budget used."""
    heads = [_short(k) for k in keys]
    widths = [max(len(h), 9) for h in heads]
    header = "rank  " + " ".join(f"{h:<{w}}" for h, w in zip(heads, widths, strict=True))
    from rlscale.results.sweep import RANK_BY_EVAL

    ranked = "best eval return" if any(p.ranked_by == RANK_BY_EVAL for p in report.points) \
        else "best return"
    header += f" {'seeds':>5} {ranked:>16} {'iters':>7} {'timesteps':>10} {'time s':>7}"
    console.print(header, style="bold", markup=False)
    for point in report.points:
        cells = " ".join(f"{_value(point.values.get(k)):<{w}}"
                         for k, w in zip(keys, widths, strict=True))
        if point.score is None:
            ret = "-"
        else:
            ret = f"{point.score:.1f} ± {point.score_std or 0.0:.1f}"
        lo, hi = min(point.iterations), max(point.iterations)
        iters = str(lo) if lo == hi else f"{lo}-{hi}"
        console.print(
            f"{point.rank:>4}  {cells} {len(point.seeds):>5} {ret:>16} {iters:>7} "
            f"{point.timesteps_mean:>10,.0f} {point.time_s_mean:>7.1f}", markup=False
        )


@with_flags("sweep")
def sweep(
    experiment: Path | None = typer.Argument(
        None, help="Experiment YAML file with a search block.", show_default=False
    ),
    **flags: Any,
) -> None:
    """Search hyperparameters and repeat seeds: many trials through Tune, sharing the cores."""
    start = process_start()
    verbose = flags["verbose"]
    setup_logging(verbose)
    from rlscale.config.search import parse_search_flag
    from rlscale.runners import launch
    from rlscale.runners.sweep import SweepOptions, interrupt_sweep

    options = SweepOptions(
        samples=flags["samples"], search_alg=flags["search_alg"], scheduler=flags["scheduler"],
        metric=flags["metric"], mode=flags["mode"], max_concurrent=flags["max_concurrent"],
        num_cpus=flags["num_cpus"],
    )
    common: dict[str, Any] = {
        "search": dict(parse_search_flag(item) for item in flags["search"] or []),
        "options": options, "overrides": flag_overrides("sweep", flags),
        "sets": flags["sets"] or [], "resume": flags["resume"],
        "overwrite": flags["overwrite"], "check_env": not flags["no_check_env"],
    }
    console = Console(highlight=False, soft_wrap=True)
    if flags["dry_run"]:
        _print_dry_run(console, launch.plan_sweep_job(experiment, **common, verbose=verbose))
        return
    printer = SweepPrinter(console, start)
    with stop_cleanly_on_signals(
        console, "Stopping the sweep: running trials stay resumable from their latest "
        "checkpoint", interrupt_sweep
    ) as take_signals:

        def on_start(job: Any) -> None:  # Ray is up: its SIGTERM handler is replaced
            take_signals()
            printer.begin(job)

        report = launch.sweep(
            experiment, **common, verbose=verbose, on_start=on_start, on_event=printer,
            command=command_line(),
        )
    _print_report(console, printer.job, report, start)


def _print_report(console: Console, job: Any, report: Any, start: float) -> None:
    keys = [d.key for d in job.space.dimensions]
    console.print()
    print_table(console, report, keys)
    early = [t for t in report.trials if t.stopped_early]
    if early:
        console.print(
            f"\n{len(early)} of {len(report.trials)} trial(s) stopped early by the "
            f"{job.options.scheduler} scheduler, after iteration(s) "
            f"{sorted(t.iterations for t in early)}"
        )
    console.print(f"\nsweep.json   {job.sweep_dir.path / 'sweep.json'}")
    if report.best_file is not None:
        console.print(f"best.yaml    {report.best_file}   (rerun: rlscale train "
                      f"{shlex.quote(str(report.best_file))})")
    console.print(f"wall_clock_s {time.monotonic() - start:.1f}")
    failed = [t for t in report.trials if t.status == "failed"]
    if failed:
        console.print(f"\n{len(failed)} trial(s) failed; the cause is in their summary.json: "
                      + ", ".join(t.name for t in failed))
    if not report.finished:
        done = sum(t.status == "completed" for t in report.trials)
        console.print(
            f"\nInterrupted with {done} trial(s) finished (kept). Resume with:\n"
            f"  rlscale sweep {shlex.quote(str(job.sweep_dir.path / 'sweep.yaml'))} --resume"
        )
        raise typer.Exit(130)
    if failed and len(failed) == len(report.trials):
        raise typer.Exit(1)
