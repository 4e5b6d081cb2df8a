"""What an env spec names, parsed without importing anything.

A spec is a Gymnasium id (``CartPole-v1``), ``package.module:ClassOrFactory`` or
``path/to/file.py:ClassOrFactory`` (file paths are made absolute, so that any process on
any node can rebuild the env from the spec).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rlscale.errors import EnvSpecError

GYM_ID = "gym_id"
MODULE = "module"
FILE = "file"


@dataclass(frozen=True)
class EnvTarget:
    """A parsed spec: its kind, what to import or open, and the attribute or id."""

    kind: str
    location: str  # module name, absolute file path, or "" for a Gymnasium id
    name: str  # class/factory attribute, or the Gymnasium id

    @property
    def canonical(self) -> str:
        """The spec as any process on any node can rebuild it (absolute file paths)."""
        return self.name if self.kind == GYM_ID else f"{self.location}:{self.name}"

    @property
    def short_name(self) -> str:
        """A readable name for RLlib's registry and Tune's trial names."""
        if self.kind == FILE:
            return f"{Path(self.location).name}:{self.name}"
        return self.canonical


def parse_spec(spec: str, cwd: Path | None = None) -> EnvTarget:
    """Parse ``spec`` without importing anything; file paths become absolute."""
    spec = spec.strip()
    if not spec:
        raise EnvSpecError("the environment spec is empty")
    left, sep, right = spec.rpartition(":")
    if not sep:
        return EnvTarget(GYM_ID, "", spec)
    if not left or not right:
        raise EnvSpecError(
            f"environment '{spec}': expected module:Class or path/file.py:Class"
        )
    if left.endswith(".py") or "/" in left or os.sep in left:
        path = Path(left).expanduser()
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        return EnvTarget(FILE, str(path.resolve()), right)
    return EnvTarget(MODULE, left, right)


def canonical_spec(spec: str) -> str:
    """``spec`` with a file path made absolute (other specs unchanged)."""
    try:
        target = parse_spec(spec)
    except EnvSpecError:
        return spec  # reported, with its cause, when the env is resolved
    return target.canonical if target.kind == FILE else spec
