"""Action masks and memory, side by side: the same env masked vs unmasked, and the same
partially observed task with an LSTM vs an MLP (docs/action-masks.md, docs/memory.md).

How to run (from the repository root, after `make install`):
    .venv/bin/python benchmarks/masks_memory.py --suite masks --seeds 2
    .venv/bin/python benchmarks/masks_memory.py --suite memory --seeds 1
What to expect: one row per run and a summary per contestant: the wall-clock seconds from the
`rlscale train` command's start to the 100-episode mean target (the cap when missed), the env
steps, the best mean, and for masks the illegal actions the env received in training
(counted by the env itself, over every process). Then, for the first run of the first
contestant: `rlscale evaluate` over 20 episodes (masks: the illegal actions again) and its
exported ONNX played by the example script, with the ratio of their returns.

Contestants alternate run by run (seed 0 of each, then seed 1 of each, ...), so that drifts
in the machine's load hit them alike. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SUITES = {
    "masks": {
        "experiment": EXAMPLES / "masked_choice.yaml", "target": 18.0, "cap": 300,
        "env": f"{EXAMPLES / 'masked_choice.py'}:MaskedChoice",
        "contestants": {"masked": [], "unmasked": ["--set", "action_mask.key=null"]},
        "script": EXAMPLES / "onnx_masked_policy.py",
    },
    "memory": {
        "experiment": EXAMPLES / "stateless_cartpole.yaml", "target": 150.0, "cap": 600,
        "env": f"{EXAMPLES / 'stateless_cartpole.py'}:StatelessCartPole",
        "contestants": {"LSTM": [], "MLP": ["--set", "algo_config.model.use_lstm=false"]},
        "script": EXAMPLES / "onnx_lstm_policy.py",
    },
}


def rlscale(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlscale", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def train(suite: dict, name: str, extra: list[str], seed: int, home: Path,
          num_cpus: int) -> dict:
    log = home / f"{name}.illegal"
    args = ["train", str(suite["experiment"]), "--env", suite["env"], "--name", name,
            "--seed", str(seed),
            "--num-cpus", str(num_cpus), "--stop-reward", str(suite["target"]),
            "--stop-time", str(suite["cap"]), "--checkpoint-every", "0", *extra]
    if suite is SUITES["masks"]:
        args += ["--set", f'env_config.illegal_log="{log}"', "--no-check-env"]
    start = time.monotonic()
    done = rlscale(*args, cwd=home)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{name}: rlscale train failed:\n{done.stderr[-2000:]}")
    summary = json.loads((home / "rlscale_runs" / name / "summary.json").read_text())
    return {
        "run": home / "rlscale_runs" / name, "reached": summary["reached_target"],
        "seconds": seconds if summary["reached_target"] else float(suite["cap"]),
        "wall": seconds, "steps": summary["timesteps_total"],
        "best": summary["best_episode_return_mean"],
        "illegal": len(log.read_text().splitlines()) if log.exists() else 0,
    }


def check_policy(suite_name: str, run: Path, home: Path) -> None:
    """evaluate vs the exported ONNX file on the same 20 episodes."""
    suite = SUITES[suite_name]
    log = home / "evaluate.illegal"
    extra = ["--env-config", f"illegal_log={log}"] if suite_name == "masks" else []
    done = rlscale("evaluate", str(run), "--episodes", "20", "--json", *extra, cwd=home)
    if done.returncode != 0:
        raise SystemExit(f"evaluate failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    onnx = home / "policy.onnx"
    done = rlscale("export", str(run), "-o", str(onnx), "--overwrite", cwd=home)
    if done.returncode != 0:
        raise SystemExit(f"export failed:\n{done.stderr[-2000:]}")
    played = subprocess.run([sys.executable, str(suite["script"]), str(onnx), "20"],
                            text=True, capture_output=True, check=True, cwd=ROOT)
    lines = dict(line.split(": ", 1) for line in played.stdout.splitlines() if ": " in line)
    onnx_return = float(lines["mean return"])
    print(f"\nevaluate (20 greedy episodes): return {report['return_mean']:.1f}, "
          f"length {report['length_mean']:.1f}"
          + (f", illegal actions {len(log.read_text().splitlines()) if log.exists() else 0}"
             if suite_name == "masks" else ""))
    print(f"exported ONNX (the same 20 episodes): return {onnx_return:.1f} = "
          f"{onnx_return / report['return_mean']:.2f} x evaluate's"
          + (f", illegal actions {lines['illegal actions']}" if suite_name == "masks" else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=list(SUITES), required=True)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--num-cpus", type=int, default=2)
    args = parser.parse_args()
    suite = SUITES[args.suite]
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cores; target {suite['target']}, "
          f"cap {suite['cap']} s")
    results: dict[str, list[dict]] = {name: [] for name in suite["contestants"]}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        print(f"{'contestant':<10} {'seed':>4} {'reached':>7} {'seconds':>8} {'steps':>8} "
              f"{'best':>7} {'illegal':>8}")
        for seed in range(args.seeds):
            for name, extra in suite["contestants"].items():
                out = train(suite, f"{name}-{seed}", extra, seed, home, args.num_cpus)
                results[name].append(out)
                print(f"{name:<10} {seed:>4} {str(out['reached']):>7} {out['seconds']:>8.1f} "
                      f"{out['steps']:>8} {out['best']:>7.1f} {out['illegal']:>8}", flush=True)
        print("\nmedian seconds to target (the cap when missed):")
        first = next(iter(results))
        base = statistics.median(r["seconds"] for r in results[first])
        for name, rows in results.items():
            median = statistics.median(r["seconds"] for r in rows)
            print(f"  {name:<10} {median:8.1f} s  reached {sum(r['reached'] for r in rows)}/"
                  f"{len(rows)}  ({median / base:.2f} x {first}'s)")
        check_policy(args.suite, results[first][0]["run"], home)
    print(f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
