"""Multi-agent time to target: rlscale vs raw RLlib's default multi-agent PPO config.

How to run (from the repository root; about 3 x --cap seconds per round, plus start-ups):
    .venv/bin/python benchmarks/multiagent.py --cap 120
    .venv/bin/python benchmarks/multiagent.py --cap 120 --rounds 3 --feeder
What to expect: for MPE's speaker-listener (mpe2, 2 agents with different spaces, a policy
each, 25-step episodes) the wall-clock seconds from launching each contestant's process until
it stopped at the target mean return (summed over agents, over the last 100 episodes), the
env steps it took and the ratio to raw RLlib's time; a contestant that misses the target
within --cap seconds of training is reported as "not reached in N s, best X".

Contestants, in turn (the order alternates round by round, so machine load hits all alike):
- ``rlscale``: ``rlscale train examples/speaker_listener.yaml`` (the example: the
  ``PPO/multiagent`` preset that ``--preset auto`` picks for multi-agent envs, plus the
  example's own gamma 0.95);
- ``rlscale preset``: ``rlscale train --env mpe2...`` with nothing but the env: the
  ``PPO/multiagent`` preset alone;
- ``raw RLlib``: ``PPOConfig()`` with only what a multi-agent env needs: the env (RLlib's own
  ``ParallelPettingZooEnv`` wrapper), a policy per agent and the mapping, the seed, on a
  local Ray with the machine's cores; its 100-episode mean is computed here from each
  iteration's episode count and mean return (RLlib 2.60 clears its episode window every
  iteration), the same window rlscale stops on.
With ``--feeder``, rlscale on examples/feeder_batteries.yaml to 2.5 too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PZ = "mpe2.simple_speaker_listener_v4:parallel_env"
PZ_CONFIG = {"max_cycles": 25}
PZ_TARGET = -50.0
PZ_EXPERIMENT = ROOT / "examples" / "speaker_listener.yaml"
FEEDER = ROOT / "examples" / "feeder_batteries.yaml"
FEEDER_TARGET = 2.5
QUIET = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


def run_rlscale(args: list[str], cap: float) -> dict[str, Any]:
    """``rlscale train ARGS`` in a fresh process; its summary and wall-clock time."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "rlscale", "train", *args, "--stop-time", str(cap),
               "--output", out, "--name", "bench", "--checkpoint-every", "0"]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=QUIET)
        wall = time.monotonic() - start
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or [str(done.returncode)])[-1]}
        summary = json.loads((Path(out) / "bench" / "summary.json").read_text())
    return {"reached": summary["reached_target"], "wall_s": round(wall, 1),
            "train_s": round(summary["time_total_s"], 1), "env_steps": summary["timesteps_total"],
            "best": round(summary["best_episode_return_mean"], 2)}


def _rllib_main(target: float, cap: float, seed: int) -> None:
    """Raw RLlib in this process (run as a child: ``--rllib-child``)."""
    import ray
    from mpe2 import simple_speaker_listener_v4
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env

    # A Ray of its own, never another one found on the machine.
    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False,
             log_to_driver=False)
    register_env("speaker_listener", lambda cfg: ParallelPettingZooEnv(
        simple_speaker_listener_v4.parallel_env(**cfg)))
    config = (
        PPOConfig()
        .environment("speaker_listener", env_config=PZ_CONFIG)
        .multi_agent(policies={"speaker_0", "listener_0"},
                     policy_mapping_fn=lambda aid, *a, **k: aid)
        .debugging(seed=seed)
    )
    algo = config.build_algo()
    window: deque[tuple[float, int]] = deque()
    best, steps, reached, trained = None, 0, False, 0.0
    while trained < cap:
        t0 = time.monotonic()
        result = algo.train()
        trained += time.monotonic() - t0
        runners = result["env_runners"]
        steps = int(result.get("num_env_steps_sampled_lifetime", 0))
        count = int(runners.get("num_episodes", 0))
        if count:
            window.append((float(runners["episode_return_mean"]), count))
            while sum(c for _, c in window) - window[0][1] >= 100:
                window.popleft()
        total = sum(c for _, c in window)
        if total >= 100:
            mean = sum(m * c for m, c in window) / total
            best = mean if best is None else max(best, mean)
            if mean >= target:
                reached = True
                break
    print(json.dumps({"reached": reached, "train_s": round(trained, 1), "env_steps": steps,
                      "best": None if best is None else round(best, 2)}), flush=True)
    algo.stop()
    ray.shutdown()


