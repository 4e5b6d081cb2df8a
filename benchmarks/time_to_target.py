"""Time to target, side by side: rlscale vs raw RLlib (default and tuned) vs SB3 + RL Zoo;
on the slow simulator (slow_sim.py: CartPole with a CPU cost per step), rlscale's
``PPO/default`` vs SB3 PPO's defaults in one process and with one env process per core.

How to run (from the repository root, after `make install`; SB3 is optional):
    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/time_to_target.py --envs CartPole-v1 --seeds 3
    .venv/bin/python benchmarks/time_to_target.py --step-costs 0.5,2 --seeds 1
What to expect: a table per environment with the median wall-clock seconds from process start
until the mean return of the last 100 finished training episodes first reached the target,
the env steps it took, the start-up time (process start to first finished episode) and the
ratio rlscale / each peer. The table is also written to --out (Markdown).

Every contestant trains on the same episode-logging wrapper (episode_log.py); the benchmark,
not the library, decides when the target is reached, then stops the contestant. Contestants
alternate run by run (seed 0 of each, then seed 1 of each, ...) so that drifts in machine load
hit all of them alike. A run that misses the target within --cap seconds counts as the cap.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import slow_sim  # noqa: E402  (benchmarks/slow_sim.py)

TARGETS = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0, "Pendulum-v1": -250.0}
CAPS = {"CartPole-v1": 300.0, "Acrobot-v1": 600.0, "Pendulum-v1": 900.0}
# The slow simulator (SlowCartPole-<X>ms-v0): a 100-episode mean of 150, within 300 s.
SLOW_TARGET, SLOW_CAP = 150.0, 300.0
CLASSIC_CONTESTANTS = "rlscale,RLlib default,RLlib tuned,SB3 + RL Zoo"
# SB3 PPO's defaults with PPO/default's batch and epochs, in one process (DummyVecEnv, 8
# envs) and with one env process per core (SubprocVecEnv); the table adds the better one.
SB3_ONE, SB3_CORES = "SB3 1 process", "SB3 per core"
SLOW_CONTESTANTS = f"rlscale,{SB3_ONE},{SB3_CORES}"
WINDOW = 100
TUNED_EXAMPLES = ("CartPole-v1", "Pendulum-v1")  # PPO examples in rllib/tuned_examples/ppo
# The algorithm whose preset rlscale runs per env (PPO unless another one reaches the
# target sooner here; see docs/benchmarks.md).
RLSCALE_ALGO: dict[str, str] = {}
# rlscale with the algorithm's preset for envs that have none of their own: what a custom
# env gets (an extra contestant: --contestants rlscale,rlscale generic,...).
GENERIC = "rlscale generic"
# rlscale with a path forced: the algorithm in the main process, or in Tune's trial actor.
ENGINES = {"rlscale driver": "driver", "rlscale tune": "tune"}
# rlscale with the experiment's sampling key set: its env runners never wait for the learner.
ASYNC = "rlscale async"


def target_of(env: str) -> float:
    return SLOW_TARGET if slow_sim.step_ms_of(env) is not None else TARGETS[env]


def cap_of(env: str) -> float:
    return SLOW_CAP if slow_sim.step_ms_of(env) is not None else CAPS[env]


@dataclass
class Outcome:
    seconds: float | None  # None: target not reached within the cap
    steps: int
    startup: float | None
    episodes: int
    best: float | None  # the best mean of the last 100 episodes seen (None: under 100)


@dataclass
class Contestant:
    name: str
    available: bool = True
    why_not: str = ""
    outcomes: list[Outcome] = field(default_factory=list)

    def command(self, env: str, seed: int, log: Path, workdir: Path) -> list[str]:
        py, base = sys.executable, HERE / "baselines"
        common = ["--env", env, "--seed", str(seed), "--log", str(log)]
        if self.name.startswith("rlscale"):
            generic = ["--generic"] if self.name == GENERIC else []
            engine = ["--engine", ENGINES[self.name]] if self.name in ENGINES else []
            if self.name == ASYNC:
                engine.extend(["--sampling", "async"])
            return [py, str(base / "rlscale_train.py"), *common, *generic, *engine,
                    "--algo", RLSCALE_ALGO.get(env, "PPO"), "--output", str(workdir)]
        if self.name.startswith("RLlib"):
            which = "tuned" if "tuned" in self.name else "default"
            return [py, str(base / "rllib_ppo.py"), *common, "--config", which]
        if self.name in (SB3_ONE, SB3_CORES):
            vec = "dummy" if self.name == SB3_ONE else "subproc"
            return [py, str(base / "sb3_ppo.py"), *common, "--hp", "default", "--vec", vec]
        return [py, str(base / "sb3_ppo.py"), *common]


def watch(cmd: list[str], log: Path, target: float, cap: float, workdir: Path) -> Outcome:
    """Run one contestant until the trailing mean of 100 episodes reaches ``target``."""
    start = time.time()
    # Ray's worker processes import the episode logger too: put it on their path.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)}
    # Its own process group, so that stopping it also stops Ray's processes it started.
    with open(workdir / "stderr.txt", "ab") as err:
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err,
                                env=env, start_new_session=True)
    window: deque[float] = deque(maxlen=WINDOW)
    steps, episodes, first, offset = 0, 0, None, 0
    reached: float | None = None
    best: float | None = None

    def read_new_episodes() -> None:
        nonlocal steps, episodes, first, offset, reached, best
        if reached is not None or not log.exists():
            return
        with open(log) as handle:
            handle.seek(offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        offset += len(complete)
        for line in complete.splitlines():
            stamp, ret, length = line.split()
            episodes += 1
            steps += int(length)
            window.append(float(ret))
            first = first if first is not None else float(stamp) - start
            if len(window) == WINDOW:
                mean = statistics.fmean(window)
                best = mean if best is None else max(best, mean)
                if mean >= target:
                    reached = float(stamp) - start
                    return

    try:
        while time.time() - start < cap and reached is None:
            time.sleep(0.2)
            ended = proc.poll() is not None
            read_new_episodes()
            if ended:
                break  # the contestant ended (or crashed); its last episodes were read
    finally:
        stop_group(proc)
    return Outcome(reached, steps, first, episodes, best)


def stop_group(proc: subprocess.Popen) -> None:
    """Kill the contestant's process group and wait until none of its processes is left
    (Ray's workers may outlive the main process by a moment, still writing episodes)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def load() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine inflates timings)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def sb3_available() -> tuple[bool, str]:
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        return False, "pip install -r benchmarks/requirements.txt"
    return True, ""


def median_or_cap(outcomes: list[Outcome], cap: float) -> tuple[float, int]:
    secs = [o.seconds if o.seconds is not None else cap for o in outcomes]
    return statistics.median(secs), sum(o.seconds is not None for o in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description="Side-by-side time-to-target benchmark.")
    parser.add_argument("--envs", default=None,
                        help="comma-separated (default: CartPole-v1,Acrobot-v1,Pendulum-v1, "
                             "or none when --step-costs is given)")
    parser.add_argument("--step-costs", default="",
                        help="slow-simulator step costs in ms, e.g. 0.1,0.5,2: adds "
                             "SlowCartPole-<X>ms-v0 to the envs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cap", type=float, default=None, help="seconds per run")
    parser.add_argument("--contestants", default=None,
                        help=f"comma-separated (default: {CLASSIC_CONTESTANTS}; on the slow "
                             f"simulator {SLOW_CONTESTANTS}); also: {GENERIC}, {ASYNC}, "
                             f"{', '.join(ENGINES)}")
    parser.add_argument("--out", default=None, help="Markdown file for the tables (default: "
                        "results/time_to_target-<UTC time>.md, a new file per run: a run "
                        "never overwrites an earlier one's)")
    args = parser.parse_args()

    costs = [float(x) for x in args.step_costs.split(",") if x.strip()]
    default_envs = "" if costs else "CartPole-v1,Acrobot-v1,Pendulum-v1"
    envs = [e for e in (args.envs if args.envs is not None else default_envs).split(",") if e]
    # Every process of every contestant registers these costs (slow_sim reads the variable)
    # and does the same work per step (the calibration is made once, here).
    extra = [c for c in costs if c not in slow_sim.STEP_COSTS_MS]
    os.environ["SLOW_SIM_STEP_MS"] = ",".join(f"{c:g}" for c in extra)
    os.environ.setdefault("SLOW_SIM_LOOPS_PER_MS", f"{slow_sim.loops_per_ms():.1f}")
    envs += [slow_sim.env_id(c) for c in costs]

    def names_for(env: str) -> list[str]:
        if args.contestants is not None:
            return args.contestants.split(",")
        slow = slow_sim.step_ms_of(env) is not None
        return (SLOW_CONTESTANTS if slow else CLASSIC_CONTESTANTS).split(",")

    bound = sum((args.cap or cap_of(e)) * len(names_for(e)) for e in envs) * args.seeds
    cores = len(os.sched_getaffinity(0))
    print(f"{len(envs)} env(s) x {args.seeds} seed(s); every run stops at its cap, so this "
          f"takes at most {bound / 60:.0f} min", flush=True)
    lines = [f"Machine: {cores} cores, {platform.processor() or platform.machine()}, "
             f"{sys.platform}; load averages at start: {load()}",
             f"Command: python benchmarks/time_to_target.py {' '.join(sys.argv[1:])}",
             f"Slow simulator calibration: {float(os.environ['SLOW_SIM_LOOPS_PER_MS']):,.0f} "
             "loops per ms", ""]
    for env in envs:
        target, cap = target_of(env), args.cap or cap_of(env)
        slow = slow_sim.step_ms_of(env) is not None
        contestants = [Contestant(n) for n in names_for(env)]
        for c in contestants:
            if c.name.startswith("SB3"):
                c.available, c.why_not = sb3_available()
            if c.name == "SB3 + RL Zoo" and env not in TARGETS:
                c.available, c.why_not = False, "RL Zoo has no hyperparameters for it"
            if c.name == "RLlib tuned" and env not in TUNED_EXAMPLES:
                c.available, c.why_not = False, "the RLlib repo has no tuned PPO example"
            if c.name == "rlscale" and env in RLSCALE_ALGO:
                c.name = f"rlscale ({RLSCALE_ALGO[env]})"
        for seed in range(args.seeds):
            for c in contestants:
                if not c.available:
                    continue
                with tempfile.TemporaryDirectory(prefix="ttt-", ignore_cleanup_errors=True) as tmp:
                    work = Path(tmp)
                    log = work / "episodes.txt"
                    outcome = watch(c.command(env, seed, log, work), log, target, cap, work)
                c.outcomes.append(outcome)
                shown = (f"{outcome.seconds:.1f} s" if outcome.seconds else
                         f"not within {cap:g} s (best 100-episode mean {fmt(outcome.best)})")
                print(f"{env} seed {seed} {c.name:<15} {shown:>16}  {outcome.steps:>9,} steps  "
                      f"start-up {outcome.startup or float('nan'):.1f} s  load {load()}",
                      flush=True)

        ours = next((c for c in contestants
                     if c.name.startswith("rlscale") and c.name != GENERIC and c.outcomes), None)
        if slow and ours is None:  # rlscale generic is what a custom env gets: PPO/default
            ours = next((c for c in contestants if c.name == GENERIC and c.outcomes), None)
        ours_med = median_or_cap(ours.outcomes, cap)[0] if ours else None
        lines += [f"## {env} (target: mean of last {WINDOW} episodes >= {target:g}, cap {cap:g} s)",
                  "", "| contestant | median s to target | reached | median env steps | "
                  "median start-up s | rlscale / this | best 100-episode mean if missed |",
                  "|---|---|---|---|---|---|---|"]
        for c in contestants:
            if not c.available:
                lines.append(f"| {c.name} | n/a | | | | ({c.why_not}) | |")
                continue
            med, reached = median_or_cap(c.outcomes, cap)
            steps = statistics.median(o.steps for o in c.outcomes)
            starts = [o.startup for o in c.outcomes if o.startup is not None]
            start = f"{statistics.median(starts):.1f}" if starts else "-"
            ratio = f"{ours_med / med:.2f}" if ours_med is not None else "-"
            missed = [fmt(o.best) for o in c.outcomes if o.seconds is None]
            lines.append(f"| {c.name} | {med:.1f} | {reached}/{len(c.outcomes)} | "
                         f"{steps:,.0f} | {start} | {ratio} | {', '.join(missed)} |")
        sb3 = [c for c in contestants if c.name in (SB3_ONE, SB3_CORES) and c.outcomes]
        if len(sb3) == 2:
            better = min(sb3, key=lambda c: median_or_cap(c.outcomes, cap)[0])
            med = median_or_cap(better.outcomes, cap)[0]
            ratio = f"{ours_med / med:.2f}" if ours_med is not None else "-"
            lines.append(f"| **SB3, the better of the two** ({better.name}) | {med:.1f} | | | "
                         f"| **{ratio}** | |")
        lines.append("")
    lines.append(f"Load averages at the end: {load()}")
    text = "\n".join(lines)
    print("\n" + text)
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime())
    out = Path(args.out) if args.out else HERE / "results" / f"time_to_target-{stamp}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(out)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
