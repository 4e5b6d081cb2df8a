"""The options of ``train``, ``sweep`` and ``slurm``, made from the one flag table.

Every flag is declared once, in :data:`rlscale.config.flags.FLAGS`. :func:`with_flags` gives a
command function the options of its flags (after the parameters it declares itself, which
are its own: the experiment file, Slurm's request); the function takes them as ``**flags``.
:func:`flag_overrides` places the flags that were given at their experiment-file paths, for
``resolve_experiment``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import typer

from rlscale.config.flags import Flag, flags_of
from rlscale.config.paths import set_path

F = TypeVar("F", bound=Callable[..., Any])


def _option(flag: Flag, command: str) -> Any:
    """The ``typer.Option`` of ``flag`` in ``command`` (a parameter's default)."""
    default = False if flag.switch else flag.default
    return typer.Option(default, *flag.names_in(command), help=flag.help(command),
                        hidden=flag.hidden)


def with_flags(command: str) -> Callable[[F], F]:
    """Give the decorated command function the options of ``command``'s flags.

    The function declares its own parameters and ``**flags``; Typer reads the signature
    made here, so each flag's parameter reaches the function in ``flags``.
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        made = [
            inspect.Parameter(flag.param, inspect.Parameter.KEYWORD_ONLY,
                              default=_option(flag, command), annotation=flag.type)
            for flag in flags_of(command)
        ]
        func.__signature__ = signature.replace(parameters=own + made)  # type: ignore[attr-defined]
        return func

    return decorate


def flag_overrides(command: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The flags of ``command`` that set an experiment key and were given (not None, not an
    unset switch, not an empty list), placed at their experiment-file paths."""
    out: dict[str, Any] = {}
    for flag in flags_of(command):
        value = values.get(flag.param)
        if flag.path is None or value is None or value is False or value == []:
            continue
        set_path(out, flag.path.split("."), value)
    return out
