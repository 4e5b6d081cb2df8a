"""Start-up: wall-clock from launching ``rlscale train`` to its first training iteration,
on both paths of a local run: the algorithm in the main process (``--engine driver``) and in
Tune's trial actor (``--engine tune``); or (``--at-once``) a run whose plan has env runners
sampling in the main process while they start (``resources.sample_at_once``, the default)
against the same run waiting for them (``--set resources.sample_at_once=false``).

How to run:   python benchmarks/startup.py [--runs 8] [--engines driver,tune] [--env CartPole-v1]
              [--out FILE]
              python benchmarks/startup.py --at-once --runs 4 --num-cpus 2
                  --env SlowCartPole-0.5ms-v0 --env-package slow_sim   (from benchmarks/)
              ... --at-once --in-process: the runs are ``rlscale.train`` calls in this one
                  process, timed from the moment the run is planned (Ray up, the env checked,
                  every import done) to its first iteration: what the env runners' start
                  costs, with less of the rest's noise.
What to expect: one line per run, then per contestant the median, min and max. The clock starts
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


# --at-once: the contestants' extra arguments.
AT_ONCE = {"at-once": [], "wait": ["--set", "resources.sample_at_once=false"]}


def one_run(env: str, output: str, name: str, extra: list[str]) -> float:
    """Seconds from launch to the first iteration's row (the run is then left to finish)."""
    command = [sys.executable, "-m", "rlscale", "train", "--env", env, "--stop-iters", "1",
               "--output", output, "--name", name, *extra]
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


def in_process_run(env: str, packages: list[str], cpus: int | None, output: str, name: str,
                   at_once: bool) -> float:
    """Seconds from the run's plan being ready (Ray started) to its first iteration."""
    import rlscale

    marks: dict[str, float] = {}
    exp = {"env": env, "env_packages": packages, "output": output, "name": name,
           "stop": {"iters": 1}, "checkpoint": {"every": 0},
           "resources": {"sample_at_once": at_once, **({"num_cpus": cpus} if cpus else {})}}

    def first(_: object) -> None:
        marks.setdefault("first", time.perf_counter())

    rlscale.train(exp, on_start=lambda _: marks.setdefault("start", time.perf_counter()),
                  on_result=first)
    return marks["first"] - marks["start"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="runs per path")
    parser.add_argument("--engines", default="driver,tune",
                        help="comma-separated paths: driver, tune, auto (rlscale's choice)")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--env-package", action="append", default=[],
                        help="module that registers --env (repeatable)")
    parser.add_argument("--num-cpus", type=int, help="the runs' --num-cpus")
    parser.add_argument("--at-once", action="store_true",
                        help="contestants: sampling at once vs waiting for the env runners "
                             "(both on the driver path, the env checked: its plan)")
    parser.add_argument("--in-process", action="store_true",
                        help="with --at-once: rlscale.train calls in this process, timed "
                             "from the run's plan to its first iteration")
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    common = [a for p in args.env_package for a in ("--env-package", p)]
    common += ["--num-cpus", str(args.num_cpus)] if args.num_cpus else []
    if args.at_once:
        contestants = {name: [*common, *extra] for name, extra in AT_ONCE.items()}
    else:  # the env check (a cheap env's plan either way) is not part of this figure
        contestants = {e: [*common, "--no-check-env", *([] if e == "auto" else ["--engine", e])]
                       for e in args.engines.split(",")}
    times: dict[str, list[float]] = {e: [] for e in contestants}
    with tempfile.TemporaryDirectory() as output:
        for i in range(args.runs):
            for name, extra in contestants.items():
                if args.at_once and args.in_process:
                    seconds = in_process_run(args.env, args.env_package, args.num_cpus, output,
                                             f"s{i}-{name}", name == "at-once")
                else:
                    seconds = one_run(args.env, output, f"s{i}-{name}", extra)
                times[name].append(seconds)
                print(f"run {i + 1} {name:<7}: first iteration at {seconds:.2f} s, load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = len(os.sched_getaffinity(0))  # the cores this process may run on
    what = ("from the plan to the first iteration, in process, of"
            if args.at_once and args.in_process else "start-up of")
    lines = [f"{what} `rlscale train --env {args.env} --stop-iters 1 {' '.join(common)}`"
             f", {args.runs} runs per contestant, alternating, {cores} cores, load "
             f"{load:.1f} at the end:"]
    for engine, secs in times.items():
        lines.append(f"  {engine:<7}: median {statistics.median(secs):.2f} s "
                     f"(min {min(secs):.2f}, max {max(secs):.2f})")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
