"""The one family of user-facing errors.

The library raises subclasses of `RlscaleError`; only the CLI edge catches them,
prints ``Error: <message>`` on one line and exits with `RlscaleError.exit_code`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RlscaleError(Exception):
    """A problem the user can fix (bad input, config, environment): exit code 2."""

    exit_code = 2


class ConfigError(RlscaleError):
    """The experiment (file, ``--set`` or flags) is malformed or inconsistent."""


class EnvSpecError(RlscaleError):
    """An environment spec cannot be resolved or the environment is unusable."""


class ResourceError(RlscaleError):
    """The requested resources cannot be provided."""


class RunDirError(RlscaleError):
    """The run directory is missing, not a run, or would be clobbered."""


class TrainingFailed(RlscaleError):
    """Training started but failed: exit code 1."""

    exit_code = 1


class DiskFull(TrainingFailed):
    """The run's output file system filled up: the run stopped, what it wrote before is
    intact, and ``--resume`` continues it once there is space."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    pool = list(candidates)
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        matches = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        matches = [lowered[m] for m in matches]
    return f" (did you mean '{matches[0]}'?)" if matches else ""


class MissingExtraError(RlscaleError):
    """An optional dependency is not installed: the message names the extra to install."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs optional packages that are not installed; "
            f"install them with: pip install 'rlscale[{extra}]'"
        )
