"""rlscale's own `rlscale train`, with its defaults, on the benchmark's episode-logged env.

How to run: python benchmarks/baselines/rlscale_train.py --env CartPole-v1 --seed 0
            --log /tmp/episodes.txt --output /tmp/runs [--algo PPO]
The env is `Logged-<env>` (the same env, and the same vectorized env where it has one,
wrapped to log episodes by episode_log), so rlscale's automatic preset match is made
explicit with `--preset ALGO/<env>` (or, with --generic, the `ALGO/default` preset that an
env without its own preset gets); everything else (resource
plan, Ray start, Tune run, run directory) is exactly what `rlscale train --env <env>` does.
Trains until killed (the benchmark stops it once the target is reached).
``--engine driver|tune`` picks the path of a local run (the algorithm in this process, or in
Tune's trial actor); by default rlscale chooses (``auto``: a local run trains in this
process), as `rlscale train` does. It calls the library (``rlscale.train``), as a user's
script would.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", required=True)
    parser.add_argument("--algo", default="PPO")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--generic", action="store_true",
                        help="the algorithm's preset for envs without their own (ALGO/default), "
                             "as a custom env gets")
    parser.add_argument("--engine", choices=["auto", "driver", "tune"], default="auto")
    parser.add_argument("--sampling", choices=["sync", "async"], default=None,
                        help="the experiment's sampling key (default: rlscale's)")
    args = parser.parse_args()

    # rlscale checks the env with random-action episodes in this process before training
    # (its default, part of its start-up): those are not training episodes, and episode_log
    # does not log the episodes of envs rlscale builds outside RLlib.
    from episode_log import logged_id

    import rlscale
    from rlscale.config.presets import FALLBACK, preset_for

    name = logged_id(args.env)
    preset = preset_for(args.algo, FALLBACK if args.generic else args.env)
    if hasattr(rlscale, "train"):
        rlscale.train({
            "env": name, "algo": args.algo, "preset": preset or "none", "seed": args.seed,
            "env_config": {"log": args.log},
            # rlscale's env runners import the module that registers the logged ids
            "env_packages": ["episode_log"],
            "output": args.output, "name": f"{args.env}-{args.seed}",
            **({"sampling": args.sampling} if args.sampling else {}),
        }, engine=args.engine)
        return
    # Before the library API (rlscale.train) existed: the CLI, as a user types it.
    from rlscale.cli.app import main as rlscale_main

    engine = [] if args.engine == "auto" else ["--engine", args.engine]
    sys.argv = ["rlscale", "train", "--env", name, "--algo", args.algo,
                "--preset", preset or "none",
                "--seed", str(args.seed), "--set", f"env_config.log={args.log}",
                # rlscale's env runners import the module that registers the logged ids
                "--set", "env_packages=[episode_log]",
                "--output", args.output, "--name", f"{args.env}-{args.seed}", *engine]
    rlscale_main()


if __name__ == "__main__":
    main()
