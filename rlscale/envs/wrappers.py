"""Gymnasium wrappers named in the experiment file (``env_wrappers:``).

Each entry is an import path ``package.module:WrapperClass``, or a one-key mapping from
such a path to the wrapper's keyword arguments::

    env_wrappers:
      - minigrid.wrappers:FlatObsWrapper
      - {gymnasium.wrappers:TimeLimit: {max_episode_steps: 200}}

They are applied in order, innermost first, wherever rlscale builds the env: every env
runner, ``check-env``, ``evaluate`` and ``--video``. Only strings and plain values travel to
other processes; each process imports the wrapper classes itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlscale.errors import EnvSpecError, did_you_mean


@dataclass(frozen=True)
class WrapperRef:
    """One wrapper: its import path and its keyword arguments."""

    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_entry(self) -> str | dict[str, dict[str, Any]]:
        """The entry as written in the experiment file."""
        return {self.path: dict(self.kwargs)} if self.kwargs else self.path


WrapperEntry = str | Mapping[str, Any]


def parse_wrappers(entries: Iterable[WrapperEntry | WrapperRef]) -> tuple[WrapperRef, ...]:
    """The entries of ``env_wrappers`` as :class:`WrapperRef` (nothing imported)."""
    out: list[WrapperRef] = []
    for entry in entries:
        if isinstance(entry, WrapperRef):
            out.append(entry)
        elif isinstance(entry, str):
            out.append(WrapperRef(entry.strip()))
        elif isinstance(entry, Mapping) and len(entry) == 1:
            (path, kwargs), = entry.items()
            if kwargs is None:
                kwargs = {}
            if not isinstance(path, str) or not isinstance(kwargs, Mapping):
                raise EnvSpecError(
                    f"env_wrappers: {dict(entry)!r}: expected {{module:Wrapper: {{key: value}}}}"
                )
            out.append(WrapperRef(path.strip(), dict(kwargs)))
        else:
            raise EnvSpecError(
                f"env_wrappers: {entry!r}: expected module:Wrapper or "
                "{module:Wrapper: {key: value}}"
            )
    return tuple(out)


def load_wrapper(path: str) -> type[gym.Wrapper]:
    """Import the wrapper class at ``path``; one-line :class:`EnvSpecError` otherwise."""
    module_name, sep, attr = path.rpartition(":")
    if not sep or not module_name or not attr:
        raise EnvSpecError(f"env_wrappers: '{path}': expected package.module:WrapperClass")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise EnvSpecError(
            f"env_wrappers: '{path}': module '{exc.name or module_name}' not found"
        ) from None
    except Exception as exc:  # the module's own import code failed
        raise EnvSpecError(
            f"env_wrappers: '{path}': importing '{module_name}' failed: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    cls = getattr(module, attr, None)
    if cls is None:
        names = [n for n, v in vars(module).items()
                 if isinstance(v, type) and issubclass(v, gym.Wrapper)]
        raise EnvSpecError(
            f"env_wrappers: '{path}': module '{module_name}' has no attribute '{attr}'"
            f"{did_you_mean(attr, names)}"
        )
    if not (isinstance(cls, type) and issubclass(cls, gym.Wrapper)):
        raise EnvSpecError(
            f"env_wrappers: '{path}' is not a gymnasium.Wrapper subclass"
        )
    return cls


def validate_wrappers(wrappers: Sequence[WrapperRef]) -> None:
    """Import every wrapper (before Ray starts): unknown paths and non-wrappers raise."""
    for ref in wrappers:
        load_wrapper(ref.path)


def apply_wrappers(env: gym.Env, wrappers: Sequence[WrapperRef]) -> gym.Env:
    """``env`` wrapped by each of ``wrappers`` in order (the first is innermost)."""
    for ref in wrappers:
        cls = load_wrapper(ref.path)
        try:
            env = cls(env, **ref.kwargs)
        except Exception as exc:  # the wrapper's own constructor refused
            env.close()
            raise EnvSpecError(
                f"env_wrappers: {ref.path}{ref.kwargs or ''} failed: {type(exc).__name__}: {exc}"
            ) from None
    return env
