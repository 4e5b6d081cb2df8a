"""A failed run, told in one line, with the full traceback in the run's ``error.txt``.

Whatever path the run took (Tune's trial actor, RLlib's Algorithm in the driver, a remote
env runner), the exception that ends it is usually a wrapper: Ray's ``RayTaskError`` around
the worker's error, RLlib's ``RuntimeError`` raised ``from`` the env's. The line names the
error at the bottom of that chain, where it was raised, and (for
:class:`~rlscale.envs.env_faults.SimulatorFaults`) the env's own exception and why the run
stopped.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from rlscale.errors import TrainingFailed
from rlscale.results.files import atomic_write_text

ERROR_FILE = "error.txt"
_MAX_DEPTH = 20
# The frames of a traceback that crossed processes as text (Ray's remote tracebacks).
_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)


@dataclass(frozen=True)
class Failure:
    """What ended a run: the root error's type, message, where it was raised, and text."""

    type: str
    message: str
    where: str
    traceback: str
    why: str = ""  # why rlscale stopped the run, when it did

    def line(self) -> str:
        """``Type: message (file:line)``, then why the run stopped, if rlscale stopped it."""
        text = f"{self.type}: {self.message}" if self.message else self.type
        text = f"{text} ({self.where})" if self.where else text
        return f"{text}; {self.why}" if self.why else text


def _remote_text(exc: BaseException) -> str:
    """The traceback a Ray task error carries from the worker, as text ('' for others)."""
    text = getattr(exc, "traceback_str", None)
    return text if isinstance(text, str) else ""


def root_cause(exc: BaseException) -> BaseException:
    """The error at the bottom of ``exc``'s chain of wrappers (Ray's ``cause``, then
    ``raise ... from``)."""
    from rlscale.envs.env_faults import SimulatorFaults

    for _ in range(_MAX_DEPTH):
        cause = getattr(exc, "cause", None)  # RayTaskError: the worker's own exception
        if isinstance(cause, BaseException) and cause is not exc:
            exc = cause
        elif isinstance(exc, SimulatorFaults) or exc.__cause__ is None:
            break
        else:
            exc = exc.__cause__
    return exc


def _where(exc: BaseException, remote: str) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        return f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}"
    found = _FRAME.findall(remote)
    return f"{os.path.basename(found[-1][0])}:{found[-1][1]}" if found else ""


def describe_failure(exc: BaseException) -> Failure:
    """The :class:`Failure` of a run that ended with ``exc``."""
    from rlscale.envs.env_faults import SimulatorFaults

    root = root_cause(exc)
    full = "".join(traceback.format_exception(exc))
    remote = _remote_text(exc) or _remote_text(root)
    if remote and remote not in full:
        full += "\n" + remote
    if isinstance(root, SimulatorFaults):
        fault = root.fault
        text = f"{full}\nThe env's exception:\n{fault.traceback}" if fault.traceback else full
        return Failure(fault.type, fault.message, fault.where, text, why=root.why)
    # Ray's own errors put a multi-line story in the message: its first line.
    message = str(root).strip()
    first = message.splitlines()[0] if message else ""
    return Failure(type(root).__name__, first, _where(root, remote), full)


def record_failure(run_dir: Path, exc: BaseException) -> tuple[Failure, Path]:
    """Write the full story of ``exc`` to the run's ``error.txt`` (atomically); return its
    :class:`Failure` and the file. A run directory that cannot be written still gets the
    failure (and the path it would have had)."""
    failure = describe_failure(exc)
    path = run_dir / ERROR_FILE
    try:
        atomic_write_text(path, f"{failure.line()}\n\n{failure.traceback}")
    except OSError:
        pass
    return failure, path


def failure_error(failure: Failure, path: Path) -> TrainingFailed:
    """The error the CLI shows: ``training failed: Type: message (file:line)`` and, when
    it was written, where the traceback is."""
    where = f"; traceback in {path}" if path.exists() else ""
    return TrainingFailed(f"training failed: {failure.line()}{where}")


def training_failed(run_dir: Path, exc: BaseException) -> TrainingFailed:
    """:func:`record_failure`, then :func:`failure_error`: for a runner's failure branch,
    ``raise training_failed(run_dir, exc) from None``."""
    return failure_error(*record_failure(run_dir, exc))
