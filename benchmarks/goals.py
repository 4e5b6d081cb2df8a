"""Every goal of the performance issue in one run, written as one JSON result.

How to run (from the repository root, after `make install` and
`pip install -r benchmarks/requirements.txt` for SB3):
    .venv/bin/python benchmarks/goals.py                       # the issue's run: 5 seeds
    .venv/bin/python benchmarks/goals.py --seeds 1 --cap 60 --envs CartPole-v1
    .venv/bin/python benchmarks/goals.py --seeds 0 --envs "" --step-costs ""  # scaling only
then render the page: .venv/bin/python benchmarks/render_page.py
What to expect: progress lines as benchmarks/time_to_target.py prints them, then the goals
table, and ``benchmarks/results/goals-<UTC time>.json`` holding every run's figures, each
goal's figure, its limit and whether it was met, the scaling prediction against the
measured steps/s, and the load averages (other work on the machine inflates timings).

The goals (side by side, contestants alternating seed by seed):
- the slow simulator at 0.5 ms and 2 ms a step to a 100-episode mean of 150: rlscale
  (synchronous, its default) and rlscale with ``sampling: async`` against SB3's better of
  one process and one env process per core (ratio <= 1.0 at 0.5 ms, <= 0.65 at 2 ms);
- start-up with two env runners (the slow simulator's plan on 2 cores) against SB3's: the
  median seconds from process start to the first finished training episode, a proxy for
  launch to first update that both sides log alike (<= 1.5x);
- CartPole-v1 to 475 against SB3 + RL Zoo (median ratio <= 1.0); Acrobot-v1 and
  Pendulum-v1 no worse than before the issue: their ratio to SB3 + RL Zoo at most the one
  measured then (docs/benchmarks.md, "Acrobot-v1 and Pendulum-v1, 1 seed");
- the scaling prediction: a short run at 1 and at 2 cores on the 0.5 ms simulator, each
  the pilot that predicts the other's env steps/s (within 20%).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import slow_sim  # noqa: E402
import time_to_target as ttt  # noqa: E402

RESULTS = HERE / "results"
SB3_BETTER = "SB3 better of 1 process / per core"
SLOW_CONTESTANTS = ["rlscale", ttt.ASYNC, ttt.SB3_ONE, ttt.SB3_CORES]
CLASSIC = {"CartPole-v1": ["rlscale", ttt.ASYNC, "SB3 + RL Zoo"],
           "Acrobot-v1": ["rlscale", "SB3 + RL Zoo"],
           "Pendulum-v1": ["rlscale", "SB3 + RL Zoo"]}
# (goal id, what, limit) as the issue states them.
LIMITS = {"slow_0.5ms": 1.0, "slow_2ms": 0.65, "startup_two_runners": 1.5,
          "CartPole-v1": 1.0, "Acrobot-v1": 1.23, "Pendulum-v1": 1.48, "scaling_error": 0.20}
SCALING_ITERS = 6


def _outcome(o: ttt.Outcome, seed: int) -> dict[str, Any]:
    return {"seed": seed, "seconds": o.seconds, "steps": o.steps, "startup": o.startup,
            "best": o.best}


def race(env: str, names: list[str], seeds: int, cap: float,
         skip: frozenset[str] = frozenset()) -> dict[str, list[dict]]:
    """Every contestant on ``env`` but those in ``skip``, seed by seed, alternating."""
    names = [n for n in names if n not in skip]
    out: dict[str, list[dict]] = {n: [] for n in names}
    target = ttt.target_of(env)
    have_sb3, _ = ttt.sb3_available()
    for seed in range(seeds):
        for name in names:
            if name.startswith("SB3") and not have_sb3:
                continue
            with tempfile.TemporaryDirectory(prefix="goals-", ignore_cleanup_errors=True) as tmp:
                work = Path(tmp)
                log = work / "episodes.txt"
                cmd = ttt.Contestant(name).command(env, seed, log, work)
                outcome = ttt.watch(cmd, log, target, cap, work)
            out[name].append(_outcome(outcome, seed))
            shown = f"{outcome.seconds:.1f} s" if outcome.seconds else f"not within {cap:g} s"
            print(f"{env} seed {seed} {name:<16} {shown:>16}  {outcome.steps:>9,} steps  "
                  f"start-up {outcome.startup or float('nan'):.1f} s  load {ttt.load()}",
                  flush=True)
    return out


def median_seconds(runs: list[dict], cap: float) -> float | None:
    if not runs:
        return None
    return statistics.median(r["seconds"] if r["seconds"] is not None else cap for r in runs)


def median_startup(runs: list[dict]) -> float | None:
    starts = [r["startup"] for r in runs if r["startup"] is not None]
    return statistics.median(starts) if starts else None


def scaling_check(cost_ms: float, cores: tuple[int, int] = (1, 2)) -> list[dict[str, Any]]:
    """A run at each core count on the slow simulator; each run's figures predict the
    other's env steps/s (rlscale.runners.predict), compared with what it measured: end to
    end, the sampling phase alone (seconds per iteration, as the run recorded it) and the
    CPU milliseconds per env step of its sampling processes (the model's step term on the
    figure other work on the machine barely changes)."""
    import rlscale
    from rlscale.runners.predict import predict_scaling

    env = slow_sim.env_id(cost_ms)
    rows = []
    with tempfile.TemporaryDirectory(prefix="goals-scaling-") as tmp:
        runs = {}
        for n in cores:
            exp = {"env": env, "env_packages": ["slow_sim"], "seed": 0, "output": tmp,
                   "name": f"cores{n}",
                   # every timed iteration sampled as planned (by the env runners, if any)
                   "resources": {"num_cpus": n, "sample_at_once": False},
                   "stop": {"iters": SCALING_ITERS}, "checkpoint": {"every": 0}}
            figures = _recorded(rlscale.train(exp).throughput)
            runs[n] = (exp, figures, ttt.load())
            print(f"scaling: {n} core(s) measured {figures['steps_per_s']:,.0f} env steps/s "
                  f"(sampling {figures['sampling_s']:.3f} s an iteration, "
                  f"{figures['cpu_ms_per_step']:.3f} CPU ms a step) load {runs[n][2]}",
                  flush=True)
        # The env check measures the step time the plan of each point goes by.
        reports = {n: predict_scaling(exp, resume=True, max_cores=max(cores))
                   for n, (exp, *_) in runs.items()}
        for n, report in reports.items():
            pilot = report.pilot
            cpu_pilot = replace(pilot, steps_per_process_s=1e3 / runs[n][1]["cpu_ms_per_step"])
            for other, (_, measured, load) in runs.items():
                point = next(p for p in report.cores if p.cores == other)
                there = reports[other].pilot
                cpu_ms = 1e3 * cpu_pilot.step_s(there.envs_per_process, bool(there.remote))
                rows.append({"env": env, "pilot_cores": n, "cores": other,
                             "predicted": round(point.steps_per_s, 1),
                             "measured": round(measured["steps_per_s"], 1),
                             "error": _error(point.steps_per_s, measured["steps_per_s"]),
                             "sampling_s_predicted": round(point.sampling_s, 4),
                             "sampling_s_measured": round(measured["sampling_s"], 4),
                             "sampling_error": _error(point.sampling_s, measured["sampling_s"]),
                             "cpu_ms_per_step_predicted": round(cpu_ms, 4),
                             "cpu_ms_per_step_measured": measured["cpu_ms_per_step"],
                             "cpu_error": _error(cpu_ms, measured["cpu_ms_per_step"]),
                             "bound": point.bound.value, "load": load})
    return rows


def _recorded(throughput: dict[str, Any] | None) -> dict[str, Any]:
    """A run's env steps/s, sampling seconds an iteration and its sampling processes' CPU
    milliseconds an env step, from its summary's throughput."""
    total = (throughput or {}).get("total") or {}
    nodes = ((throughput or {}).get("last") or {}).get("nodes") or []
    batch = sum(int(n.get("env_steps") or 0) for n in nodes)
    iterations = int(total.get("iterations") or 0)
    if not batch or not iterations:
        raise SystemExit("the scaling run timed no iteration")
    return {"steps_per_s": batch * iterations / float(total["iteration_s"]),
            "sampling_s": float(total["sampling_s"]) / iterations,
            "cpu_ms_per_step": round(1e3 * float(total.get("sampling_cpu_s") or float("nan"))
                                     / (batch * iterations), 4)}


