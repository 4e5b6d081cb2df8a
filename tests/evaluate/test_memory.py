"""Recurrent policies (``algo_config.model.use_lstm``) on CartPole without velocities
(examples/stateless_cartpole.py): the LSTM beats an MLP trained alike, and it evaluates
(its state carried step to step, reset per episode), exports (ONNX with state inputs and
outputs, played step by step by the example script) and resumes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlscale.evaluate.checkpoints import locate_checkpoint
from rlscale.evaluate.restore import load_policy
from tests.conftest import Cli, read_summary

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "examples" / "stateless_cartpole.yaml"
ITERS = 8  # 2,048 env steps each


def test_dry_run_says_the_policy_has_memory(cli: Cli) -> None:
    result = cli("train", str(EXPERIMENT), "--env",
                 f"{ROOT / 'examples' / 'stateless_cartpole.py'}:StatelessCartPole",
                 "--dry-run", "--no-check-env", "--num-cpus", "2")
    assert result.exit_code == 0, result.output
    assert ("memory: an LSTM of 64 units, trained on sequences of 20 steps; evaluate and "
            "export carry its state") in result.stdout


def _train(home: Path, name: str, *extra: str) -> Path:
    result = Cli(home)("train", str(EXPERIMENT), "--env",
                       f"{ROOT / 'examples' / 'stateless_cartpole.py'}:StatelessCartPole",
                       "--name", name, "--num-cpus", "2", "--no-check-env",
                       "--stop-iters", str(ITERS), "--set", "stop.reward=null",
                       "--checkpoint-every", "4", *extra)
    assert result.exit_code == 0, result.output
    return home / "rlscale_runs" / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example's LSTM (max_seq_len set by hand), and the same without memory."""
    home = tmp_path_factory.mktemp("memory")
    return {"lstm": _train(home, "lstm"),
            "mlp": _train(home, "mlp", "--set", "algo_config.model.use_lstm=false"),
            "home": home}


def _evaluate(home: Path, run: Path) -> dict:
    result = Cli(home)("evaluate", str(run), "--checkpoint", "last", "--episodes", "10",
                       "--json")
    assert result.exit_code == 0, result.output  # no KeyError: 'state_in'
    return json.loads(result.stdout)


@pytest.mark.training
def test_lstm_beats_mlp_and_exports_with_its_state(runs: dict[str, Path]) -> None:
    home = runs["home"]
    lstm, mlp = _evaluate(home, runs["lstm"]), _evaluate(home, runs["mlp"])
    assert lstm["return_mean"] > mlp["return_mean"] + 30, (lstm, mlp)
    assert read_summary(runs["lstm"])["last_episode_return_mean"] > read_summary(
        runs["mlp"])["last_episode_return_mean"]

    result = Cli(home)("export", str(runs["lstm"]), "--checkpoint", "last", "-o", "lstm.onnx")
    assert result.exit_code == 0, result.output
    assert "  input   state_in_actor_h  float32 [batch, 1, 64]   recurrent state" in (
        result.stdout)
    assert "  output  state_out_actor_h  float32 [batch, 1, 64]   next state" in result.stdout
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "onnx_lstm_policy.py"),
         str(home / "lstm.onnx"), "10"], capture_output=True, text=True, check=True)
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert lines["ray imported"] == "False"
    # The same greedy policy on the same episodes (seeds 0-9).
    assert float(lines["mean return"]) >= 0.9 * lstm["return_mean"]


@pytest.mark.training
def test_the_state_is_carried_and_reset_per_episode(runs: dict[str, Path]) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    from stateless_cartpole import StatelessCartPole

    env = StatelessCartPole()
    policy = load_policy(locate_checkpoint(runs["lstm"], "last"), env)
    assert policy.stateful
    obs, _ = env.reset(seed=0)
    observations = [obs]
    for _ in range(20):
        obs, *_ = env.step(int(policy.act([obs])[0]))
        observations.append(obs)
    state = policy.initial_state()
    carried = []
    for obs in observations:
        inputs, state = policy._forward([obs], False, state)
        carried.append(inputs["action_dist_inputs"].numpy()[0])
    fresh = policy.action_dist_inputs(observations).numpy()  # each from a zero state
    assert np.allclose(carried[0], fresh[0], atol=1e-5)  # the first step: the same state
    assert not np.allclose(np.array(carried[1:]), fresh[1:], atol=1e-3)  # memory matters


@pytest.mark.training
def test_an_lstm_run_resumes(runs: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "rlscale_runs" / "lstm"
    shutil.copytree(runs["lstm"], run)
    resumed = Cli(tmp_path)("train", str(run / "config.yaml"), "--resume", "--stop-iters",
                            str(ITERS + 1), "--num-cpus", "2", "--no-check-env",
                            "--output", str(run.parent))
    assert resumed.exit_code == 0, resumed.output
    summary = read_summary(run)
    assert summary["iterations"] == ITERS + 1 and summary["status"] == "completed"
    assert summary["segments"] == 2
