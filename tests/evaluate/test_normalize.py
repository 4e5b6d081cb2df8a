"""``normalize: {obs: true}``, ``evaluation:`` and ``tracking:`` on one real pair of runs.

The env reports CartPole's state in the thousands (tests/evaluate/units_env.py). Two runs,
same seed and budget: with the observation filter PPO learns, without it it does not. The
normalized run also evaluates during training and is tracked in an MLflow file store and a
W&B offline run; its exported ONNX file takes raw observations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.conftest import Cli, read_summary

pytestmark = pytest.mark.training

ENV = str(Path(__file__).with_name("units_env.py")) + ":ThousandsCartPole"
ITERS = 6
EVAL_EPISODES = 4


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both runs, trained once: ``normalized`` (with evaluation and tracking) and ``raw``."""
    home = tmp_path_factory.mktemp("normalize")
    cli = Cli(home)
    base = {"env": ENV, "seed": 0, "stop": {"iters": ITERS}, "resources": {"num_cpus": 1},
            "checkpoint": {"every": 2}}
    normalized = {
        **base, "name": "normalized", "normalize": {"obs": True},
        "evaluation": {"every": 2, "episodes": EVAL_EPISODES},
        "tracking": {"mlflow": {"uri": "mlruns", "experiment": "units"},
                     "wandb": {"project": "units", "mode": "offline"}},
    }
    out = {}
    for name, exp in (("normalized", normalized), ("raw", {**base, "name": "raw"})):
        path = home / f"{name}.yaml"
        path.write_text(yaml.safe_dump(exp))
        result = cli("train", str(path))
        assert result.exit_code == 0, result.output
        out[name] = result.stdout
    return {"home": home, "cli": cli, "stdout": out}


def test_normalized_observations_learn_and_raw_ones_do_not(runs: dict[str, Any]) -> None:
    home = runs["home"]
    normalized = read_summary(home / "rlscale_runs" / "normalized")
    raw = read_summary(home / "rlscale_runs" / "raw")
    print("normalized", normalized["best_episode_return_mean"], "raw",
          raw["best_episode_return_mean"])
    assert normalized["best_episode_return_mean"] >= 50
    assert raw["best_episode_return_mean"] <= 40
    assert normalized["best_episode_return_mean"] > 1.4 * raw["best_episode_return_mean"]


def test_evaluation_every_two_iterations_picks_the_best_checkpoint(runs: dict[str, Any]) -> None:
    run = runs["home"] / "rlscale_runs" / "normalized"
    summary = read_summary(run)
    # RLlib played exactly the episodes asked for (it may play more: ray #46412).
    assert summary["eval_episodes"] == EVAL_EPISODES
    assert summary["eval_iteration"] == ITERS
    assert summary["best_eval_iteration"] in (2, 4, 6)
    assert summary["best_eval_return_mean"] >= summary["eval_return_mean"]
    records = summary["checkpoints"]
    assert [c["iteration"] for c in records] == [2, 4, 6]
    best = max(records, key=lambda c: c["eval_return_mean"])
    assert summary["best_checkpoint"] == best["path"]
    trial = next(p for p in run.iterdir() if p.name.startswith("PPO_"))
    rows = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
    evaluated = [r["training_iteration"] for r in rows if "evaluation" in r]
    assert evaluated == [2, 4, 6]
    assert all(r["evaluation"]["env_runners"]["num_episodes"] == EVAL_EPISODES
               for r in rows if "evaluation" in r)
    # The progress display shows the last evaluation return from iteration 2 on.
    table = [ln for ln in runs["stdout"]["normalized"].splitlines() if ln[:5].strip().isdigit()]
    assert "eval" not in table[0] and all(" eval " in ln for ln in table[1:]), table
    assert "best_eval_return_mean" in runs["stdout"]["normalized"]


def test_exported_policy_normalizes_raw_observations(runs: dict[str, Any]) -> None:
    import onnxruntime as ort

    from rlscale.evaluate.checkpoints import locate_checkpoint
    from rlscale.evaluate.episodes import make_eval_env
    from rlscale.evaluate.restore import load_policy

    cli, home = runs["cli"], runs["home"]
    run = home / "rlscale_runs" / "normalized"
    result = cli("export", str(run), "-o", "policy.onnx")
    assert result.exit_code == 0, result.output
    ref = locate_checkpoint(run)
    env = make_eval_env(ENV)
    policy = load_policy(ref, env)
    assert policy.obs_filter is not None and policy.obs_filter.mean.min() > 19000
    session = ort.InferenceSession(str(home / "policy.onnx"), providers=["CPUExecutionProvider"])
    # Raw observations of real episodes: the file's greedy actions are the module's on the
    # filtered observations, and it scores what evaluate scores.
    returns, observations = [], []
    for i in range(5):
        obs, _ = env.reset(seed=i)
        total, done = 0.0, False
        while not done:
            observations.append(obs)
            (logits,) = session.run(["logits"], {"obs": obs[None].astype(np.float32)})
            obs, reward, terminated, truncated, _ = env.step(int(logits.argmax()))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    batch = np.asarray(observations, dtype=np.float32)
    (logits,) = session.run(["logits"], {"obs": batch})
    assert np.array_equal(logits.argmax(axis=1), policy.act(batch))
    ev = cli("evaluate", str(run), "--episodes", "5", "--json")
    assert ev.exit_code == 0, ev.output
    assert np.mean(returns) >= 0.9 * json.loads(ev.stdout)["return_mean"]


def test_tracked_in_mlflow_and_wandb_offline(runs: dict[str, Any]) -> None:
    import mlflow

    home = runs["home"]
    run = home / "rlscale_runs" / "normalized"
    tracking = json.loads((run / "tracking.json").read_text())
    assert tracking["mlflow"]["uri"] == (home / "mlruns").resolve().as_uri()
    assert tracking["wandb"] == {
        "project": "units", "mode": "offline", "group": "normalized",
        "sync": f"wandb sync {run}/*/wandb/offline-run-*",
    }
    client = mlflow.MlflowClient(tracking_uri=tracking["mlflow"]["uri"])
    experiment = client.get_experiment_by_name("units")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.run_id in tracking["mlflow"]["runs"].values()
    assert found.info.status == "FINISHED"
    history = client.get_metric_history(found.info.run_id, "env_runners/episode_return_mean")
    assert len(history) == ITERS
    evals = client.get_metric_history(found.info.run_id,
                                      "evaluation/env_runners/episode_return_mean")
    assert len(evals) == 3
    (offline,) = run.glob("PPO_*/wandb/offline-run-*")
    (events,) = offline.glob("run-*.wandb")
    assert events.stat().st_size > 1000
    assert not (home / "rlscale_runs" / "raw" / "tracking.json").exists()