def run_rllib(target: float, cap: float, seed: int) -> dict[str, Any]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, __file__, "--rllib-child", str(target), str(cap),
                           str(seed)], capture_output=True, text=True, cwd=ROOT, env=QUIET)
    wall = time.monotonic() - start
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        err = [ln for ln in done.stderr.splitlines() if ln.strip()]
        return {"error": err[-1] if err else f"exit code {done.returncode}"}
    return {**json.loads(lines[-1]), "wall_s": round(wall, 1)}


def describe(outcome: dict[str, Any], cap: float) -> str:
    """One line: time to target and steps, or why not."""
    if "error" in outcome:
        return f"failed: {outcome['error']}"
    if not outcome["reached"]:
        return (f"not reached in {cap:g} s of training (best 100-episode mean "
                f"{outcome['best']}, {outcome['env_steps']:,} env steps, "
                f"{outcome['wall_s']} s in all)")
    return (f"{outcome['wall_s']:>6.1f} s to target ({outcome['train_s']} s training, "
            f"{outcome['env_steps']:,} env steps, best {outcome['best']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contestants", default="rlscale,rlscale preset,raw RLlib",
                        help="Comma-separated, from: rlscale, rlscale preset, raw RLlib.")
    parser.add_argument("--cap", type=float, default=120.0,
                        help="Seconds of training per contestant and run.")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--feeder", action="store_true", help="Also time the feeder example.")
    parser.add_argument("--rllib-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rllib_child:
        target, cap, seed = args.rllib_child
        _rllib_main(float(target), float(cap), int(seed))
        return
    seed, cap = str(args.seed), args.cap
    runs = {
        "rlscale": lambda: run_rlscale(
            [str(PZ_EXPERIMENT), "--seed", seed, "--stop-reward", str(PZ_TARGET)], cap),
        "rlscale preset": lambda: run_rlscale(
            ["--env", PZ, "--env-config", json.dumps(PZ_CONFIG), "--seed", seed,
             "--stop-reward", str(PZ_TARGET)], cap),
        "raw RLlib": lambda: run_rllib(PZ_TARGET, cap, args.seed),
    }
    who = [w.strip() for w in args.contestants.split(",")]
    unknown = [w for w in who if w not in runs]
    if unknown:
        parser.error(f"unknown contestant(s) {unknown}; choose from {list(runs)}")
    print(f"speaker-listener to {PZ_TARGET:g} (seed {seed}, cap {cap:g} s of training, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})", flush=True)
    results: dict[str, list[dict[str, Any]]] = {w: [] for w in who}
    for round_ in range(args.rounds):
        order = who if round_ % 2 == 0 else who[::-1]
        for name in order:
            outcome = runs[name]()
            results[name].append(outcome)
            print(f"  round {round_ + 1}  {name:<15} {describe(outcome, cap)}", flush=True)
    rllib = [o for o in results.get("raw RLlib", []) if o.get("reached")]
    rllib_failed = any("error" in o for o in results.get("raw RLlib", []))
    for name in who:
        if name == "raw RLlib":
            continue
        mine = [o for o in results[name] if o.get("reached")]
        if not mine:
            continue
        mean = sum(o["wall_s"] for o in mine) / len(mine)
        if rllib_failed:
            print(f"ratio {name} / raw RLlib: none, raw RLlib failed (see above)")
        elif rllib:
            theirs = sum(o["wall_s"] for o in rllib) / len(rllib)
            print(f"ratio {name} / raw RLlib: {mean / theirs:.2f} ({mean:.1f} s vs "
                  f"{theirs:.1f} s, means of the runs that reached the target)")
        else:
            print(f"ratio {name} / raw RLlib: raw RLlib did not reach {PZ_TARGET:g} in any "
                  f"run (rlscale {mean:.1f} s, mean of {len(mine)} run(s))")
    if args.feeder:
        outcome = run_rlscale(
            [str(FEEDER), "--env", f"{ROOT / 'examples' / 'feeder_batteries.py'}:FeederBatteries",
             "--seed", seed, "--stop-reward", str(FEEDER_TARGET)], cap)
        print(f"feeder batteries to {FEEDER_TARGET:g}: rlscale {describe(outcome, cap)}")
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
