"""Where a training iteration spends its time: sampling, learner update, the rest.

How to run:   python benchmarks/profile_iteration.py [--env CartPole-v1] [--algo PPO]
              [--iters 5] [--torch-threads 1] [--cprofile 25] [--set algo_config.KEY=V ...]
What to expect: per iteration, RLlib's own timers (env runner sampling, learner update,
the whole iteration) for rlscale's plan and preset, run in this process (no Tune); with
--cprofile N, the N functions with the most cumulative time over all iterations.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--algo", default="PPO")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument("--set", action="append", default=[], dest="sets")
    args = parser.parse_args()

    os.environ["OMP_NUM_THREADS"] = str(args.torch_threads)
    start = time.perf_counter()
    import ray
    import torch

    from rlscale.config import resolve_experiment
    from rlscale.runners import prepare_job
    from rlscale.runners.session import quiet_ray_environment

    torch.set_num_threads(args.torch_threads)
    quiet_ray_environment()
    exp, preset = resolve_experiment(None, args.sets, {
        "env": args.env, "algo": args.algo, "output": "/tmp", "name": "profile"})
    job = prepare_job(exp, preset, mode="overwrite", check_env=False)
    imported = time.perf_counter()
    ray.init(address="local", num_cpus=job.plan.total_cpus, include_dashboard=False,
             log_to_driver=False)
    initialized = time.perf_counter()
    try:
        algo = job.algo_config.build_algo()
        built = time.perf_counter()
        print(f"{args.algo} on {args.env}, preset {preset}, plan: {job.plan.num_env_runners} "
              f"runner(s) x {job.plan.num_envs_per_env_runner} envs, torch threads "
              f"{torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}")
        print(f"start-up: imports+config {imported - start:.1f} s, ray.init "
              f"{initialized - imported:.1f} s, algorithm build {built - initialized:.1f} s")
        profiler = cProfile.Profile() if args.cprofile else None
        rows = []
        for _ in range(args.iters):
            if profiler:
                profiler.enable()
            result = algo.train()
            if profiler:
                profiler.disable()
            timers = result.get("timers", {})
            total = timers.get("training_iteration", float("nan"))
            sample = timers.get("env_runner_sampling_timer", float("nan"))
            learn = timers.get("learner_update_timer", float("nan"))
            steps = result["env_runners"].get("num_env_steps_sampled", 0)
            rows.append((total, sample, learn, steps))
            print(f"  iteration {total:6.2f} s: sampling {sample:6.2f} s, learner update "
                  f"{learn:6.2f} s, other {total - sample - learn:5.2f} s; {steps} env steps; "
                  f"return {result['env_runners'].get('episode_return_mean', float('nan')):.1f}")
        med = [statistics.median(r[i] for r in rows) for i in range(3)]
        print(f"median: sampling {med[1] / med[0]:.0%}, learner {med[2] / med[0]:.0%}, "
              f"other {(med[0] - med[1] - med[2]) / med[0]:.0%} of {med[0]:.2f} s")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.cprofile)
        algo.stop()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
