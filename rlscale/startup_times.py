"""Where a run's start-up goes: one line per phase, the seconds since this process started.

The lines are DEBUG records of the ``rlscale.startup`` logger (``RLSCALE_STARTUP_TIMES=1``
makes the CLI show them on stderr; ``benchmarks/startup.py --phases`` collects them), e.g.::

    DEBUG rlscale.startup: 1.52 s (CPU 1.31 s): command line parsed (interpreter, CLI imports)

Seconds count from the process's start as the kernel recorded it (interpreter start and
imports included), so that a phase's time is the difference to the line before. The CPU
seconds are this process's own (all its threads, the kernel's time for it included) by
then: on a loaded machine, where wall-clock phases stretch with the load, what a phase
costs this process stays about the same.
"""

from __future__ import annotations

import logging
import os
import time

LOGGER = "rlscale.startup"
ENV_VAR = "RLSCALE_STARTUP_TIMES"

log = logging.getLogger(LOGGER)


def process_start() -> float:
    """The ``time.monotonic()`` at which this process started, so that elapsed times count
    the interpreter's start and the imports too (Linux; elsewhere, or in a process older
    than a minute, which called the CLI in-process, e.g. a test: now)."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/uptime") as uptime:
            age = float(uptime.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.monotonic()
    return time.monotonic() - (age if 0.0 <= age <= 60.0 else 0.0)


_ORIGIN: list[float] = []


def mark(phase: str) -> None:
    """Log that ``phase`` just ended (when the ``rlscale.startup`` logger shows DEBUG)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    if not _ORIGIN:
        _ORIGIN.append(process_start())
    log.debug("%.2f s (CPU %.2f s): %s", time.monotonic() - _ORIGIN[0], time.process_time(),
              phase)


def show_if_asked() -> None:
    """Show the phase lines when ``RLSCALE_STARTUP_TIMES`` is set (the CLI calls it)."""
    if os.environ.get(ENV_VAR, "").strip() not in ("", "0"):
        log.setLevel(logging.DEBUG)
