"""Spaces compared by their structure, not their text.

``str(space)`` of some spaces holds what differs between two processes for the same env
(MiniGrid's ``MissionSpace`` shows a function's address), so ``check-env`` compares what
matters to RLlib instead: the space's type, shape, dtype, bounds, ``n``/``nvec``/``start``,
and the children of ``Dict``/``Tuple`` (and the other composite spaces), recursively.
The structure is plain JSON data, so a fresh process can print it and this one compare it.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np


def _array(value: Any) -> Any:
    return np.asarray(value).tolist()


def space_structure(space: gym.Space | None) -> dict[str, Any] | None:
    """JSON-able description of ``space``'s structure (None for no space)."""
    if space is None:
        return None
    kind = type(space)
    out: dict[str, Any] = {"type": f"{kind.__module__}.{kind.__qualname__}"}
    shape = getattr(space, "shape", None)
    dtype = getattr(space, "dtype", None)
    out["shape"] = list(shape) if shape is not None else None
    out["dtype"] = str(dtype) if dtype is not None else None
    if isinstance(space, gym.spaces.Box):
        out["low"], out["high"] = _array(space.low), _array(space.high)
    elif isinstance(space, gym.spaces.Discrete):
        out["n"], out["start"] = int(space.n), int(space.start)
    elif isinstance(space, gym.spaces.MultiDiscrete):
        out["nvec"], out["start"] = _array(space.nvec), _array(space.start)
    elif isinstance(space, gym.spaces.MultiBinary):
        out["n"] = _array(space.n)
    elif isinstance(space, gym.spaces.Dict):
        out["children"] = {str(k): space_structure(v) for k, v in space.spaces.items()}
    elif isinstance(space, gym.spaces.Tuple | gym.spaces.OneOf):
        out["children"] = [space_structure(s) for s in space.spaces]
    elif isinstance(space, gym.spaces.Sequence):
        out["children"] = [space_structure(space.feature_space)]
        out["stack"] = bool(space.stack)
    elif isinstance(space, gym.spaces.Graph):
        out["children"] = [space_structure(space.node_space), space_structure(space.edge_space)]
    elif isinstance(space, gym.spaces.Text):
        out["min_length"], out["max_length"] = space.min_length, space.max_length
        out["charset"] = "".join(sorted(space.character_set))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]


def _show(value: Any) -> str:
    """A value in a message: an array of one repeated number as that number, a long one
    cut short."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        flat = _flat(value)
        if all(_same(x, flat[0]) for x in flat):
            return repr(flat[0]) if len(flat) == 1 else f"{flat[0]!r} (all {len(flat)})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def structure_difference(here: Any, there: Any, path: str = "") -> str | None:
    """The first difference between two structures (``here`` and ``there``), or None."""
    if _same(here, there):
        return None
    if not isinstance(here, dict) or not isinstance(there, dict):
        return f"{path or 'the space'}: {_show(here)} here, {_show(there)} there"
    for key in ("type", "shape", "dtype", "n", "nvec", "start", "low", "high", "stack",
                "min_length", "max_length", "charset"):
        if not _same(here.get(key), there.get(key)):
            return (f"{path or 'the space'}: {key} {_show(here.get(key))} here, "
                    f"{_show(there.get(key))} there")
    mine, theirs = here.get("children"), there.get("children")
    if isinstance(mine, dict) and isinstance(theirs, dict):
        if list(mine) != list(theirs):
            return f"{path or 'the space'}: keys {list(mine)} here, {list(theirs)} there"
        for key in mine:
            found = structure_difference(mine[key], theirs[key], f"{path}[{key!r}]")
            if found:
                return found
    elif isinstance(mine, list) and isinstance(theirs, list):
        if len(mine) != len(theirs):
            return f"{path or 'the space'}: {len(mine)} parts here, {len(theirs)} there"
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            found = structure_difference(a, b, f"{path}[{i}]")
            if found:
                return found
    return f"{path or 'the space'}: {_show(here)} here, {_show(there)} there"


def spaces_difference(here: gym.Space | None, there: gym.Space | None) -> str | None:
    """Where two spaces differ in structure, or None when they are the same."""
    return structure_difference(space_structure(here), space_structure(there))
