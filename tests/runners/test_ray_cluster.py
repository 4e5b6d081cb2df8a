"""``rlscale train --address`` on a real two-node Ray cluster (127.0.0.2 and 127.0.0.3)
with token authentication, started and stopped by this module."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import read_summary
from tests.runners.raycluster import RayCluster, leftover_processes, token_env, write_token

RLSCALE = str(Path(sys.executable).parent / "rlscale")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    cluster = RayCluster(tmp_path_factory.mktemp("raycluster"), cpus_per_node=2)
    try:
        cluster.start_head()
        cluster.start_worker("127.0.0.3")
        cluster.wait_nodes(2)
        yield cluster
    finally:
        cluster.stop()
    assert leftover_processes("--node-ip-address=127.0.0.2") == []
    assert leftover_processes("--node-ip-address=127.0.0.3") == []


def _rlscale(cluster: RayCluster, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RLSCALE, *args], cwd=cwd, capture_output=True, text=True,
                          env=token_env(cluster.token), timeout=600)


def test_a_node_with_a_wrong_token_is_rejected(ray_cluster: RayCluster, tmp_path: Path) -> None:
    intruder = ray_cluster.start_worker("127.0.0.4", token=write_token(tmp_path / "wrong"))
    assert intruder.wait(timeout=120) != 0
    logs = "".join(p.read_text(errors="replace") for p in ray_cluster.base.glob("ray-127.0.0.4-*"))
    assert "InvalidAuthToken" in logs
    assert ray_cluster.alive_nodes() == 2
    assert leftover_processes("--node-ip-address=127.0.0.4") == []
    # The token is read from a file: it is on no command line.
    token = ray_cluster.token.read_text()
    assert leftover_processes(token) == []


@pytest.mark.training
def test_train_on_the_cluster_uses_both_nodes(ray_cluster: RayCluster, tmp_path: Path) -> None:
    result = _rlscale(ray_cluster, tmp_path, "train", "--env", "CartPole-v1", "--address",
                      ray_cluster.address, "--stop-reward", "150", "--stop-iters", "40",
                      "--seed", "0", "--name", "c")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"on Ray cluster {ray_cluster.address}: 4 env runner(s) x 8 env(s), 4 core(s)" \
        in result.stdout
    run = tmp_path / "rlscale_runs" / "c"
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["reached_target"] is True
    placement = json.loads((run / "placement.json").read_text())
    assert set(placement["env_runners"]) == {"127.0.0.2", "127.0.0.3"}
    # Where it ran is not part of the experiment: config.yaml reruns anywhere.
    assert "address" not in (run / "config.yaml").read_text()


def test_a_plan_that_does_not_fit_the_cluster_is_an_error(ray_cluster: RayCluster,
                                                          tmp_path: Path) -> None:
    result = _rlscale(ray_cluster, tmp_path, "train", "--env", "CartPole-v1", "--address",
                      ray_cluster.address, "--num-cpus", "9")
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: --num-cpus 9 is more than the 4 CPUs available"
    assert not (tmp_path / "rlscale_runs").exists()


@pytest.mark.training
def test_cluster_run_evaluates_wraps_its_envs_and_tracks_in_mlflow(
        ray_cluster: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    # CartPole's episodes cut at 10 steps by a wrapper from the experiment file: every
    # return (1 per step) is at most 10 where the wrapper runs; unwrapped, even a random
    # policy averages about 22.
    (tmp_path / "exp.yaml").write_text(
        "env: CartPole-v1\nseed: 0\nname: ewt\nstop: {iters: 2}\n"
        "env_wrappers:\n  - {gymnasium.wrappers:TimeLimit: {max_episode_steps: 10}}\n"
        "tracking: {mlflow: {uri: mlruns, experiment: cluster}}\n"
    )
    result = _rlscale(ray_cluster, tmp_path, "train", "exp.yaml", "--address",
                      ray_cluster.address, "--eval-every", "1", "--eval-episodes", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    run = tmp_path / "rlscale_runs" / "ewt"
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 2
    # Evaluation on the cluster: every iteration, exactly 3 episodes, the best one kept.
    assert summary["eval_iteration"] == 2 and summary["eval_episodes"] == 3
    assert summary["best_eval_iteration"] in (1, 2)
    assert 0 < summary["eval_return_mean"] <= summary["best_eval_return_mean"] <= 10
    # The wrapper ran in the env runners of both nodes (training episodes) too.
    assert set(json.loads((run / "placement.json").read_text())["env_runners"]) == {
        "127.0.0.2", "127.0.0.3"}
    assert 0 < summary["best_episode_return_mean"] <= 10
    # One MLflow run, finished, with the evaluation returns of both iterations.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3: folder stores opt in
    tracking = json.loads((run / "tracking.json").read_text())
    client = mlflow.MlflowClient(tracking_uri=tracking["mlflow"]["uri"])
    (found,) = client.search_runs([client.get_experiment_by_name("cluster").experiment_id])
    assert found.info.status == "FINISHED"
    assert found.info.run_id in tracking["mlflow"]["runs"].values()
    evals = client.get_metric_history(found.info.run_id,
                                      "evaluation/env_runners/episode_return_mean")
    assert len(evals) == 2 and all(0 < m.value <= 10 for m in evals)


@pytest.mark.training
def test_a_multi_agent_run_trains_on_the_cluster(ray_cluster: RayCluster, tmp_path: Path) -> None:
    """An RLlib MultiAgentEnv with two mapped policies, through --address: the env runners
    on the cluster's nodes build it from its file and step every agent."""
    envs = Path(__file__).parents[1] / "envs" / "multiagent_envs.py"
    result = _rlscale(ray_cluster, tmp_path, "train", "--env", f"{envs}:Grid", "--policies",
                      "battery_*=battery,grid_operator=operator", "--address",
                      ray_cluster.address, "--stop-iters", "2", "--seed", "0", "--set",
                      "algo_config.train_batch_size_per_learner=400", "--name", "ma")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"on Ray cluster {ray_cluster.address}" in result.stdout
    run = tmp_path / "rlscale_runs" / "ma"
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 2
    assert set(summary["policy_return_mean"]) == {"battery", "operator"}
    assert set(summary["agent_return_mean"]) == {"battery_0", "battery_1", "grid_operator"}
    placement = json.loads((run / "placement.json").read_text())
    assert set(placement["env_runners"]) == {"127.0.0.2", "127.0.0.3"}
