"""The benchmarks' slow simulator and episode logger (pure unit tests: no Ray, no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import episode_log  # noqa: E402
import slow_sim  # noqa: E402


def _rollout(env: gym.Env, actions: list[int]) -> list[np.ndarray]:
    obs, _ = env.reset(seed=3)
    seen = [obs]
    for action in actions:
        obs, _, terminated, truncated, _ = env.step(action)
        seen.append(obs)
        if terminated or truncated:
            break
    return seen


def test_slow_cartpole_is_cartpole_with_work_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [slow_sim.env_id(ms) for ms in slow_sim.STEP_COSTS_MS]
    assert ids == ["SlowCartPole-0.1ms-v0", "SlowCartPole-0.5ms-v0", "SlowCartPole-2ms-v0"]
    assert all(i in gym.registry for i in ids)
    assert slow_sim.step_ms_of("Logged-SlowCartPole-0.5ms-v0") == 0.5
    assert slow_sim.step_ms_of("CartPole-v1") is None
    # The work is a count of loops, fixed from the calibration: pinned here.
    monkeypatch.setattr(slow_sim, "_LOOPS_PER_MS", 1000.0)
    env = gym.make("SlowCartPole-2ms-v0")
    assert env.spec is not None and env.spec.max_episode_steps == 500  # CartPole-v1's limit
    inner = env.get_wrapper_attr("_loops")
    assert inner == 2000
    actions = [0, 1, 1, 0, 1] * 20
    plain = _rollout(gym.make("CartPole-v1"), actions)
    slow = _rollout(env, actions)
    assert len(plain) == len(slow)
    assert all(np.array_equal(a, b) for a, b in zip(plain, slow, strict=True))
    assert env.observation_space == gym.make("CartPole-v1").observation_space


def test_logged_slow_env_logs_episodes_unless_rlscale_builds_it(tmp_path: Path) -> None:
    log = tmp_path / "episodes.txt"
    name = episode_log.logged_id("SlowCartPole-0.1ms-v0")
    assert name == "Logged-SlowCartPole-0.1ms-v0"
    env = gym.make(name, log=str(log))
    env.reset(seed=0)
    lengths = []
    for _ in range(3):
        steps, done = 0, False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            steps, done = steps + 1, terminated or truncated
        lengths.append(steps)
        env.reset()
    rows = [line.split() for line in log.read_text().splitlines()]
    assert [int(r[2]) for r in rows] == lengths
    assert [float(r[1]) for r in rows] == [float(n) for n in lengths]  # reward 1 per step
    # An env built from an rlscale module, not through RLlib (its env check), is silent.
    quiet = tmp_path / "quiet.txt"
    code = compile("env = gym.make(name, log=log)", "<rlscale check>", "exec")
    scope = {"__name__": "rlscale.envs.check", "gym": gym, "name": name, "log": str(quiet)}
    exec(code, scope)
    checked = scope["env"]
    checked.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = checked.step(0)
        done = terminated or truncated
    assert not quiet.exists()
