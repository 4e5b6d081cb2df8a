"""MuJoCo side by side: rlscale's PPO preset vs Stable-Baselines3 PPO with RL Baselines3
Zoo's hyperparameters, same env, same seed, same step budget.

How to run (from the repository root; needs the mujoco extra and SB3):
    .venv/bin/pip install -e '.[mujoco]' -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/continuous_control.py --env HalfCheetah-v5 --steps 1000000
    .venv/bin/python benchmarks/continuous_control.py --env Hopper-v5 --steps 20000   # a smoke run
What to expect: one line per contestant with its wall-clock seconds (process start to the
end of training), the mean return of its last 100 training episodes, the mean return of
--eval-episodes greedy episodes with the trained policy (its saved observation statistics
applied), and the ratios rlscale / SB3. CleanRL's published PPO figure at 1M steps is
printed beside them (a reference, not run here). The table is also written to --out.

rlscale trains with ``rlscale train --env ENV --preset auto`` (PPO/HalfCheetah-v5 or
PPO/Hopper-v5: CleanRL's PPO recipe in RLlib terms, the actions' log-std starting at the
Zoo's -2, observations normalized) and is evaluated by ``rlscale evaluate``. SB3 trains with
the Zoo's ``hyperparams/ppo.yml`` entry for the env (VecNormalize of observations and
rewards, as the Zoo's ``normalize: true``); its greedy
episodes use the frozen observation statistics and raw rewards. Contestants run one after
the other, each in a process of its own.
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

import yaml

ROOT = Path(__file__).resolve().parents[1]

# RL Zoo's PPO entries (hyperparams/ppo.yml, HalfCheetah-v4 / Hopper-v4: 1M steps), all with
# normalize: true, one env, and policy_kwargs log_std_init=-2, ortho_init=False, ReLU,
# separate 256x256 policy and value networks.
ZOO = {
    "HalfCheetah": dict(n_steps=512, batch_size=64, gamma=0.98, learning_rate=2.0633e-05,
                        ent_coef=0.000401762, clip_range=0.1, n_epochs=20, gae_lambda=0.92,
                        max_grad_norm=0.8, vf_coef=0.58096),
    "Hopper": dict(n_steps=512, batch_size=32, gamma=0.999, learning_rate=9.80828e-05,
                   ent_coef=0.00229519, clip_range=0.2, n_epochs=5, gae_lambda=0.99,
                   max_grad_norm=0.7, vf_coef=0.835671),
}
# CleanRL's published PPO (ppo_continuous_action.py) at 1M steps, mean +- std over seeds.
CLEANRL = {"HalfCheetah": "1442 +- 46 (v4)", "Hopper": "2383 +- 272 (v4)"}


def family(env: str) -> str:
    """``HalfCheetah-v5`` -> ``HalfCheetah``."""
    name = env.split("-v")[0]
    if name not in ZOO:
        raise SystemExit(f"no Zoo entry for {env}; use one of "
                         + ", ".join(f"{k}-v5" for k in ZOO))
    return name


def run_sb3(env_id: str, steps: int, seed: int, episodes: int, threads: int | None) -> dict:
    """Train and evaluate SB3 PPO in this process; the figures as a dict."""
    start = time.monotonic()
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    if threads:
        torch.set_num_threads(threads)
    env = VecNormalize(make_vec_env(env_id, n_envs=1, seed=seed))
    policy_kwargs = dict(log_std_init=-2, ortho_init=False, activation_fn=torch.nn.ReLU,
                         net_arch=dict(pi=[256, 256], vf=[256, 256]))
    model = PPO("MlpPolicy", env, seed=seed, verbose=0, device="cpu",
                policy_kwargs=policy_kwargs, **ZOO[family(env_id)])
    model.learn(total_timesteps=steps)
    wall = time.monotonic() - start
    infos = list(model.ep_info_buffer)
    train_return = float(np.mean([e["r"] for e in infos])) if infos else None
    env.training, env.norm_reward = False, False
    returns = []
    eval_env = gym.make(env_id)
    for i in range(episodes):
        obs, _ = eval_env.reset(seed=10_000 + i)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(env.normalize_obs(obs[None]), deterministic=True)
            obs, reward, terminated, truncated, _ = eval_env.step(action[0])
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return {"wall_s": wall, "train_s": wall, "train_return": train_return,
            "eval_return": float(np.mean(returns)), "steps": model.num_timesteps}


def run_rlscale(env_id: str, steps: int, seed: int, episodes: int) -> dict:
    """``rlscale train`` then ``rlscale evaluate`` in processes of their own."""
    out = Path(tempfile.mkdtemp(prefix="rlscale-mujoco-"))
    cmd = [sys.executable, "-m", "rlscale", "train", "--env", env_id, "--preset", "auto",
           "--stop-timesteps", str(steps), "--seed", str(seed), "--name", "run",
           "--output", str(out)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"rlscale train failed:\n{proc.stdout}\n{proc.stderr}")
    run = out / "run"
    summary = json.loads((run / "summary.json").read_text())
    # The policy at the end of the budget, as SB3's (not the best checkpoint).
    ev = subprocess.run([sys.executable, "-m", "rlscale", "evaluate", str(run), "--checkpoint",
                         "last", "--episodes", str(episodes), "--seed", "10000", "--json"],
                        cwd=ROOT,
                        capture_output=True, text=True)
    if ev.returncode != 0:
        raise SystemExit(f"rlscale evaluate failed:\n{ev.stdout}\n{ev.stderr}")
    return {"wall_s": wall, "train_s": summary["time_total_s"],
            "train_return": summary["last_episode_return_mean"],
            "eval_return": json.loads(ev.stdout)["return_mean"],
            "steps": summary["timesteps_total"],
            "preset": yaml.safe_load((run / "config.yaml").read_text()).get("preset"),
            "run_dir": str(run)}


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def table(env_id: str, steps: int, seed: int, rows: dict[str, dict]) -> str:
    """The Markdown table of the contestants and the ratios."""
    lines = [f"{env_id}, {steps:,} env steps, seed {seed} (CleanRL's PPO at 1M steps: "
             f"{CLEANRL[family(env_id)]}; published, not run here)", "",
             "| contestant | env steps | wall-clock s | training s | train return (last 100) "
             "| greedy eval return |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['steps']:,} | {r['wall_s']:.1f} | {r['train_s']:.1f} | "
                     f"{_fmt(r['train_return'])} | {_fmt(r['eval_return'])} |")
    ours, sb3 = rows.get("rlscale"), rows.get("SB3 + RL Zoo")
    if ours and sb3:
        lines += ["", f"wall-clock ratio rlscale / SB3: {ours['wall_s'] / sb3['wall_s']:.2f}"]
        if sb3["eval_return"]:
            lines.append("greedy eval return ratio rlscale / SB3: "
                         f"{ours['eval_return'] / sb3['eval_return']:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="HalfCheetah-v5", help="HalfCheetah-v5 or Hopper-v5")
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per contestant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--contestants", default="rlscale,SB3 + RL Zoo")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="PyTorch threads for SB3 [default: PyTorch's choice]")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    parser.add_argument("--sb3-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    family(args.env)
    if args.sb3_child:  # the SB3 contestant, in a process of its own
        print(json.dumps(run_sb3(args.env, args.steps, args.seed, args.eval_episodes,
                                 args.torch_threads)))
        return
    rows: dict[str, dict] = {}
    for name in args.contestants.split(","):
        if name == "rlscale":
            rows[name] = run_rlscale(args.env, args.steps, args.seed, args.eval_episodes)
        elif name == "SB3 + RL Zoo":
            cmd = [sys.executable, __file__, "--sb3-child", "--env", args.env, "--steps",
                   str(args.steps), "--seed", str(args.seed), "--eval-episodes",
                   str(args.eval_episodes)]
            if args.torch_threads:
                cmd += ["--torch-threads", str(args.torch_threads)]
            start = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if proc.returncode != 0:
                raise SystemExit(f"SB3 failed:\n{proc.stderr}")
            rows[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            rows[name]["wall_s"] = time.monotonic() - start  # from process start, as rlscale
        else:
            raise SystemExit(f"unknown contestant {name!r}")
        print(f"{name}: {json.dumps(rows[name])}", flush=True)
    text = table(args.env, args.steps, args.seed, rows)
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
