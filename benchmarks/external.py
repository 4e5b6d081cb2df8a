"""External simulators: what the socket costs, and what parallel simulators buy.

Two measurements, each printing its figures side by side, contestants alternating round by
round (so that a change in the machine's load hits both):

- ``target``: CartPole trained by PPO (the ``PPO/CartPole-v1`` preset, the same seed and
  number of envs) to a 100-episode mean return of ``--reward`` (450), once with the env
  in-process (``CartPole-v1``) and once external (``examples/external/cartpole_sim.py``
  simulators, each its own process, stepping itself): wall-clock seconds to the target from
  the command's start, env steps, env steps/s, and the ratio external / in-process; one
  round per seed (``--rounds``), then the median ratio over the seeds. The two runs of a
  seed cannot play the same episodes (in-process CartPole is Gymnasium's vector env, one
  random stream for all envs, drawn in the order episodes end), so the steps to the target
  differ by seed as between seeds: the median over several seeds is the comparison.
- ``parallel``: env steps/s of a short training (``--timesteps``) with 1 and with 8
  external simulators whose step costs ``--step-cost-ms`` (1 ms of busy work: a
  simulator's own computation), and the ratio 8 / 1.

How to run::

    python benchmarks/external.py target --rounds 5 --envs 4
    python benchmarks/external.py parallel --rounds 2

Results go to stdout (and ``--json FILE``); docs/external.md has the figures and the load
they were taken under. No threshold is asserted: on a shared machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "examples" / "external" / "cartpole_sim.py"
SPACES = ["--set", "env_config.observation_space={type: Box, shape: [4]}",
          "--set", "env_config.action_space={type: Discrete, n: 2}"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def train(args: list[str], out: Path, name: str, sims: int = 0, step_cost_ms: float = 0.0,
          seed: int = 0) -> dict[str, Any]:
    """One ``rlscale train`` (and its simulators); its summary with the wall-clock time."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [sys.executable, "-m", "rlscale", "train", *args, "--seed", str(seed),
               "--output", str(out), "--name", name, "--checkpoint-every", "0"]
    if sims:
        command += ["--set", f"env_config.port={port}", "--set",
                    f"env_config.simulators={sims}"]
    start = time.monotonic()
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    simulators = [subprocess.Popen([sys.executable, str(SIM), "--port", str(port), "--seed",
                                    str(seed * 100 + i), "--step-cost-ms", str(step_cost_ms)],
                                   env=env) for i in range(sims)]
    try:
        code = run.wait()
    finally:
        for sim in simulators:
            if sim.poll() is None:
                sim.kill()
            sim.wait()
    wall = time.monotonic() - start
    if code != 0:
        raise SystemExit(f"rlscale train exited with {code}: {' '.join(command)}")
    summary = json.loads((out / name / "summary.json").read_text())
    steps = summary["timesteps_total"]
    return {"wall_s": round(wall, 1), "train_s": round(summary["time_total_s"], 1),
            "steps": steps, "steps_per_s": round(steps / summary["time_total_s"]),
            "reached": summary["reached_target"], "load": load()}


