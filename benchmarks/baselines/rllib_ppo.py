"""Raw RLlib PPO, as a user writes it: RLlib's default config or the RLlib repo's tuned example.

How to run: python benchmarks/baselines/rllib_ppo.py --env CartPole-v1 --config default
            --seed 0 --log /tmp/episodes.txt
Trains until killed (the benchmark stops it once the target is reached).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Hyperparameters of the RLlib repository's tuned examples (rllib/tuned_examples/ppo/).
TUNED = {
    "CartPole-v1": dict(
        training=dict(gamma=0.99, lr=0.0003, num_epochs=6, vf_loss_coeff=0.01, use_kl_loss=True),
        model=dict(fcnet_hiddens=[32], fcnet_activation="linear", vf_share_layers=True),
    ),
    "Pendulum-v1": dict(
        env_runners=dict(num_env_runners=2, num_envs_per_env_runner=10),
        training=dict(lr=0.0003, lambda_=0.1, vf_clip_param=10.0, num_epochs=6),
        model=dict(fcnet_activation="relu"),
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", required=True)
    parser.add_argument("--config", choices=["default", "tuned"], default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    import ray
    from episode_log import LoggedEnv
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env

    # A new local Ray of its own (never another one running on this machine), as rlscale does.
    ray.init(address="local", include_dashboard=False, log_to_driver=False)
    register_env("logged", lambda cfg: LoggedEnv(dict(cfg)))
    config = PPOConfig().environment("logged", env_config={"env_id": args.env, "log": args.log})
    config.debugging(seed=args.seed)
    if args.config == "tuned":
        tuned = TUNED[args.env]
        config.training(**tuned.get("training", {}))
        config.env_runners(**tuned.get("env_runners", {}))
        config.rl_module(model_config=tuned.get("model", {}))
    algo = config.build_algo()
    while True:
        algo.train()


if __name__ == "__main__":
    main()
