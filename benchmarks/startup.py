"""Start-up: wall-clock from launching ``rlscale train`` to its first training iteration,
on both paths of a local run: the algorithm in the main process (``--engine driver``) and in
Tune's trial actor (``--engine tune``).

How to run:   python benchmarks/startup.py [--runs 8] [--engines driver,tune] [--env CartPole-v1]
              [--out FILE]
What to expect: one line per run, then per path the median, min and max. The clock starts
just before the process is launched (interpreter start and imports included) and stops when
the first progress row (iteration 1) appears on its output. Runs one at a time, the paths
alternating run by run (on a small machine a second training running beside it would be
measured too, and load drifts hit both paths alike).
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


def one_run(env: str, output: str, name: str, engine: str | None) -> float:
    """Seconds from launch to the first iteration's row (the run is then left to finish)."""
    command = [sys.executable, "-m", "rlscale", "train", "--env", env, "--stop-iters", "1",
               "--no-check-env", "--output", output, "--name", name]
    if engine:
        command += ["--engine", engine]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "COLUMNS": "200"})
    first = None
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = [*tail[-5:], line]
        if first is None and FIRST_ROW.match(line):
            first = time.perf_counter() - start
    if proc.wait() != 0 or first is None:
        raise SystemExit(f"rlscale train failed (exit {proc.returncode}): {' '.join(command)}\n"
                         + "".join(tail))
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="runs per path")
    parser.add_argument("--engines", default="driver,tune",
                        help="comma-separated paths: driver, tune, auto (rlscale's choice)")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    engines = args.engines.split(",")
    times: dict[str, list[float]] = {e: [] for e in engines}
    with tempfile.TemporaryDirectory() as output:
        for i in range(args.runs):
            for engine in engines:
                seconds = one_run(args.env, output, f"s{i}-{engine}",
                                  None if engine == "auto" else engine)
                times[engine].append(seconds)
                print(f"run {i + 1} {engine:<6}: first iteration at {seconds:.2f} s", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = len(os.sched_getaffinity(0))  # the cores this process may run on
    lines = [f"start-up of `rlscale train --env {args.env} --stop-iters 1 --no-check-env "
             f"--engine E`, {args.runs} runs per path, alternating, {cores} cores, load "
             f"{load:.1f} at the end:"]
    for engine, secs in times.items():
        lines.append(f"  {engine:<6}: median {statistics.median(secs):.2f} s "
                     f"(min {min(secs):.2f}, max {max(secs):.2f})")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
