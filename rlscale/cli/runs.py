"""``rlscale runs``: a table of the runs in an output folder, newest first."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

COLUMNS = ("name", "env", "algo", "status", "best return", "timesteps", "wall time",
           "target", "updated")
RIGHT = ("best return", "timesteps", "wall time")


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def runs(
    output: Path = typer.Argument(
        Path("rlscale_runs"), metavar="[OUTPUT_DIR]", help="Folder of run directories.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """List runs: name, env, algo, status, best return, timesteps, wall time, target."""
    from rlscale.results.listing import list_runs, rows_json

    rows = list_runs(output)
    if as_json:
        typer.echo(rows_json(rows))
        return
    console = Console(highlight=False, soft_wrap=True)
    if not rows:
        console.print(f"No runs in {output}", markup=False)
        return
    table = [list(COLUMNS)]
    for r in rows:
        if r.reached_target is None:
            target = "-"
        else:
            target = f"{'yes' if r.reached_target else 'no'} ({r.target_reward:g})"
        table.append([
            r.name, r.env or "-", r.algo or "-", r.status, _num(r.best_return, ".1f"),
            _num(r.timesteps, ","), "-" if r.wall_time_s is None else f"{r.wall_time_s:.0f}s",
            target, time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated_at)),
        ])
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for n, row in enumerate(table):
        cells = [cell.rjust(w) if COLUMNS[i] in RIGHT else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        line = "  ".join(cells).rstrip()
        console.print(f"[bold]{line}[/bold]" if n == 0 else line, markup=n == 0)
