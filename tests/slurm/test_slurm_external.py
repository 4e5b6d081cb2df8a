"""``rlscale slurm --simulator CMD`` against the real local Slurm: external simulators
started beside Ray on both nodes connect to the env runners and the run trains on them."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import read_summary
from tests.runners.raycluster import leftover_processes
from tests.slurm.conftest import FINISHED, job_fields, job_log, wait_until
from tests.slurm.localslurm import free_port

pytestmark = pytest.mark.training

SIM = Path(__file__).resolve().parents[2] / "examples" / "external" / "cartpole_sim.py"


def test_simulators_beside_ray_on_two_nodes_feed_the_env_runners(local_slurm, cli) -> None:
    """Two env runners (one per node, ports P and P + 1), two simulators per node started by
    the job. The harness's two nodes share one loopback, so a simulator may take either
    node's env runner: asserted are the simulators of each node connecting, the env runners
    of both nodes being fed, and every step coming from a simulator (an external env has no
    other)."""
    port = free_port()
    experiment = yaml.safe_load((SIM.parent / "cartpole.yaml").read_text())
    experiment["env_config"].update(port=port, simulators=2, connect_timeout_s=240)
    experiment["algo_config"] = {"train_batch_size_per_learner": 400, "minibatch_size": 100,
                                 "num_epochs": 2}
    experiment["resources"] = {"num_env_runners": 2}
    experiment["stop"] = {"iters": 3}
    (cli.cwd / "sim.yaml").write_text(yaml.safe_dump(experiment))
    simulator = (f"for i in 1 2; do {sys.executable} {SIM} --port {port} --ports 2 "
                 "--seed $((RLSCALE_NODE_INDEX * 2 + i)) --reconnect & done; wait")
    result = cli("slurm", "sim.yaml", "--nodes", "2", "--cpus-per-node", "2", "--time",
                 "00:10:00", "--simulator", simulator, "--name", "sims", "--submit")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    job_id, run = first.split()[2].rstrip(":"), Path(first.rsplit("-> ", 1)[1])
    wait_until("the job to finish", lambda: job_fields(job_id).get("JobState") in FINISHED, 400)
    log = job_log(run)
    assert job_fields(job_id)["JobState"] == "COMPLETED", log
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 3, summary
    assert summary["timesteps_total"] >= 1200 and summary["failed_episodes"] == 0, summary
    placement = json.loads((run / "placement.json").read_text())
    assert set(placement["env_runners"]) == {"127.0.0.2", "127.0.0.3"}
    assert "simulators started on 2 node(s)" in log
    # Each node's two simulators connected (their own log, one per node), and both ports
    # (the env runners, one on each node by the placement above) took simulators.
    ports: set[int] = set()
    for node in ("n1", "n2"):
        (sim_log,) = run.glob(f"slurm-simulator-{node}-{job_id}.log")
        connected = re.findall(r"connected to 127\.0\.0\.1:(\d+)", sim_log.read_text())
        assert len(connected) >= 2, sim_log.read_text()
        ports |= {int(p) for p in connected}
    assert ports == {port, port + 1}
    # The simulators were stopped with Ray.
    assert leftover_processes(str(SIM)) == []
