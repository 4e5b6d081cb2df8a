"""Sampling throughput: env steps/s of a raw Gymnasium loop, a Gymnasium vector env, and
rlscale's plan with 1..N env runners x E envs per runner.

How to run:   python benchmarks/throughput.py [--env CartPole-v1] [--seconds 5]
              [--runners 0,1,2] [--envs 1,8,32]
              python benchmarks/throughput.py --env SlowCartPole-0.5ms-v0 --envs 8
              (the slow simulator of slow_sim.py: CartPole with 0.1, 0.5 or 2 ms of CPU work
              per step)
What to expect: a table of env steps/s; the raw loop is the per-core ceiling; rlscale's
rows give the fraction of that ceiling reached and the scaling per added env runner.
Sampling only (no learning): the env runners step with the current (random-init) policy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# Ray's workers import slow_sim too (an env package): put this folder on their path.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
import slow_sim  # noqa: E402  (registers SlowCartPole-<X>ms-v0)

# Every process does the same work per step (the calibration is made once, here).
os.environ.setdefault("SLOW_SIM_LOOPS_PER_MS", f"{slow_sim.loops_per_ms():.1f}")


def raw_loop(env_id: str, seconds: float) -> float:
    """One env, random actions, as fast as Python goes."""
    env = gym.make(env_id)
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                env.reset()
        steps += 1000
    return steps / (time.perf_counter() - start)


def vector_loop(env_id: str, num_envs: int, seconds: float, mode: str = "sync") -> float:
    """A Gymnasium vector env (``sync``: a SyncVectorEnv; ``vector_entry_point``: the env's
    own vectorized implementation, e.g. CartPole's) with batched random actions."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    envs.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            envs.step(envs.action_space.sample())
        steps += 100 * num_envs
    return steps / (time.perf_counter() - start)


def rlscale_sampling(env_id: str, runners: int, envs: int, seconds: float) -> float:
    """rlscale's plan (its RLlib config), sampling only: env steps/s over all runners."""
    import ray
    import torch

    from rlscale.config import resolve_experiment
    from rlscale.runners import prepare_job
    from rlscale.runners.session import quiet_ray_environment, start_local_ray

    quiet_ray_environment()
    packages = ["slow_sim"] if slow_sim.step_ms_of(env_id) is not None else []
    exp, preset = resolve_experiment(None, flags={
        "env": env_id, "output": "/tmp", "name": "throughput", "env_packages": packages,
        "resources": {"num_cpus": runners + 1, "num_env_runners": runners,
                      "num_envs_per_env_runner": envs},
    })
    job = prepare_job(exp, preset, mode="overwrite", check_env=False)
    # As `rlscale train` starts it: its own local Ray, one PyTorch thread per process
    # (this one included: with 0 env runners it steps the envs itself).
    torch.set_num_threads(job.plan.torch_threads)
    start_local_ray(runners + 1, 0, torch_threads=job.plan.torch_threads)
    try:
        algo = job.algo_config.build_algo()
        group = algo.env_runner_group
        chunk = 2000

        def sample_all() -> int:
            if runners == 0:
                episodes = group.local_env_runner.sample(num_timesteps=chunk)
                return sum(len(e) for e in episodes)
            results = group.foreach_env_runner(
                lambda w: sum(len(e) for e in w.sample(num_timesteps=chunk)),
                local_env_runner=False,
            )
            return int(np.sum(results))

        sample_all()  # warm-up: first forward passes, connector setup
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            steps += sample_all()
        rate = steps / (time.perf_counter() - start)
        algo.stop()
        return rate
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runners", default="0,1,2")
    parser.add_argument("--envs", default="1,8,32")
    args = parser.parse_args()
    runner_counts = [int(x) for x in args.runners.split(",")]
    env_counts = [int(x) for x in args.envs.split(",")]

    rows: list[tuple[str, float]] = []
    ceiling = raw_loop(args.env, args.seconds)
    rows.append(("raw Gymnasium loop, 1 env", ceiling))
    native = gym.spec(args.env).vector_entry_point is not None
    for n in env_counts:
        rows.append((f"Gymnasium SyncVectorEnv, {n} envs", vector_loop(args.env, n, args.seconds)))
        if native:
            rows.append((f"Gymnasium native vector env, {n} envs",
                         vector_loop(args.env, n, args.seconds, "vector_entry_point")))
    by_plan: dict[tuple[int, int], float] = {}
    for envs in env_counts:
        for runners in runner_counts:
            rate = rlscale_sampling(args.env, runners, envs, args.seconds)
            by_plan[(runners, envs)] = rate
            where = "main process" if runners == 0 else f"{runners} env runner(s)"
            rows.append((f"rlscale: {where} x {envs} envs", rate))

    cores = len(os.sched_getaffinity(0))  # the cores this process may run on
    print(f"\n{args.env}, {args.seconds:g} s per row, {cores} cores\n")
    print(f"{'what':<44} {'env steps/s':>12} {'of raw':>8}")
    for what, rate in rows:
        print(f"{what:<44} {rate:>12,.0f} {rate / ceiling:>8.1%}")
    print("\nScaling per added env runner (same envs per runner):")
    for envs in env_counts:
        base = by_plan.get((1, envs))
        for runners in runner_counts:
            if runners > 1 and base:
                print(f"  {envs:>3} envs: {runners} runners / 1 runner = "
                      f"{by_plan[(runners, envs)] / base:.2f}x "
                      f"(efficiency {by_plan[(runners, envs)] / base / runners:.0%})")


if __name__ == "__main__":
    main()
