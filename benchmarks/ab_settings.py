"""A/B of RLlib settings: seconds per training iteration, variants alternating.

How to run:   python benchmarks/ab_settings.py [--env CartPole-v1] [--iters 6]
              [--variants base,no_state_sync,episodes_as_lists]
What to expect: one line per variant with the median, min and max seconds per iteration
(wall-clock around ``algo.train()``, in this process, rlscale's plan and preset) and
the change of the median against the first variant. Every variant's algorithm is built
first, with the same seed; then they train one iteration each in turn, so that load drifts
of a shared machine hit all of them alike. The first iteration of each is not counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
import slow_sim  # noqa: E402  (registers SlowCartPole-<X>ms-v0)

# Settings applied on top of rlscale's config (attributes of RLlib's AlgorithmConfig).
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    # Skip syncing connector states (e.g. observation filters) between runners each
    # iteration; rlscale's pipelines keep no state.
    "no_state_sync": {"_dont_auto_sync_env_runner_states": True},
    # Hand the learner the episodes as Python lists instead of numpy arrays.
    "episodes_as_lists": {"episodes_to_numpy": False},
    # No per-minibatch shuffling of the batch in each epoch.
    "no_shuffle": {"shuffle_batch_per_epoch": False},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--iters", type=int, default=6)
    parser.add_argument("--variants", default="base,no_state_sync,episodes_as_lists")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import ray
    import torch

    from rlscale.config import resolve_experiment
    from rlscale.runners import prepare_job
    from rlscale.runners.session import quiet_ray_environment

    torch.set_num_threads(1)
    quiet_ray_environment()
    os.environ.setdefault("SLOW_SIM_LOOPS_PER_MS", f"{slow_sim.loops_per_ms():.1f}")
    packages = ["slow_sim"] if slow_sim.step_ms_of(args.env) is not None else []
    exp, preset = resolve_experiment(None, [], {
        "env": args.env, "output": "/tmp", "name": "ab", "seed": 0, "env_packages": packages})
    job = prepare_job(exp, preset, mode="overwrite", check_env=False)
    names = args.variants.split(",")
    ray.init(address="local", num_cpus=job.plan.total_cpus, include_dashboard=False,
             log_to_driver=False)
    try:
        algos = {}
        for name in names:
            config = job.algo_config.copy(copy_frozen=False)
            for key, value in VARIANTS[name].items():
                setattr(config, key, value)
            algos[name] = config.build_algo()
            algos[name].train()  # warm-up
        times: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(args.iters):
            for name in names:
                start = time.perf_counter()
                algos[name].train()
                times[name].append(time.perf_counter() - start)
        print(f"{args.env}, preset {preset}, plan {job.plan.num_env_runners} runner(s) x "
              f"{job.plan.num_envs_per_env_runner} envs, {args.iters} iterations each, "
              f"alternating; load {os.getloadavg()[0]:.1f}")
        base = statistics.median(times[names[0]])
        for name in names:
            med = statistics.median(times[name])
            print(f"  {name:<20} median {med:6.3f} s (min {min(times[name]):.3f}, max "
                  f"{max(times[name]):.3f}) {med / base - 1:+6.1%}")
        for algo in algos.values():
            algo.stop()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
