"""Stable-Baselines3 PPO with RL Baselines3 Zoo's published hyperparameters (hyperparams/ppo.yml).

How to run: python benchmarks/baselines/sb3_ppo.py --env CartPole-v1 --seed 0 --log /tmp/ep.txt
Needs: pip install -r benchmarks/requirements.txt. Trains for the Zoo's n_timesteps (its
schedules decay over exactly that budget, as in the Zoo) or until killed.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()

    from episode_log import LoggedEnv
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    hp = dict(ZOO[args.env])
    n_envs, steps = hp.pop("n_envs"), int(hp.pop("n_timesteps"))
    normalize = hp.pop("normalize", False)
    env = make_vec_env(LoggedEnv, n_envs=n_envs, seed=args.seed,
                       env_kwargs={"config": {"env_id": args.env, "log": args.log}})
    if normalize:
        env = VecNormalize(env)
    for key in ("learning_rate", "clip_range"):
        if key in hp:
            hp[key] = _schedule(hp[key])
    model = PPO("MlpPolicy", env, seed=args.seed, verbose=0, device="cpu", **hp)
    model.learn(total_timesteps=steps)


if __name__ == "__main__":
    main()
