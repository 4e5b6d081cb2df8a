"""A real Ray cluster of two 1-CPU nodes (127.0.0.2, .3): the plan places the main process
and the env runners node by node (PPO's main process shares the head's core with an env
runner, so both nodes sample), every sampling node builds the env before training, and the
summary and ``rlscale status`` count each node's env steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import read_summary
from tests.runners.raycluster import RayCluster, leftover_processes, token_env

RLSCALE = str(Path(sys.executable).parent / "rlscale")
NODES = ("127.0.0.2", "127.0.0.3")
# A simulator module installed on the head node only.
MYSIM = '''
import gymnasium as gym


class Grid(gym.Wrapper):
    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
'''


@pytest.fixture(scope="module")
def head_only_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("head_only")
    (folder / "mysim.py").write_text(MYSIM)
    return folder


def _with_path(folder: Path) -> str:
    return os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture(scope="module")
def one_cpu_nodes(tmp_path_factory: pytest.TempPathFactory,
                  head_only_module: Path) -> Iterator[RayCluster]:
    cluster = RayCluster(tmp_path_factory.mktemp("raycluster1"), cpus_per_node=1)
    try:
        cluster.start_head(PYTHONPATH=_with_path(head_only_module))
        cluster.start_worker(NODES[1])
        cluster.wait_nodes(len(NODES))
        yield cluster
    finally:
        cluster.stop()
    for ip in NODES:
        assert leftover_processes(f"--node-ip-address={ip}") == []


def _rlscale(cluster: RayCluster, cwd: Path, *args: str,
             **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RLSCALE, *args], cwd=cwd, capture_output=True, text=True,
                          env=token_env(cluster.token, **env), timeout=600)


def test_a_node_that_cannot_build_the_env_is_named_in_seconds(
        one_cpu_nodes: RayCluster, head_only_module: Path, tmp_path: Path) -> None:
    start = time.monotonic()
    result = _rlscale(one_cpu_nodes, tmp_path, "train", "--env", "mysim:Grid", "--address",
                      one_cpu_nodes.address, "--stop-iters", "1",
                      PYTHONPATH=_with_path(head_only_module))
    elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stdout + result.stderr
    # The head builds it (its env runner shares the main process's core), the other cannot.
    assert result.stderr.strip() == (
        "Error: node 127.0.0.3 cannot build env 'mysim:Grid': module 'mysim' not found")
    assert elapsed < 60
    assert not (tmp_path / "rlscale_runs").exists()
    # --no-check-env skips it: the plan is shown, nothing runs (dry run).
    result = _rlscale(one_cpu_nodes, tmp_path, "train", "--env", "mysim:Grid", "--address",
                      one_cpu_nodes.address, "--dry-run", "--no-check-env",
                      PYTHONPATH=_with_path(head_only_module))
    assert result.returncode == 0, result.stderr
    assert "cannot build" not in result.stdout + result.stderr


@pytest.mark.training
def test_one_cpu_nodes_train_and_count_each_nodes_steps(one_cpu_nodes: RayCluster,
                                                       tmp_path: Path) -> None:
    result = _rlscale(one_cpu_nodes, tmp_path, "train", "--env", "CartPole-v1", "--address",
                      one_cpu_nodes.address, "--stop-iters", "3", "--seed", "0", "--name", "n")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "env built and stepped on 2 node(s): 127.0.0.2 " in out and ", 127.0.0.3 " in out
    assert f"on Ray cluster {one_cpu_nodes.address}: 2 env runner(s)" in out
    assert "bound the run: " in out
    run = tmp_path / "rlscale_runs" / "n"
    # Ray put each process where the plan did: the main process (0 CPU) pinned to the head,
    # one env runner on each node.
    placement = json.loads((run / "placement.json").read_text())
    assert placement["main_process"] == "127.0.0.2"
    assert sorted(placement["env_runners"]) == list(NODES)
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 3
    throughput = summary["throughput"]
    steps = throughput["node_env_steps"]
    # Both nodes' steps are counted, and they add up to the run's.
    assert set(steps) == set(NODES) and min(steps.values()) > 0
    assert sum(steps.values()) == summary["timesteps_total"]
    last = throughput["last"]
    assert [n["node"] for n in last["nodes"]] == list(NODES)
    assert all(n["env_steps_per_s"] > 0 for n in last["nodes"])
    assert last["slowest_runner_vs_median"] >= 1.0
    shares = (last["sampling_share"], last["learning_share"], last["waiting_share"])
    assert all(0 <= s <= 1 for s in shares) and abs(sum(shares) - 1) < 0.01
    assert last["sampling_share"] > 0 and last["learning_share"] > 0
    assert throughput["total"]["iterations"] == 2  # the first iteration is not timed
    status = _rlscale(one_cpu_nodes, tmp_path, "status", str(run))
    assert status.returncode == 0, status.stderr
    rows = dict(line.split(None, 1) for line in status.stdout.splitlines() if line.strip())
    assert "127.0.0.2 " in rows["env_steps_per_s"] and "127.0.0.3 " in rows["env_steps_per_s"]
    assert "sampling" in rows["time_split"] and "learning" in rows["time_split"]
    assert rows["env_runner_nodes"] == "127.0.0.2 x1, 127.0.0.3 x1"
