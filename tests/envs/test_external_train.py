"""An external simulator trains for real: the C CartPole of examples/external, built with the
system's C compiler, with misbehaving Python simulators beside it; then evaluate against a
connected simulator, and export."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import read_summary

pytestmark = pytest.mark.training

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "external"
TARGET = 300.0  # the test's target (the example's is 450: see docs/external.md)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def c_cartpole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler")
    binary = tmp_path_factory.mktemp("c") / "cartpole"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(EXAMPLE / "cartpole.c"), "-lm"],
                   check=True)
    return binary


def python_sim(port: int, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    with open(log or os.devnull, "wb") as err:
        return subprocess.Popen([sys.executable, str(EXAMPLE / "cartpole_sim.py"),
                                 "--port", str(port), *args], stderr=err if log else None)


def small_experiment(cli: Any, name: str, port: int, batch: int, **keys: Any) -> str:
    """The example's experiment, 2 simulators per port, 2 small iterations, plus ``keys``;
    written to ``name`` in the test's folder."""
    experiment = yaml.safe_load((EXAMPLE / "cartpole.yaml").read_text())
    experiment["env_config"].update(port=port, simulators=2, connect_timeout_s=120)
    experiment["algo_config"] = {"train_batch_size_per_learner": batch, "minibatch_size": 100,
                                 "num_epochs": 1}
    experiment["stop"] = {"iters": 2}
    (cli.cwd / name).write_text(yaml.safe_dump({**experiment, **keys}))
    return name