def alternate(rounds: int, key: str, contestants: tuple[Any, ...],
              run: Callable[[Any, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """``run(contestant, round)`` for each contestant in turn, round after round (so that a
    change in the machine's load falls on both); each row printed as it comes."""
    rows = []
    for r in range(rounds):
        # Which goes first alternates too: the first of a pair runs on a cooler machine.
        for contestant in contestants if r % 2 == 0 else contestants[::-1]:
            rows.append({"round": r, key: contestant, **run(contestant, r)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def by_round(rows: list[dict[str, Any]], key: str) -> Iterator[tuple[int, dict[Any, Any]]]:
    """Each round's rows, by their contestant (``rows[i][key]``), for the side-by-side line."""
    for r in sorted({row["round"] for row in rows}):
        yield r, {row[key]: row for row in rows if row["round"] == r}


def target(opts: argparse.Namespace, out: Path) -> list[dict[str, Any]]:
    stop = ["--stop-reward", str(opts.reward), "--stop-timesteps", str(opts.max_steps),
            "--preset", "PPO/CartPole-v1"]
    def run(kind: str, r: int) -> dict[str, Any]:
        seed = opts.first_seed + r
        if kind == "in-process":
            args = ["--env", "CartPole-v1", *stop, "--set", f"resources.num_envs={opts.envs}",
                    "--set", "resources.num_env_runners=0"]
            return {"seed": seed, **train(args, out, f"in-{r}", seed=seed)}
        args = ["--env", "external", *stop, *SPACES]
        return {"seed": seed, **train(args, out, f"ext-{r}", sims=opts.envs, seed=seed)}

    rows = alternate(opts.rounds, "contestant", ("in-process", "external"), run)
    print_target(rows, opts.reward)
    return rows


def print_target(rows: list[dict[str, Any]], reward: float) -> None:
    """Per seed: seconds to the target side by side; then the medians over the seeds."""
    ratios, step_ratios, speed_ratios = [], [], []
    for seed in sorted({row["seed"] for row in rows}):
        pair = {row["contestant"]: row for row in rows if row["seed"] == seed}
        inp, ext = pair["in-process"], pair["external"]
        reached = inp["reached"] and ext["reached"]
        ratio = ext["wall_s"] / inp["wall_s"]
        note = "" if reached else " (target not reached by both: left out of the median)"
        print(f"seed {seed}: seconds to {reward:g}: in-process {inp['wall_s']} s "
              f"({inp['steps']} steps, {inp['steps_per_s']} steps/s, load {inp['load']}), "
              f"external {ext['wall_s']} s ({ext['steps']} steps, {ext['steps_per_s']} "
              f"steps/s, load {ext['load']}): ratio {ratio:.2f}{note}")
        if reached:
            ratios.append(ratio)
            step_ratios.append(ext["steps"] / inp["steps"])
            speed_ratios.append(ext["steps_per_s"] / inp["steps_per_s"])
    if ratios:
        print(f"median over {len(ratios)} seed(s): time-to-{reward:g} ratio external / "
              f"in-process {statistics.median(ratios):.2f} (per seed: "
              f"{', '.join(f'{r:.2f}' for r in ratios)}); steps ratio "
              f"{statistics.median(step_ratios):.2f}; steps/s ratio "
              f"{statistics.median(speed_ratios):.2f}")


def parallel(opts: argparse.Namespace, out: Path) -> list[dict[str, Any]]:
    def run(sims: int, r: int) -> dict[str, Any]:
        args = ["--env", "external", "--preset", "PPO/CartPole-v1", *SPACES,
                "--stop-timesteps", str(opts.timesteps), "--set",
                f"algo_config.train_batch_size_per_learner={opts.batch}"]
        return train(args, out, f"par{sims}-{r}", sims=sims, step_cost_ms=opts.step_cost_ms,
                     seed=r)

    rows = alternate(opts.rounds, "simulators", (1, 8), run)
    for r, pair in by_round(rows, "simulators"):
        print(f"round {r}: env steps/s with 1 simulator {pair[1]['steps_per_s']}, with 8 "
              f"{pair[8]['steps_per_s']}, ratio "
              f"{pair[8]['steps_per_s'] / pair[1]['steps_per_s']:.2f} "
              f"(step cost {opts.step_cost_ms:g} ms)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["target", "parallel"])
    parser.add_argument("--rounds", type=int, default=1,
                        help="target: seeds, one round each (--first-seed, +1, ...)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--envs", type=int, default=4, help="target: envs / simulators")
    parser.add_argument("--reward", type=float, default=450.0)
    parser.add_argument("--max-steps", type=int, default=300_000)
    parser.add_argument("--timesteps", type=int, default=8192, help="parallel: steps per run")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--step-cost-ms", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    opts = parser.parse_args()
    print(f"load before: {load()} (1/5/15 min), {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        rows = (target if opts.what == "target" else parallel)(opts, Path(folder))
    print(f"load after: {load()}")
    if opts.json:
        opts.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
