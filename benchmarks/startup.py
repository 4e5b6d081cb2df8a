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
              ... --phases: also where the time goes, phase by phase (the median of each
                  phase line ``RLSCALE_STARTUP_TIMES=1`` makes rlscale log: seconds since
                  launch at which each phase ended, and the main process's CPU seconds by
                  then, which a loaded machine stretches less).
              ... --baseline-tree DIR: the same runs from another source tree too (before
                  and after a change), alternating.
              ... --processes: also the CPU seconds that each process of the run (the
                  main one, Ray's gcs_server, raylet and agents, each worker by its title)
                  had used when the first iteration came, the median over the runs
                  (sampled from /proc every 0.1 s; Linux).
              python benchmarks/startup.py --imports [--runs 3]: the floor under both
                  starts instead: the CPU and wall seconds of a fresh interpreter importing
                  what each needs before its first episode (SB3 and PyTorch's optimizer
                  machinery; Ray, RLlib's PPO and the same), statements alternating.
              ... --sb3: SB3's PPO (its defaults, 8 envs in one process) as one more
                  contestant, launch to its first update (pip install -r
                  benchmarks/requirements.txt).
What to expect: one line per run, then per contestant the median, min and max. The clock starts
just before the process is launched (interpreter start and imports included) and stops when
the first progress row (iteration 1) appears on its output. Runs one at a time, the paths
alternating run by run (on a small machine a second training running beside it would be
measured too, and load drifts hit both paths alike).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FIRST_ROW = re.compile(r"^\s+1\s+[\d,]+\s")
SB3_FIRST = re.compile(r"^first update$")
PHASE = re.compile(r"rlscale\.startup: ([\d.]+) s(?: \(CPU ([\d.]+) s\))?: (.+)$")
HERE = Path(__file__).resolve().parent
SB3 = "SB3"


# --at-once: the contestants' extra arguments.
AT_ONCE = {"at-once": [], "wait": ["--set", "resources.sample_at_once=false"]}


def _process_label(pid: int) -> str:
    """A process's name: its title (Ray sets its workers' and agents' titles), else its
    program's name; ``ray worker`` for a worker not titled yet."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            args = raw.read().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in args if a]
    first = words[0].split()[0] if words else "?"
    if first.startswith("ray::"):
        return first.split(".")[0][:40]
    script = next((w for w in words[1:] if w.endswith(".py") or w == "-m"), "")
    if script.endswith("default_worker.py"):
        return "ray worker (untitled)"
    if script.endswith(("agent/main.py", "agent.py")):
        return "ray runtime env agent" if "runtime_env" in script else "ray dashboard agent"
    name = Path(first).name
    return "main process" if script == "-m" or name.startswith("python") else name


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += [child for child, parent in parents.items() if parent == pid]
    return found


class ProcessCpu(threading.Thread):
    """Samples the CPU seconds of a process and its descendants every 0.1 s until
    stopped; :attr:`last` has each process's (label, last seen CPU seconds)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.done = root, threading.Event()
        self.last: dict[int, tuple[str, float]] = {}

    def run(self) -> None:
        while not self.done.wait(0.1):
            for pid in _descendants(self.root):
                cpu = _cpu_seconds(pid)
                if cpu is not None:
                    self.last[pid] = (_process_label(pid), cpu)

    def by_label(self) -> dict[str, float]:
        self.done.set()
        self.join()
        out: dict[str, float] = {}
        for label, cpu in self.last.values():
            out[label] = out.get(label, 0.0) + cpu
        return out


def one_run(command: list[str], first_line: re.Pattern[str] = FIRST_ROW,
            phases: dict[str, list[tuple[float, float]]] | None = None, tree: str | None = None,
            cpu: dict[str, list[float]] | None = None) -> float:
    """Seconds from launch to the first line matching ``first_line`` (the first iteration's
    row; the run is then left to finish). ``phases``: each phase line's time is added to it;
    ``tree``: a source tree of rlscale to run instead of the installed one; ``cpu``: each
    process's CPU seconds at the first iteration (by label) are added to it."""
    start = time.perf_counter()
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(
        p for p in (tree, os.environ.get("PYTHONPATH", ""), str(HERE)) if p)}
    if phases is not None:
        env["RLSCALE_STARTUP_TIMES"] = "1"
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    first = None
    sampler = ProcessCpu(proc.pid) if cpu is not None else None
    if sampler is not None:
        sampler.start()
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = [*tail[-5:], line]
        if first is None and first_line.match(line.rstrip("\n")):
            first = time.perf_counter() - start
            if sampler is not None and cpu is not None:
                for label, seconds in sampler.by_label().items():
                    cpu.setdefault(label, []).append(seconds)
        phase = PHASE.search(line.rstrip("\n"))
        if phases is not None and phase:
            cpu_then = float(phase.group(2)) if phase.group(2) else float("nan")
            phases.setdefault(phase.group(3), []).append((float(phase.group(1)), cpu_then))
    if proc.wait() != 0 or first is None:
        raise SystemExit(f"the run failed (exit {proc.returncode}): {' '.join(command)}\n"
                         + "".join(tail))
    return first


# --imports: what each side imports before its first episode. Building a PyTorch optimizer
# imports torch._dynamo (Optimizer.add_param_group is wrapped by torch._disable_dynamo),
# which both SB3 and RLlib's learner do before sampling.
IMPORTS = {
    "interpreter": "pass",
    "torch": "import torch",
    "torch + optimizer": "import torch, torch._dynamo",
    "SB3 (+ optimizer)": "import stable_baselines3, torch._dynamo",
    "ray": "import ray",
    "RLlib PPO": "import ray.rllib.algorithms.ppo",
    "RLlib PPO (+ optimizer)": "import ray.rllib.algorithms.ppo, torch._dynamo",
    "rlscale library + RLlib PPO (+ optimizer)":
        "import rlscale.runners.launch, ray.rllib.algorithms.ppo, torch._dynamo",
}


def import_seconds(statement: str) -> tuple[float, float]:
    """CPU seconds (user + system, its children's included) and wall seconds of a fresh
    interpreter running ``statement``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", statement])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed (exit {proc.returncode}): python -c {statement!r}")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - start


def imports_table(runs: int) -> str:
    """The median CPU and wall seconds of each of :data:`IMPORTS`, alternating."""
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in IMPORTS}
    for _ in range(runs):
        for name, statement in IMPORTS.items():
            got[name].append(import_seconds(statement))
    lines = [f"a fresh interpreter's imports, {runs} runs each, alternating, "
             f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.1f} at the end "
             "(median CPU s, median wall s):"]
    for name, taken in got.items():
        cpu, wall = (statistics.median(x) for x in zip(*taken, strict=True))
        lines.append(f"  {cpu:5.2f}  {wall:5.2f}  {name}")
    return "\n".join(lines)


def rlscale_command(env: str, output: str, name: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "rlscale", "train", "--env", env, "--stop-iters", "1",
            "--output", output, "--name", name, *extra]


def sb3_command(env: str, output: str, name: str) -> list[str]:
    """SB3's PPO (its defaults, 8 envs in this one process) until its first update."""
    return [sys.executable, str(HERE / "baselines" / "sb3_ppo.py"), "--env", env, "--hp",
            "default", "--vec", "dummy", "--first-update",
            "--log", str(Path(output) / f"{name}-episodes.txt")]


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
    parser.add_argument("--check-env", action="store_true",
                        help="--engines: keep the env check before training (as a user's run)")
    parser.add_argument("--phases", action="store_true",
                        help="also the median time at which each start-up phase ended")
    parser.add_argument("--processes", action="store_true",
                        help="also each process's CPU seconds at the first iteration")
    parser.add_argument("--sb3", action="store_true",
                        help="SB3's launch to first update as one more contestant")
    parser.add_argument("--baseline-tree", type=Path,
                        help="one more contestant: the same runs from this source tree of "
                             "rlscale (e.g. an earlier commit's, `git archive`d), to compare")
    parser.add_argument("--imports", action="store_true",
                        help="instead: the CPU and wall seconds of each side's imports")
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.imports:
        text = imports_table(args.runs)
        print(text)
        if args.out:
            args.out.write_text(text + "\n")
        return
    if args.baseline_tree and args.in_process:
        parser.error("--baseline-tree runs processes: not with --in-process")
    common = [a for p in args.env_package for a in ("--env-package", p)]
    common += ["--num-cpus", str(args.num_cpus)] if args.num_cpus else []
    if args.at_once:
        contestants = {name: [*common, *extra] for name, extra in AT_ONCE.items()}
    else:  # the env check (a cheap env's plan either way) is not part of this figure
        check = [] if args.check_env else ["--no-check-env"]
        contestants = {e: [*common, *check, *([] if e == "auto" else ["--engine", e])]
                       for e in args.engines.split(",")}
    if args.baseline_tree:
        contestants = {**{f"{n}@base": e for n, e in contestants.items()}, **contestants}
    if args.sb3:
        contestants[SB3] = []
    times: dict[str, list[float]] = {e: [] for e in contestants}
    phases: dict[str, dict[str, list[tuple[float, float]]]] = {
        e: {} for e in contestants if e != SB3}
    cpu: dict[str, dict[str, list[float]]] = {e: {} for e in contestants}
    with tempfile.TemporaryDirectory() as output:
        for i in range(args.runs):
            for name, extra in contestants.items():
                if name == SB3:
                    seconds = one_run(sb3_command(args.env, output, f"s{i}"), SB3_FIRST,
                                      cpu=cpu[name] if args.processes else None)
                elif args.at_once and args.in_process:
                    seconds = in_process_run(args.env, args.env_package, args.num_cpus, output,
                                             f"s{i}-{name}", name == "at-once")
                else:
                    base = name.endswith("@base")
                    seconds = one_run(rlscale_command(args.env, output, f"s{i}-{name}", extra),
                                      phases=phases[name] if args.phases else None,
                                      tree=str(args.baseline_tree) if base else None,
                                      cpu=cpu[name] if args.processes else None)
                times[name].append(seconds)
                print(f"run {i + 1} {name:<7}: first iteration (SB3: update) at {seconds:.2f} s, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
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
    for engine, marks in [(e, m) for e, m in phases.items() if m]:
        lines.append(f"  {engine}, median second at which each phase ended (and the main "
                     "process's CPU seconds by then):")
        for phase, at in marks.items():
            wall, cpu_then = (statistics.median(x) for x in zip(*at, strict=True))
            cpu_text = "" if math.isnan(cpu_then) else f"(CPU {cpu_then:5.2f} s)  "
            lines.append(f"    {wall:6.2f} s  {cpu_text}{phase}")
    for engine, used in [(e, u) for e, u in cpu.items() if u]:
        lines.append(f"  {engine}, median CPU seconds of each process at the first iteration "
                     "(SB3: update):")
        lines += [f"    {statistics.median(s):6.2f} s  {label} (in {len(s)} of {args.runs} runs)"
                  for label, s in sorted(used.items(), key=lambda kv: -sum(kv[1]))]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