def _error(predicted: float, measured: float | None) -> float | None:
    return None if not measured else round(predicted / measured - 1, 3)


def goals_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal's figure against its limit."""
    goals: list[dict[str, Any]] = []
    caps = result["caps"]

    def ratio(env: str, ours: str, peer_runs: list[dict]) -> float | None:
        """Median over median; None when either side reached the target in no run (the
        cap over the cap says nothing)."""
        runs = result["time_to_target"].get(env, {}).get(ours, [])
        if not any(r["seconds"] is not None for r in runs) or \
                not any(r["seconds"] is not None for r in peer_runs):
            return None
        cap = caps.get(env, ttt.cap_of(env))
        mine, theirs = median_seconds(runs, cap), median_seconds(peer_runs, cap)
        return None if mine is None or not theirs else round(mine / theirs, 3)

    for cost, key in ((0.5, "slow_0.5ms"), (2.0, "slow_2ms")):
        env = slow_sim.env_id(cost)
        runs = result["time_to_target"].get(env)
        if not runs:
            continue
        cap = caps.get(env, ttt.cap_of(env))
        sb3 = [runs.get(ttt.SB3_ONE, []), runs.get(ttt.SB3_CORES, [])]
        sb3 = [r for r in sb3 if r]
        better = min(sb3, key=lambda r: median_seconds(r, cap) or cap) if sb3 else []
        for ours in ("rlscale", ttt.ASYNC):
            goals.append({"goal": f"{key} {ours}", "what": f"{env} to 150: {ours} / "
                          f"{SB3_BETTER}", "figure": ratio(env, ours, better),
                          "limit": LIMITS[key]})
        if key == "slow_0.5ms":
            mine, theirs = median_startup(runs.get("rlscale", [])), median_startup(better)
            goals.append({"goal": "startup_two_runners", "what": f"{env}: start-up (to first "
                          "episode) with two env runners / SB3's",
                          "figure": round(mine / theirs, 3) if mine and theirs else None,
                          "limit": LIMITS["startup_two_runners"]})
    for env in CLASSIC:
        runs = result["time_to_target"].get(env)
        if not runs:
            continue
        for ours in [n for n in CLASSIC[env] if n.startswith("rlscale")]:
            goals.append({"goal": f"{env} {ours}", "what": f"{env}: {ours} / SB3 + RL Zoo",
                          "figure": ratio(env, ours, runs.get("SB3 + RL Zoo", [])),
                          "limit": LIMITS[env]})
    errors = [abs(r["error"]) for r in result.get("scaling", []) if r["error"] is not None]
    if errors:
        goals.append({"goal": "scaling_error", "what": "scaling prediction: worst |predicted "
                      "/ measured - 1| over the measured points", "figure": max(errors),
                      "limit": LIMITS["scaling_error"]})
    for goal in goals:
        goal["met"] = (None if goal["figure"] is None or goal["limit"] is None
                       else goal["figure"] <= goal["limit"])
    return goals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cap", type=float, default=None, help="seconds per run (default: "
                        "each env's cap in time_to_target.py)")
    parser.add_argument("--envs", default="CartPole-v1,Acrobot-v1,Pendulum-v1",
                        help="classic envs, comma-separated (empty: none)")
    parser.add_argument("--step-costs", default="0.5,2", help="slow simulator, ms a step")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling check")
    parser.add_argument("--skip", default="", help="contestants to leave out, comma-separated "
                        f"(e.g. '{ttt.ASYNC}'; their goals then have no figure)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    os.environ.setdefault("SLOW_SIM_LOOPS_PER_MS", f"{slow_sim.loops_per_ms():.1f}")
    # Ray's workers of the scaling runs import slow_sim (env_packages) from here.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    costs = [float(c) for c in args.step_costs.split(",") if c.strip()]
    envs = [e for e in args.envs.split(",") if e]
    skip = frozenset(n.strip() for n in args.skip.split(",") if n.strip())
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result: dict[str, Any] = {
        "date": started,
        "command": shlex.join(["python", "benchmarks/goals.py", *sys.argv[1:]]),
        "machine": {"cores": len(os.sched_getaffinity(0)),
                    "cpu": platform.processor() or platform.machine(),
                    "load_at_start": ttt.load()},
        "seeds": args.seeds,
        "slow_sim_loops_per_ms": float(os.environ["SLOW_SIM_LOOPS_PER_MS"]),
        "caps": {}, "time_to_target": {}, "scaling": [],
    }
    for cost in costs:
        env = slow_sim.env_id(cost)
        cap = args.cap or ttt.cap_of(env)
        result["caps"][env] = cap
        result["time_to_target"][env] = race(env, SLOW_CONTESTANTS, args.seeds, cap, skip)
    for env in envs:
        cap = args.cap or ttt.cap_of(env)
        result["caps"][env] = cap
        result["time_to_target"][env] = race(env, CLASSIC.get(env, ["rlscale"]), args.seeds,
                                             cap, skip)
    if not args.no_scaling:
        result["scaling"] = scaling_check(0.5)
    result["machine"]["load_at_end"] = ttt.load()
    result["goals"] = goals_of(result)
    for goal in result["goals"]:
        met = {True: "met", False: "NOT met", None: "-"}[goal["met"]]
        print(f"{goal['what']}: {goal['figure']} (limit {goal['limit']}) {met}")
    out = args.out or RESULTS / f"goals-{started.replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    print(f"written to {out}; render the page: python benchmarks/render_page.py")


if __name__ == "__main__":
    main()
