"""Dotted experiment keys (``algo_config.model.fcnet_hiddens``) and nested mappings, one way.

Every place that turns a dotted key into a nested mapping, reads one, or lists the keys a
mapping sets uses these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def set_path(data: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``parts == (a, b, c)``, creating mappings."""
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def get_path(data: Mapping[str, Any], parts: Sequence[str]) -> Any:
    """``data[a][b][c]`` for ``parts == (a, b, c)``, or None when missing."""
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def nest(parts: Sequence[str], value: Any) -> dict[str, Any]:
    """``["a", "b"], 1`` as ``{"a": {"b": 1}}``."""
    out: dict[str, Any] = {}
    set_path(out, parts, value)
    return out


def dotted_keys(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every dotted path of ``data``'s leaves (and of each mapping on the way)."""
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        out.append(path)
        if isinstance(value, Mapping):
            out += dotted_keys(value, f"{path}.")
    return out
