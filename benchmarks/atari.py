"""Atari side by side: rlscale's PPO/atari preset vs Stable-Baselines3's Atari PPO
(``AtariWrapper``, ``CnnPolicy``, RL Baselines3 Zoo's hyperparameters), same env, same seed,
same time budget each, the contestants alternating.

How to run (from the repository root; needs the atari extra and SB3):
    .venv/bin/pip install -e '.[atari]' -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/atari.py --env ALE/Pong-v5 --budget-s 1800          # the issue's
    .venv/bin/python benchmarks/atari.py --env ALE/Pong-v5 --budget-s 120 --rounds 1  # a smoke run
What to expect: one row per contestant and round: env steps, training seconds (the time
budget), wall-clock seconds (process start to end, start-up included), env steps per second
of training and of wall clock, and the mean return of the last 100 training episodes
(rlscale: of clipped rewards, the same as the score for Pong; SB3: the game's score, read
before its reward clipping); then the steps/s ratio rlscale / SB3 of each round and the
machine's load average before each contestant. The table is also written to --out.

Both play ``ALE/Pong-v5`` (sticky actions 0.25, as v5 defaults) with ALE's frame skipping
off (``frameskip: 1``) and the wrappers skipping 4 frames, 30 no-ops at reset, 84x84
grayscale, rewards clipped, 4 frames stacked, 8 envs, 128-step rollouts per env, 4 epochs of
256-sample minibatches, lr 2.5e-4 and clip 0.1 (SB3 anneals both linearly over the Zoo's 10M
steps; rlscale anneals the lr), entropy 0.01. rlscale: ``rlscale train --env ALE/Pong-v5
--preset auto --stop-time BUDGET`` (its plan spreads the envs over env runners on the cores
given by --num-cpus); SB3: one process, ``make_atari_env`` (DummyVecEnv, as the Zoo) and
``VecFrameStack``, stopped by a callback after BUDGET seconds of ``learn``. Each contestant
runs in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RLSCALE = "rlscale PPO/atari"
SB3 = "SB3 Atari PPO"


def load() -> str:
    """The 1-minute load average and the core count, as text."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def run_sb3_here(env_id: str, budget_s: float, seed: int) -> dict[str, Any]:
    """Train SB3's Atari PPO for ``budget_s`` seconds in this process; the figures."""
    start = time.monotonic()
    import ale_py  # noqa: F401  (registers the ALE ids)
    import numpy as np
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    class Budget(BaseCallback):  # type: ignore[misc]
        def _on_training_start(self) -> None:
            self.began = time.monotonic()

        def _on_step(self) -> bool:
            return time.monotonic() - self.began < budget_s

    env = VecFrameStack(make_atari_env(env_id, n_envs=8, seed=seed,
                                       env_kwargs={"frameskip": 1}), n_stack=4)

    def linear(initial: float) -> Any:
        return lambda progress: progress * initial

    model = PPO("CnnPolicy", env, n_steps=128, n_epochs=4, batch_size=256,
                learning_rate=linear(2.5e-4), clip_range=linear(0.1), vf_coef=0.5,
                ent_coef=0.01, seed=seed, verbose=0, device="cpu")
    callback = Budget()
    model.learn(total_timesteps=10_000_000, callback=callback)
    train_s = time.monotonic() - callback.began
    infos = list(model.ep_info_buffer)
    return {"steps": int(model.num_timesteps), "train_s": train_s,
            "wall_s": time.monotonic() - start,
            "return_100": float(np.mean([e["r"] for e in infos])) if infos else None,
            "episodes": len(infos)}


def run_sb3(env_id: str, budget_s: float, seed: int) -> dict[str, Any]:
    """SB3 in a process of its own (this script with --sb3-worker)."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, __file__, "--sb3-worker", "--env", env_id,
                           "--budget-s", str(budget_s), "--seed", str(seed)],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"SB3 failed:\n{proc.stdout}\n{proc.stderr}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["wall_s"] = time.monotonic() - start
    return row


def run_rlscale(env_id: str, budget_s: float, seed: int, num_cpus: int) -> dict[str, Any]:
    """``rlscale train --preset auto --stop-time BUDGET`` in a process of its own."""
    out = Path(tempfile.mkdtemp(prefix="rlscale-atari-"))
    cmd = [sys.executable, "-m", "rlscale", "train", "--env", env_id, "--preset", "auto",
           "--stop-time", str(budget_s), "--seed", str(seed), "--num-cpus", str(num_cpus),
           "--name", "run", "--output", str(out), "--checkpoint-every", "0"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"rlscale train failed:\n{proc.stdout}\n{proc.stderr}")
    summary = json.loads((out / "run" / "summary.json").read_text())
    return {"steps": summary["timesteps_total"], "train_s": summary["time_total_s"],
            "wall_s": wall, "return_100": summary["last_episode_return_mean"],
            "run_dir": str(out / "run")}


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def table(env_id: str, budget_s: float, seed: int, rows: list[dict[str, Any]]) -> str:
    """The Markdown table of every contestant and round, and the ratios."""
    lines = [f"{env_id}, {budget_s:g} s of training each, seed {seed}", "",
             "| round | contestant | env steps | training s | wall-clock s | steps/s (training)"
             " | steps/s (wall) | return (last 100 episodes) | load before |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(
            f"| {r['round']} | {r['name']} | {r['steps']:,} | {r['train_s']:.1f} | "
            f"{r['wall_s']:.1f} | {r['steps'] / r['train_s']:.1f} | "
            f"{r['steps'] / r['wall_s']:.1f} | {_fmt(r['return_100'])} | {r['load']} |")
    lines.append("")
    for rnd in sorted({r["round"] for r in rows}):
        pair = {r["name"]: r for r in rows if r["round"] == rnd}
        if RLSCALE in pair and SB3 in pair:
            ours, peer = pair[RLSCALE], pair[SB3]
            ratio = (ours["steps"] / ours["train_s"]) / (peer["steps"] / peer["train_s"])
            wall = (ours["steps"] / ours["wall_s"]) / (peer["steps"] / peer["wall_s"])
            lines.append(f"round {rnd}: env steps/s rlscale / SB3: {ratio:.2f} (training), "
                         f"{wall:.2f} (wall clock)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="ALE/Pong-v5")
    parser.add_argument("--budget-s", type=float, default=1800.0,
                        help="seconds of training per contestant and round")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds; contestants alternate who goes first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count() or 1,
                        help="cores rlscale's plan may use (SB3 runs in one process)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        "atari.md")
    parser.add_argument("--sb3-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sb3_worker:
        sys.stdout.write(json.dumps(run_sb3_here(args.env, args.budget_s, args.seed)) + "\n")
        return
    rows: list[dict[str, Any]] = []
    for rnd in range(1, args.rounds + 1):
        order = [RLSCALE, SB3] if rnd % 2 else [SB3, RLSCALE]
        for name in order:
            before = load()
            sys.stderr.write(f"round {rnd}: {name} ({before})...\n")
            if name == RLSCALE:
                row = run_rlscale(args.env, args.budget_s, args.seed, args.num_cpus)
            else:
                row = run_sb3(args.env, args.budget_s, args.seed)
            rows.append({**row, "name": name, "round": rnd, "load": before})
    text = table(args.env, args.budget_s, args.seed, rows)
    sys.stdout.write(text + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
