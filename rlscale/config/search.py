"""The ``search:`` block of an experiment: what a sweep varies, parsed and checked.

Each entry maps a dotted experiment key to one search kind, the names of Ray Tune's own
search-space functions::

    search:
      algo_config.lr: {loguniform: [1.0e-4, 1.0e-2]}
      algo_config.num_epochs: {grid: [4, 8]}
      env_config.size: {choice: [4, 8]}
      seeds: 3                # every point is trained with seeds seed, seed+1, seed+2

Ranges are ``[low, high]`` (``quniform``: ``[low, high, q]``); as in Tune, ``randint``
excludes ``high``. Only the structure is checked here; whether a key exists for the
algorithm or the environment is checked by the sweep runner with the same code ``train``
uses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlscale.config.load import parse_scalar
from rlscale.errors import ConfigError, did_you_mean

KINDS = ("grid", "choice", "uniform", "loguniform", "randint", "quniform")
SEEDS_KEY = "seeds"
# Top-level experiment keys whose values reach the RLlib config of each trial.
SEARCHABLE = ("algo_config", "env_config", "seed")
_EXAMPLE = "{grid: [0.001, 0.0003]}"


@dataclass(frozen=True)
class Dimension:
    """One searched key and its search kind."""

    key: str
    kind: str
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    q: float = 0.0

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))

    @property
    def is_grid(self) -> bool:
        return self.kind == "grid"

    def probe_values(self) -> list[Any]:
        """Values that stand for the dimension when checking it: all listed values, or
        the ends of a range."""
        if self.kind in ("grid", "choice"):
            return list(self.values)
        if self.kind == "randint":
            return [int(self.low), int(self.high) - 1]
        return [self.low, self.high]

    def describe(self) -> str:
        """``grid [0.001, 0.0003]``, ``loguniform [0.0001, 0.01]``..."""
        if self.kind in ("grid", "choice"):
            return f"{self.kind} {list(self.values)}"
        bounds = [self.low, self.high] + ([self.q] if self.kind == "quniform" else [])
        return f"{self.kind} {[_num(b) for b in bounds]}"


@dataclass(frozen=True)
class SearchSpace:
    """All searched dimensions, and how many seeds each point is trained with."""

    dimensions: tuple[Dimension, ...] = ()
    seeds: int | None = None

    def __bool__(self) -> bool:
        return bool(self.dimensions) or self.seeds is not None

    @property
    def grid_points(self) -> int:
        """Points of the grid (1 without grid dimensions); seeds not included."""
        return math.prod(len(d.values) for d in self.dimensions if d.is_grid)

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.dimensions]


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 1e15 else value


_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _numbers(value: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` (no dot) as a string: make such strings numbers again."""
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value)
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_dimension(key: str, spec: Any) -> Dimension:
    where = f"search.{key}"
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise ConfigError(
            f"{where}: expected one of {', '.join(KINDS)} (e.g. {_EXAMPLE}), got {spec!r}"
        )
    ((kind, arg),) = spec.items()
    arg = _numbers(arg)
    if kind not in KINDS:
        raise ConfigError(
            f"{where}: unknown search kind '{kind}'{did_you_mean(str(kind), KINDS)}; "
            f"use one of {', '.join(KINDS)}"
        )
    if kind in ("grid", "choice"):
        if not isinstance(arg, list):
            raise ConfigError(f"{where}: {kind} expects a list of values, got {arg!r}")
        if not arg:
            raise ConfigError(f"{where}: {kind} needs at least one value, got []")
        return Dimension(key, kind, values=tuple(arg))
    size = 3 if kind == "quniform" else 2
    shape = "[low, high, q]" if kind == "quniform" else "[low, high]"
    if not isinstance(arg, list) or len(arg) != size or not all(_is_number(a) for a in arg):
        raise ConfigError(f"{where}: {kind} expects {shape} numbers, got {arg!r}")
    low, high = float(arg[0]), float(arg[1])
    if kind == "randint" and not all(isinstance(a, int) for a in arg):
        raise ConfigError(f"{where}: randint expects whole numbers [low, high], got {arg!r}")
    if low >= high:
        raise ConfigError(
            f"{where}: empty range {kind} {arg!r}: low must be below high"
        )
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: loguniform needs low > 0, got {arg!r}")
    q = float(arg[2]) if kind == "quniform" else 0.0
    if kind == "quniform" and q <= 0:
        raise ConfigError(f"{where}: quniform needs q > 0, got {arg!r}")
    return Dimension(key, kind, low=low, high=high, q=q)


def _check_key(key: str, fields: list[str]) -> None:
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"search: empty part in key {key!r}")
    top = parts[0]
    if top not in fields:
        hint = did_you_mean(top, [*fields, SEEDS_KEY])
        if hint:
            guess = hint.split("'")[1]
            suggestion = ".".join([guess, *parts[1:]]) if guess != SEEDS_KEY else guess
            hint = f" (did you mean '{suggestion}'?)"
        raise ConfigError(f"unknown key '{key}' in search{hint}")
    if top not in SEARCHABLE or (top == "seed" and len(parts) > 1) or (
        top != "seed" and len(parts) == 1
    ):
        raise ConfigError(
            f"search: '{key}' cannot be searched (searchable: algo_config.KEY, "
            "env_config.KEY, seed; and seeds: K)"
        )


def parse_search(block: Mapping[str, Any], fields: list[str]) -> SearchSpace:
    """Parse a ``search:`` mapping; ``fields`` are the experiment's top-level keys."""
    dims: list[Dimension] = []
    seeds: int | None = None
    for key, spec in block.items():
        key = str(key)
        if key == SEEDS_KEY:
            if not isinstance(spec, int) or isinstance(spec, bool) or spec < 1:
                raise ConfigError(f"search.seeds: expected a whole number >= 1, got {spec!r}")
            seeds = spec
            continue
        _check_key(key, fields)
        dims.append(_parse_dimension(key, spec))
    if seeds is not None and any(d.key == "seed" for d in dims):
        raise ConfigError("search: use either 'seed' or 'seeds', not both")
    return SearchSpace(tuple(dims), seeds)


def parse_search_flag(item: str) -> tuple[str, Any]:
    """``--search key=SPEC``: SPEC is YAML, e.g. ``algo_config.lr={grid: [0.001, 0.01]}``."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"--search expects key=spec (e.g. algo_config.lr={_EXAMPLE}), got {item!r}"
        )
    value = parse_scalar(raw)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return key.strip(), value
