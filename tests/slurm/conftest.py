"""A real Slurm for the tests of this folder: munge, slurmctld and two slurmd of 2 CPUs on
127.0.0.2 and 127.0.0.3, started once per session and stopped (by PID) at its end."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.runners.raycluster import leftover_processes
from tests.slurm.localslurm import LocalSlurm, missing_reason


@pytest.fixture(scope="session")
def local_slurm() -> Iterator[LocalSlurm]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    # munged wants every folder above its socket open to all: not pytest's 0700 tmp_path.
    base = Path(tempfile.mkdtemp(prefix="rlscale-slurm-"))
    base.chmod(0o755)
    slurm = LocalSlurm(base, nodes=2, cpus=2)
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(slurm.conf)
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
    alive = []
    for pid in slurm.pids():
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    assert alive == [], f"Slurm daemons left running: {alive}"
    assert leftover_processes(str(slurm.base)) == []
    if not os.environ.get("RLSCALE_KEEP_SLURM"):
        shutil.rmtree(base, ignore_errors=True)


def job_fields(job_id: str) -> dict[str, str]:
    """``scontrol show job`` as a mapping (first component of a heterogeneous job)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True,
                         text=True).stdout.strip().splitlines()
    fields: dict[str, str] = {}
    for token in (out[0].split() if out else []):
        key, _, value = token.partition("=")
        fields.setdefault(key, value)
    return fields


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 1.0) -> None:
    """Poll ``check`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}


def job_log(run: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(run.glob("slurm-*.out")))
