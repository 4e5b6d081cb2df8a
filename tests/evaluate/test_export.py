"""``rlscale export``: standalone ONNX / TorchScript policies act like the RLlib module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlscale.evaluate.checkpoints import locate_checkpoint
from rlscale.evaluate.restore import load_policy

pytestmark = pytest.mark.training

# Runs in a fresh interpreter: prove that inference needs neither Ray nor RLlib.
ONNX_SCRIPT = """
import json, sys
import numpy as np
import onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
obs = np.load(sys.argv[2])
(logits,) = session.run(["logits"], {"obs": obs})
print(json.dumps({"actions": logits.argmax(axis=1).tolist(),
                  "ray": any(m == "ray" or m.startswith("ray.") for m in sys.modules)}))
"""
TORCHSCRIPT_SCRIPT = """
import json, sys
import numpy as np
import torch
policy = torch.jit.load(sys.argv[1])
logits = policy(torch.from_numpy(np.load(sys.argv[2])))
print(json.dumps({"actions": logits.argmax(dim=1).tolist(),
                  "ray": any(m == "ray" or m.startswith("ray.") for m in sys.modules)}))
"""


def _observations(n: int = 256) -> np.ndarray:
    """Observations CartPole really produces (random actions, seeded)."""
    env = gym.make("CartPole-v1")
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    out = []
    while len(out) < n:
        out.append(obs)
        obs, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            obs, _ = env.reset()
    return np.asarray(out, dtype=np.float32)


@pytest.mark.parametrize(("fmt", "name", "script"), [
    ("onnx", "policy.onnx", ONNX_SCRIPT),
    ("torchscript", "policy.pt", TORCHSCRIPT_SCRIPT),
])
def test_exported_policy_matches_the_module(cli, trained_run: Path, fmt: str, name: str,
                                            script: str) -> None:
    result = cli("export", str(trained_run), "--format", fmt, "-o", name)
    assert result.exit_code == 0, result.output
    assert "  input   obs  float32 [batch, 4]   Box(4,) float32" in result.stdout
    assert "  output  logits  float32 [batch, 2]   Discrete(2)" in result.stdout
    obs = _observations()
    np.save(cli.cwd / "obs.npy", obs)
    done = subprocess.run([sys.executable, "-c", script, str(cli.cwd / name),
                           str(cli.cwd / "obs.npy")], capture_output=True, text=True,
                          check=True)
    standalone = json.loads(done.stdout)
    assert standalone["ray"] is False

    env = gym.make("CartPole-v1")
    policy = load_policy(locate_checkpoint(trained_run), env)
    expected = policy.act(obs).tolist()
    assert standalone["actions"] == expected
    # Not a constant policy: the comparison means something.
    assert 0 < sum(expected) < len(expected)


def test_export_errors(cli, trained_run: Path) -> None:
    result = cli("export", str(trained_run), "--format", "tflite", "-o", "p.tflite")
    assert (result.exit_code, result.stderr) == (
        2, "Error: --format must be one of onnx, torchscript, not 'tflite'\n")
    result = cli("export", str(trained_run), "--format", "onnx", "-o", "p.pt")
    assert (result.exit_code, result.stderr) == (
        2, "Error: -o p.pt: the file name must end in .onnx\n")
    (cli.cwd / "p.onnx").write_text("keep me")
    result = cli("export", str(trained_run), "-o", "p.onnx")
    assert (result.exit_code, result.stderr) == (
        2, "Error: p.onnx already exists; pass --overwrite to replace it\n")
    assert (cli.cwd / "p.onnx").read_text() == "keep me"


def test_box_actions_export_the_action_in_env_bounds(cli) -> None:
    """Pendulum (Box actions): the exported 'action' is the module's mean mapped into the
    bounds as RLlib does when it acts (normalize_actions), equal to evaluate's actions."""
    import onnxruntime as ort

    result = cli("train", "--env", "Pendulum-v1", "--stop-iters", "1", "--seed", "0",
                 "--name", "pend", "--num-cpus", "1",
                 "--set", "algo_config.train_batch_size_per_learner=400",
                 "--set", "algo_config.minibatch_size=100", "--set", "algo_config.num_epochs=1")
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "pend"
    result = cli("export", str(run), "-o", "pend.onnx")
    assert result.exit_code == 0, result.output
    assert "  output  action  float32 [batch, 1]   Box(1,) float32" in result.stdout

    env = gym.make("Pendulum-v1")
    obs = np.asarray([env.observation_space.sample() for _ in range(64)], dtype=np.float32)
    session = ort.InferenceSession(str(cli.cwd / "pend.onnx"),
                                   providers=["CPUExecutionProvider"])
    (exported,) = session.run(["action"], {"obs": obs})
    policy = load_policy(locate_checkpoint(run), env)
    expected = policy.act(obs)
    assert exported.shape == expected.shape == (64, 1)
    np.testing.assert_allclose(exported, expected, atol=1e-5)
    assert np.all(np.abs(exported) <= 2.0)
    # The raw mean is in RLlib's normalized [-1, 1] space; the action is rescaled (x2).
    mean = policy.action_dist_inputs(obs).numpy()[:, :1]
    np.testing.assert_allclose(exported, np.clip(2.0 * mean, -2.0, 2.0), atol=1e-5)

    out = json.loads(cli("evaluate", str(run), "--episodes", "1", "--json").stdout)
    assert out["lengths"] == [200] and out["return_mean"] < 0
