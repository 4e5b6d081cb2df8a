"""What simulator faults cost: time to CartPole's 400 with a step() that raises now and then.

How to run:   python benchmarks/faults.py [--rates 0 0.001 0.002] [--num-cpus 2 4]
              [--seed 0] [--target 400] [--limit 300] [--out FILE]
What to expect: one line per (plan, fault rate): seconds of training to a 100-episode mean
of --target (``time_total_s`` of summary.json), env and env-runner restarts, episodes the
faults ended, and the ratio to the clean env's time on the same plan with the same seed.
The env is tests' FaultyCartPole (CartPole-v1 with a 500-step limit, raising
``SimulatorDiverged`` on a fraction of its steps), trained with the CartPole-v1 preset;
rate 0 is the same env without faults. Runs one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

FAULTY = (Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "rlscale_testenvs"
          / "rlscale_testenvs" / "faulty.py")


def one_run(output: str, name: str, rate: float, cpus: int, seed: int, target: float,
            limit: float) -> dict:
    """Train once; return the run's summary.json."""
    command = [
        sys.executable, "-m", "rlscale", "train", "--env", f"{FAULTY}:FaultyCartPole",
        "--env-config", json.dumps({"p_raise": rate, "seed": seed}),
        "--preset", "PPO/CartPole-v1", "--num-cpus", str(cpus), "--seed", str(seed),
        "--stop-reward", str(target), "--stop-time", str(limit), "--no-check-env",
        "--output", output, "--name", name,
    ]
    proc = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    if proc.returncode != 0:
        raise SystemExit(f"rlscale train failed (exit {proc.returncode}): {proc.stderr}")
    return json.loads((Path(output) / name / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.001, 0.002])
    parser.add_argument("--num-cpus", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=400.0)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per run at most")
    parser.add_argument("--out", type=Path, help="also write the lines to this file")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as output:
        for cpus in args.num_cpus:
            clean = None
            for rate in args.rates:
                s = one_run(output, f"c{cpus}-r{rate}", rate, cpus, args.seed, args.target,
                            args.limit)
                took = s["time_total_s"]
                if rate == 0:
                    clean = took if s["reached_target"] else None
                ratio = (f"{took / clean:.2f}x clean" if clean and s["reached_target"]
                         else "n/a")
                line = (f"--num-cpus {cpus}  p_raise {rate:<6g} "
                        f"{'reached' if s['reached_target'] else 'MISSED '} {args.target:g} "
                        f"in {took:6.1f} s ({s['timesteps_total']:,} steps, best "
                        f"{s['best_episode_return_mean'] or float('nan'):.1f})  "
                        f"env restarts {s['env_restarts']}, env-runner restarts "
                        f"{s['env_runner_restarts']}, failed episodes {s['failed_episodes']}"
                        f"  {ratio}")
                print(line, flush=True)
                lines.append(line)
    load = os.getloadavg()[0]
    tail = f"(seed {args.seed}; {len(os.sched_getaffinity(0))} cores; load {load:.1f} at the end)"
    print(tail)
    if args.out:
        args.out.write_text("\n".join([*lines, tail]) + "\n")


if __name__ == "__main__":
    main()
