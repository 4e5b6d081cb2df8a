"""What an env fault is, shared by the envs that meet one and the algorithm that counts it:
the fault itself (:class:`EnvFault`), the error that stops a run it outpaces
(:class:`SimulatorFaults`), the info key of the step that ends an episode in a
fault, and this process's tally, drained into the env runner's metrics after each sample
(:mod:`rlscale.algos.faults`)."""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlscale.errors import TrainingFailed

FAULT_INFO = "rlscale_env_fault"  # info key of the step that ends an episode in a fault


@dataclass(frozen=True)
class EnvFault:
    """An exception an env raised: its type, message and where it was raised."""

    type: str
    message: str
    where: str  # file:line of the innermost frame (for a timeout: where the step was)
    traceback: str = ""

    def line(self) -> str:
        """``Type: message (file:line)``."""
        text = f"{self.type}: {self.message}" if self.message else self.type
        return f"{text} ({self.where})" if self.where else text

    @classmethod
    def from_exception(cls, exc: BaseException, skip_files: tuple[str, ...] = ()) -> EnvFault:
        """The fault of ``exc``, located at the innermost frame of its traceback that is not
        in one of ``skip_files`` (the code that raised on the env's behalf)."""
        frames = traceback.extract_tb(exc.__traceback__)
        while len(frames) > 1 and frames[-1].filename in skip_files:
            frames.pop()
        where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return cls(type(exc).__name__, message, where, "".join(traceback.format_exception(exc)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvFault:
        """The inverse of :func:`dataclasses.asdict`."""
        return cls(**{k: str(data.get(k, "")) for k in ("type", "message", "where", "traceback")})


class SimulatorFaults(TrainingFailed):
    """The env faulted faster than training progressed: the run stops with its error
    (raised by rlscale.algos.faults, told by rlscale.results.failure)."""

    def __init__(self, fault: EnvFault, why: str) -> None:
        super().__init__(f"{fault.line()}; {why}")
        self.fault, self.why = fault, why

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from a Ray worker to the driver
        return (SimulatorFaults, (self.fault, self.why))


# --- the faults of this process, drained into the env runner's metrics after each sample --

class _ProcessFaults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.restarts = 0
        self.first: EnvFault | None = None

    def add(self, fault: EnvFault) -> None:
        with self.lock:
            self.restarts += 1
            if self.first is None:
                self.first = fault

    def drain(self) -> tuple[int, EnvFault | None]:
        with self.lock:
            out = (self.restarts, self.first)
            self.restarts, self.first = 0, None
            return out


PROCESS_FAULTS = _ProcessFaults()
