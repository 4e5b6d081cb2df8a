"""Multi-agent time to target: rlscale vs raw RLlib's default multi-agent PPO config.

How to run (from the repository root):
    .venv/bin/python benchmarks/multiagent.py --contestants rlscale,rllib --cap 300
What to expect: for MPE's speaker-listener (mpe2, 2 agents with different spaces, a policy
each, 25-step episodes; examples/speaker_listener.yaml) the wall-clock seconds from process
start until the mean return (summed over agents) of the last 100 episodes first reached the
target, and the env steps it took; with --feeder, the same for rlscale on
examples/feeder_batteries.yaml. A contestant that misses the target within --cap
seconds is reported with its best mean.

rlscale runs as a user would (``rlscale train ... --stop-reward T``; its summary.json says
when the target was reached). Raw RLlib is ``PPOConfig()`` with only what a multi-agent env
needs: the env (RLlib's own ``ParallelPettingZooEnv`` wrapper), a policy per agent and the
mapping, the seed; its 100-episode mean is computed here from each iteration's episode
count and mean return (RLlib 2.60 clears its episode window every iteration).
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

ROOT = Path(__file__).resolve().parents[1]
PZ = "mpe2.simple_speaker_listener_v4:parallel_env"
PZ_CONFIG = {"max_cycles": 25}
PZ_TARGET = -50.0
PZ_EXPERIMENT = ROOT / "examples" / "speaker_listener.yaml"
FEEDER = ROOT / "examples" / "feeder_batteries.yaml"
FEEDER_TARGET = 2.5


def run_rlscale(args: list[str], cap: float) -> dict[str, object]:
    """``rlscale train ARGS`` in a fresh process; its summary and wall-clock time."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "rlscale", "train", *args, "--stop-time", str(cap),
               "--output", out, "--name", "bench", "--checkpoint-every", "0"]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.monotonic() - start
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:] or done.returncode}
        summary = json.loads((Path(out) / "bench" / "summary.json").read_text())
    return {"reached": summary["reached_target"], "wall_s": round(wall, 1),
            "train_s": round(summary["time_total_s"], 1), "env_steps": summary["timesteps_total"],
            "best": round(summary["best_episode_return_mean"], 2)}


def _rllib_main(target: float, cap: float, seed: int) -> None:
    """Raw RLlib in this process (run as a child: ``--rllib-child``)."""
    start = time.monotonic()
    import ray
    from mpe2 import simple_speaker_listener_v4
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
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
    best, steps, reached = None, 0, False
    while time.monotonic() - start < cap:
        result = algo.train()
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
    wall = time.monotonic() - start
    print(json.dumps({"reached": reached, "wall_s": round(wall, 1), "env_steps": steps,
                      "best": None if best is None else round(best, 2)}))
    algo.stop()
    ray.shutdown()


def run_rllib(target: float, cap: float, seed: int) -> dict[str, object]:
    done = subprocess.run([sys.executable, __file__, "--rllib-child", str(target), str(cap),
                           str(seed)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": done.stderr.strip()[-300:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contestants", default="rlscale,rllib")
    parser.add_argument("--cap", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--feeder", action="store_true", help="Also time the feeder example.")
    parser.add_argument("--rllib-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rllib_child:
        target, cap, seed = args.rllib_child
        _rllib_main(float(target), float(cap), int(seed))
        return
    who = args.contestants.split(",")
    rows = []
    if "rlscale" in who:
        rows.append(("speaker_listener", "rlscale", run_rlscale(
            [str(PZ_EXPERIMENT), "--seed", str(args.seed), "--stop-reward",
             str(PZ_TARGET)], args.cap)))
    if "rllib" in who:
        rows.append(("speaker_listener", "raw RLlib default", run_rllib(PZ_TARGET, args.cap,
                                                                     args.seed)))
    if args.feeder:
        rows.append(("feeder_batteries", "rlscale", run_rlscale(
            [str(FEEDER), "--env", f"{ROOT / 'examples' / 'feeder_batteries.py'}:FeederBatteries",
             "--seed", str(args.seed), "--stop-reward", str(FEEDER_TARGET)],
            args.cap)))
    for env, name, outcome in rows:
        print(f"{env:<17} {name:<18} {json.dumps(outcome)}")


if __name__ == "__main__":
    main()
