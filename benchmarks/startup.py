"""Start-up: wall-clock from launching ``rlscale train`` to its first training iteration.

How to run:   python benchmarks/startup.py [--runs 8] [--env CartPole-v1] [--out FILE]
What to expect: one line per run, then the median, min and max. The clock starts just
before the process is launched (interpreter start and imports included) and stops when
the first progress row (iteration 1) appears on its output. Runs one at a time: on a small
machine a second training running beside it would be measured too.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_ROW = re.compile(r"^\s+1\s+[\d,]+\s")


def one_run(env: str, output: str, name: str) -> float:
    """Seconds from launch to the first iteration's row (the run is then left to finish)."""
    command = [sys.executable, "-m", "rlscale", "train", "--env", env, "--stop-iters", "1",
               "--no-check-env", "--output", output, "--name", name]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "COLUMNS": "200"})
    first = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if first is None and FIRST_ROW.match(line):
            first = time.perf_counter() - start
    if proc.wait() != 0 or first is None:
        raise SystemExit(f"rlscale train failed (exit {proc.returncode}): {' '.join(command)}")
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as output:
        for i in range(args.runs):
            times.append(one_run(args.env, output, f"s{i}"))
            print(f"run {i + 1}: first iteration at {times[-1]:.2f} s", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = len(os.sched_getaffinity(0))  # the cores this process may run on
    text = (f"start-up of `rlscale train --env {args.env} --stop-iters 1 --no-check-env`, "
            f"{args.runs} runs, {cores} cores: median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f}, max {max(times):.2f}; load {load:.1f} at the end)")
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
