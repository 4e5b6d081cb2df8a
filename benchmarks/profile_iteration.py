"""Where a training iteration spends its time: sampling, learner update, the rest.

How to run:   python benchmarks/profile_iteration.py [--env CartPole-v1] [--algo PPO]
              [--iters 5] [--torch-threads 1] [--cprofile 25] [--set algo_config.KEY=V ...]
              python benchmarks/profile_iteration.py --env SlowCartPole-0.5ms-v0 --breakdown
What to expect: per iteration, RLlib's own timers (env runner sampling, learner update,
the whole iteration) for rlscale's plan and preset, run in this process (no Tune); with
--cprofile N, the N functions with the most cumulative time over all iterations; with
--breakdown, the profiled time split into the env, the connector pipelines, the module's
forward passes, episode bookkeeping, the metrics logger, loss, backward, optimizer
(cProfile's own overhead inflates the Python-heavy parts: compare shares, not seconds).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
import slow_sim  # noqa: E402  (registers SlowCartPole-<X>ms-v0)

# (label, file path fragment, function name or None for all, "ct" cumulative / "tt" own time)
BREAKDOWN = [
    ("sampling (env runner sample)", "env/single_agent_env_runner.py", "sample", "ct"),
    ("  env step (vector env)", "gymnasium/", "step", "ct"),
    ("  env-to-module connectors", "env_to_module/env_to_module_pipeline.py", "__call__", "ct"),
    ("  module forward (exploration)", "core/rl_module/", "forward_exploration", "ct"),
    # The module-to-env pipeline is the plain ConnectorPipelineV2 called by the env runner.
    ("  module-to-env connectors", "connectors/connector_pipeline_v2.py", "__call__",
     "from:env/single_agent_env_runner.py"),
    ("  episode bookkeeping (own time)", "env/single_agent_episode.py", None, "tt"),
    ("  lookback buffers (own time)", "env/utils/infinite_lookback_buffer.py", None, "tt"),
    ("learner update", "core/learner/learner.py", "update", "ct"),
    ("  learner connectors (GAE etc.)", "learner/learner_connector_pipeline.py", "__call__",
     "ct"),
    ("  loss (incl. forward_train)", "core/learner/learner.py", "compute_losses", "ct"),
    ("  backward (compute_gradients)", "core/learner/torch/torch_learner.py",
     "compute_gradients", "ct"),
    ("  gradient clipping", "core/learner/learner.py", "postprocess_gradients", "ct"),
    ("  optimizer step (apply_gradients)", "core/learner/torch/torch_learner.py",
     "apply_gradients", "ct"),
    ("metrics logger (own time)", "rllib/utils/metrics/", None, "tt"),
    ("weight sync to env runners", "env/env_runner_group.py", "sync_weights", "ct"),
]


def breakdown(stats: pstats.Stats) -> None:
    """Print the profiled seconds of each BREAKDOWN line (outermost call for "ct"; "from:X":
    only the calls made from file X)."""
    table = stats.stats  # type: ignore[attr-defined]
    total = max((v[3] for (path, _l, name), v in table.items()
                 if path.endswith("trainable/trainable.py") and name == "train"), default=0.0)
    print(f"\nwhere the profiled {total:.2f} s of Algorithm.train went (cProfile; it inflates "
          "the Python-heavy parts):")
    for label, fragment, func, kind in BREAKDOWN:
        hits = [v for (path, _line, name), v in table.items()
                if fragment in path and (func is None or name == func)]
        if kind == "tt":
            secs = sum(v[2] for v in hits)
        elif kind.startswith("from:"):
            secs = sum(c[3] for v in hits for (path, _l, _n), c in v[4].items()
                       if path.endswith(kind[5:]))
        else:
            secs = max((v[3] for v in hits), default=0.0)
        print(f"  {label:<38} {secs:7.2f} s {secs / total:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--algo", default="PPO")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument("--set", action="append", default=[], dest="sets")
    parser.add_argument("--breakdown", action="store_true",
                        help="profile and split the time by part (see BREAKDOWN)")
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
    os.environ.setdefault("SLOW_SIM_LOOPS_PER_MS", f"{slow_sim.loops_per_ms():.1f}")
    packages = ["slow_sim"] if slow_sim.step_ms_of(args.env) is not None else []
    exp, preset = resolve_experiment(None, args.sets, {
        "env": args.env, "algo": args.algo, "output": "/tmp", "name": "profile",
        "env_packages": packages})
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
        profiler = cProfile.Profile() if args.cprofile or args.breakdown else None
        algo.train()  # warm-up: first forward passes, connector setup, optimizer state
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
        if profiler and args.breakdown:
            breakdown(pstats.Stats(profiler))
        if profiler and args.cprofile:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.cprofile)
        algo.stop()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
