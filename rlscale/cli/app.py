"""The ``rlscale`` command: the one place user errors become one-line messages."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from rlscale import __version__
from rlscale.errors import RlscaleError


class _ErrorEdge(TyperGroup):
    """Turns :class:`RlscaleError` into ``Error: ...`` on stderr and its exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer.Context (typer vendors its own click)
        try:
            return super().invoke(ctx)
        except RlscaleError as exc:
            if os.environ.get("RLSCALE_DEBUG"):
                raise
            typer.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=_ErrorEdge,
    name="rlscale",
    help="Train RL agents with Ray RLlib and Tune, from one core to many Slurm nodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rlscale {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Train RL agents with Ray RLlib and Tune, from one core to many Slurm nodes."""


def setup_logging(verbose: bool) -> None:
    """rlscale's own log lines on stderr; more of them with --verbose."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@contextmanager
def stop_cleanly_on_signals(
    console: Any, message: str, request_stop: Callable[[], None]
) -> Iterator[None]:
    """While inside: the first Ctrl-C (or SIGTERM) prints ``message`` and calls
    ``request_stop``, which ends the work cleanly; a second one aborts as usual. The
    previous handlers are back on exit."""

    def on_signal(signum: int, frame: Any) -> None:
        signal.signal(signum, signal.SIG_DFL)
        console.print(f"\n[yellow]{message} (press Ctrl-C again to abort)...[/yellow]")
        request_stop()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _register_commands() -> None:
    from rlscale.cli import train

    app.command(name="train")(train.train)
    from rlscale.cli import sweep

    app.command(name="sweep")(sweep.sweep)
    from rlscale.cli import check_env

    app.command(name="check-env")(check_env.check_env)
    from rlscale.cli import evaluate, export, plot, runs

    app.command(name="evaluate")(evaluate.evaluate)
    app.command(name="export")(export.export)
    app.command(name="plot")(plot.plot)
    app.command(name="runs")(runs.runs)
    from rlscale.cli import slurm, status, wait_nodes

    app.command(name="slurm")(slurm.slurm)
    app.command(name="status")(status.status)
    app.command(name="wait-nodes", hidden=True)(wait_nodes.wait_nodes)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
