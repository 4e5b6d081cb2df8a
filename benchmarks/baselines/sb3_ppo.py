"""Stable-Baselines3 PPO: RL Baselines3 Zoo's published hyperparameters (hyperparams/ppo.yml),
or SB3's defaults with rlscale's ``PPO/default`` batch and epochs (``--hp default``).

How to run: python benchmarks/baselines/sb3_ppo.py --env CartPole-v1 --seed 0 --log /tmp/ep.txt
            python benchmarks/baselines/sb3_ppo.py --env SlowCartPole-0.5ms-v0 --hp default
                --vec subproc --seed 0 --log /tmp/ep.txt
Needs: pip install -r benchmarks/requirements.txt. Trains for the Zoo's n_timesteps (its
schedules decay over exactly that budget, as in the Zoo) or until killed.

``--hp default``: SB3 PPO's defaults (lr 3e-4, gamma 0.99, GAE lambda 0.95, clip 0.2, value
loss x 0.5, gradient norm 0.5, 64x64 tanh networks: the same as ``PPO/default``) with
``PPO/default``'s 2,048-step batch learned in 10 epochs of 256-sample minibatches. ``--vec
dummy``: 8 envs in this one process (DummyVecEnv, 256 steps each per batch), as
``PPO/default``'s 8 envs; ``--vec subproc``: one env process per core (SubprocVecEnv,
2,048 / cores steps each per batch). With ``--hp default`` PyTorch runs one thread per
process, as rlscale's processes do.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# RL Zoo's ppo.yml entries (rl-zoo3 2.9.2; "lin_X" = linear schedule from X to 0).
ZOO = {
    "CartPole-v1": dict(n_envs=8, n_timesteps=1e5, n_steps=32, batch_size=256, gae_lambda=0.8,
                        gamma=0.98, n_epochs=20, ent_coef=0.0, learning_rate="lin_0.001",
                        clip_range="lin_0.2"),
    "Acrobot-v1": dict(normalize=True, n_envs=16, n_timesteps=1e6, n_steps=256, gae_lambda=0.94,
                       gamma=0.99, n_epochs=4, ent_coef=0.0),
    "Pendulum-v1": dict(n_envs=4, n_timesteps=1e5, n_steps=1024, gae_lambda=0.95, gamma=0.9,
                        n_epochs=10, ent_coef=0.0, learning_rate=1e-3, clip_range=0.2,
                        use_sde=True, sde_sample_freq=4),
}


def default_hp(vec: str) -> dict:
    """SB3's PPO defaults with PPO/default's batch (2,048 steps) and epochs (10 x 256)."""
    n_envs = 8 if vec == "dummy" else len(os.sched_getaffinity(0))
    return dict(n_envs=n_envs, n_timesteps=1e8, n_steps=2048 // n_envs, batch_size=256,
                n_epochs=10)


def _schedule(value):
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])
        return lambda progress: progress * start
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--hp", choices=["zoo", "default"], default="zoo")
    parser.add_argument("--vec", choices=["dummy", "subproc"], default="dummy")
    parser.add_argument("--first-update", action="store_true",
                        help="print 'first update' once the first update is done, then stop "
                             "(benchmarks/startup.py's launch to first update)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="PyTorch threads (default: PyTorch's choice; 1 with --hp default)")
    args = parser.parse_args()
    threads = args.torch_threads or (1 if args.hp == "default" else None)

    import torch
    from episode_log import LoggedEnv
    from stable_baselines3 import PPO

    if threads:
        # One thread per process, as rlscale runs: on a busy 2-core machine SB3 with
        # PyTorch's 2 threads sampled 4.1k steps in 20 s, with 1 thread 19.6k.
        torch.set_num_threads(threads)
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    hp = dict(ZOO[args.env]) if args.hp == "zoo" else default_hp(args.vec)
    n_envs, steps = hp.pop("n_envs"), int(hp.pop("n_timesteps"))
    normalize = hp.pop("normalize", False)
    env = make_vec_env(LoggedEnv, n_envs=n_envs, seed=args.seed,
                       env_kwargs={"config": {"env_id": args.env, "log": args.log}},
                       vec_env_cls=SubprocVecEnv if args.vec == "subproc" else DummyVecEnv)
    if normalize:
        env = VecNormalize(env)
    for key in ("learning_rate", "clip_range"):
        if key in hp:
            hp[key] = _schedule(hp[key])
    model = PPO("MlpPolicy", env, seed=args.seed, verbose=0, device="cpu", **hp)
    model.learn(total_timesteps=steps, callback=_FirstUpdate() if args.first_update else None)


def _FirstUpdate():  # noqa: N802  (a class, made here once SB3 is imported)
    from stable_baselines3.common.callbacks import BaseCallback

    class FirstUpdate(BaseCallback):
        """Prints 'first update' when the second rollout starts (the first update is
        done), then stops the training."""

        def __init__(self) -> None:
            super().__init__()
            self.rollouts = 0

        def _on_rollout_start(self) -> None:
            self.rollouts += 1
            if self.rollouts == 2:
                print("first update", flush=True)

        def _on_step(self) -> bool:
            return self.rollouts < 2

    return FirstUpdate()


if __name__ == "__main__":
    main()
