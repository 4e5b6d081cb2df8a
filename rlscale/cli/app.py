"""The ``rlscale`` command: the one place user errors become one-line messages."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Any

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from rlscale import __version__
from rlscale.errors import RlscaleError


def _usage_line(exc: UsageError, ctx: Any = None) -> str:
    """A bad flag or value as one line: Click's message and where to read the usage (the
    command's own help when the error came from parsing its arguments)."""
    message = " ".join(exc.format_message().split())
    where = exc.ctx.command_path if exc.ctx is not None else "rlscale"
    sub = getattr(ctx, "invoked_subcommand", None)
    if ctx is not None and (exc.ctx is None or exc.ctx is ctx) and sub:
        where = f"{ctx.command_path} {sub}"
    return f"Error: {message} (see: {where} --help)"


class _ErrorEdge(TyperGroup):
    """Turns :class:`RlscaleError` into ``Error: ...`` on stderr and its exit code, and a
    bad flag or value (Click's usage errors) into one such line with exit code 2."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            typer.echo(_usage_line(exc), err=True)
            raise typer.Exit(exc.exit_code) from None

    def invoke(self, ctx: Any) -> Any:  # typer.Context (typer vendors its own click)
        try:
            return super().invoke(ctx)
        except RlscaleError as exc:
            if os.environ.get("RLSCALE_DEBUG"):
                raise
            typer.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            typer.echo(_usage_line(exc, ctx), err=True)
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
    """Console-script entry point.

    The process ends as soon as the command has: what a command writes is complete and
    closed when it returns (files are written atomically, Ray is stopped), and the
    interpreter's own clean-up of every imported module (PyTorch, RLlib, sympy) takes
    seconds for nothing (docs/code-figures.md).
    """
    try:
        app()
    except SystemExit as exc:
        _exit_now(exc.code)
    _exit_now(0)


def _exit_now(code: int | str | None) -> None:
    """Flush what was printed and logged, then end the process with ``code`` (as
    ``sys.exit`` reads it) without the interpreter's clean-up."""
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code or 0)
