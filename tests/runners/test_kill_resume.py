"""``kill -9`` of a training driver, then ``--resume``: at most one checkpoint interval lost."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import read_summary
from tests.processes import descendants

ROW = re.compile(r"^\s+(\d+)\s+[\d,]+\s")


def test_a_driver_killed_with_sigkill_resumes_from_its_last_checkpoint(cli, tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlscale", "train", "--env", "CartPole-v1", "--seed", "0",
         "--num-cpus", "1", "--name", "k9", "--checkpoint-every", "2", "--stop-iters", "50"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    killed_after, ray_processes = 0, []
    try:
        for line in proc.stdout:
            row = ROW.match(line)
            if row and int(row.group(1)) >= 5:
                killed_after = int(row.group(1))
                ray_processes = descendants(proc.pid)
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    tokens = set()
    for pid in ray_processes:  # the killed driver's Ray (ours alone), by PID
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            tokens |= {e[len(b"RAY_AUTH_TOKEN_PATH="):].decode() for e in environ
                       if e.startswith(b"RAY_AUTH_TOKEN_PATH=")}
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, FileNotFoundError):
            pass
    for token in tokens:  # a killed run cannot remove its token folder: the test does
        shutil.rmtree(Path(token).parent, ignore_errors=True)
    run = tmp_path / "rlscale_runs" / "k9"
    before = read_summary(run)
    latest = max(c["iteration"] for c in before["checkpoints"])
    assert killed_after - 2 <= latest <= killed_after  # at most one interval lost
    assert cli("runs", str(run.parent), "--json").stdout.count('"died"') == 1

    resumed = cli("train", str(run / "config.yaml"), "--resume", "--stop-iters",
                  str(latest + 1))
    assert resumed.exit_code == 0, resumed.output
    rows = [int(m.group(1)) for m in map(ROW.match, resumed.stdout.splitlines()) if m]
    assert rows == [latest + 1]
    after = read_summary(run)
    assert after["status"] == "completed" and after["segments"] == 2
    assert after["timesteps_total"] > before["checkpoints"][-1]["timesteps"]