@contextmanager
def running(sims: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """The simulators (the list may grow meanwhile) are killed when the block ends."""
    try:
        yield
    finally:
        for sim in sims:
            if sim.poll() is None:
                sim.kill()
                sim.wait()


def test_the_c_cartpole_trains_to_its_target_through_faults(cli: Any, c_cartpole: Path) -> None:
    port = free_port()
    experiment = yaml.safe_load((EXAMPLE / "cartpole.yaml").read_text())
    experiment["env_config"].update(port=port, simulators=5, step_timeout_s=3)
    experiment["stop"] = {"reward": TARGET, "timesteps": 150_000}
    (cli.cwd / "external.yaml").write_text(yaml.safe_dump(experiment))
    sims = [subprocess.Popen([str(c_cartpole), "127.0.0.1", str(port), str(i)])
            for i in range(2)]
    # Misbehaving simulators: each breaks the protocol once, and its episode is lost.
    sims.append(python_sim(port, "--seed", "5", "--fault", "shape", "--fault-after", "150",
                           "--reconnect"))
    sims.append(python_sim(port, "--seed", "6", "--fault", "hang", "--fault-after", "300",
                           "--hang-s", "8", "--reconnect"))
    dying = python_sim(port, "--seed", "7", "--fault", "die", "--fault-after", "450")
    sims.append(dying)

    def replace_the_dead() -> None:  # a killed simulator restarted: it takes the free slot
        dying.wait()
        sims.append(subprocess.Popen([str(c_cartpole), "127.0.0.1", str(port), "9"]))

    threading.Thread(target=replace_the_dead, daemon=True).start()
    with running(sims):
        result = cli("train", "external.yaml", "--name", "ext", "--checkpoint-every", "0")
        assert dying.returncode == 3  # it did die mid-episode
        evaluation = subprocess.Popen([str(c_cartpole), "127.0.0.1", str(port), "11"])
        sims.append(evaluation)
        evaluated = cli("evaluate", "rlscale_runs/ext", "--episodes", "3", "--json")
        exported = cli("export", "rlscale_runs/ext", "-o", "policy.onnx")
    assert result.exit_code == 0, result.output
    summary = read_summary(cli.cwd / "rlscale_runs" / "ext")
    assert summary["status"] == "completed" and summary["reached_target"] is True
    # shape, hang and die: three lost episodes, each counted (a fault line under its row).
    assert summary["failed_episodes"] >= 3 and summary["env_restarts"] >= 3, summary
    assert summary["first_env_fault"].startswith("SimulatorFault: simulator 127.0.0.1:")
    assert "env restart(s)" in result.stdout
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["episodes"] == 3 and report["return_mean"] >= TARGET / 2, report
    assert exported.exit_code == 0, exported.output
    assert (cli.cwd / "policy.onnx").stat().st_size > 0


def test_a_sweep_runs_its_trials_at_once_on_ports_of_their_own(cli: Any) -> None:
    """Two trials at once, each sampling in its own process: each takes the first free port
    of the block port..port + 1; four simulators try both ports and serve whichever trial
    has a free slot (and reconnect when a trial ends)."""
    port = free_port()
    small_experiment(cli, "sweep.yaml", port, 200,
                     search={"algo_config.lr": {"grid": [1e-3, 3e-4]}})
    dry = cli("sweep", "sweep.yaml", "--num-cpus", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (f"listens on 127.0.0.1:{port}-{port + 1} for 4 simulator(s) (2 trial(s) at once, "
            f"2 per port); a simulator connects with rlscale.external.Client('127.0.0.1', "
            f"{port}, ports=2)") in " ".join(dry.stdout.split())
    evaluating = cli("sweep", "sweep.yaml", "--num-cpus", "2", "--dry-run", "--eval-every", "1")
    assert (f"evaluation listens on 127.0.0.1:{port + 2}-{port + 3} for 1 simulator per trial "
            "of its own") in " ".join(evaluating.stdout.split()), evaluating.output
    logs = [cli.cwd / f"sim{i}.log" for i in range(4)]
    sims = [python_sim(port, "--ports", "2", "--seed", str(i), "--reconnect", log=logs[i])
            for i in range(4)]
    with running(sims):
        result = cli("sweep", "sweep.yaml", "--num-cpus", "2", "--name", "s")
    assert result.exit_code == 0, result.output
    assert "2 at once" in result.stdout
    trials = json.loads((cli.cwd / "rlscale_runs" / "s" / "sweep.json").read_text())["trials"]
    assert len(trials) == 2
    connected = " ".join(log.read_text() for log in logs)
    assert {f"connected to 127.0.0.1:{p}" for p in (port, port + 1)} <= set(
        re.findall(r"connected to 127\.0\.0\.1:\d+", connected)), connected
    for trial in trials:
        summary = read_summary(Path(trial["path"]))
        assert summary["status"] == "completed" and summary["iterations"] == 2, summary
        assert summary["timesteps_total"] >= 400 and summary["failed_episodes"] == 0, summary


def test_periodic_evaluation_plays_on_a_simulator_of_its_own(cli: Any) -> None:
    """evaluation.every: the evaluation env runner listens on the port after the training
    ports, where a simulator of its own connects; training's two never serve it."""
    port = free_port()
    small_experiment(cli, "eval.yaml", port, 400, evaluation={"every": 1, "episodes": 2})
    logs = [cli.cwd / f"sim{i}.log" for i in range(3)]
    sims = [python_sim(port, "--seed", str(i), log=logs[i]) for i in range(2)]
    sims.append(python_sim(port + 1, "--seed", "9", "--reconnect", log=logs[2]))
    with running(sims):
        result = cli("train", "eval.yaml", "--name", "ev", "--checkpoint-every", "0")
    assert result.exit_code == 0, result.output
    summary = read_summary(cli.cwd / "rlscale_runs" / "ev")
    assert summary["status"] == "completed" and summary["iterations"] == 2, summary
    assert summary["eval_iteration"] == 2 and summary["eval_episodes"] == 2, summary
    assert summary["eval_return_mean"] > 0 and summary["failed_episodes"] == 0, summary
    for log in logs[:2]:
        assert f"connected to 127.0.0.1:{port}\n" in log.read_text()
    assert f"connected to 127.0.0.1:{port + 1}\n" in logs[2].read_text()
