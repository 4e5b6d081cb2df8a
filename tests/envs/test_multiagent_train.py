"""Multi-agent envs train for real, and evaluate and export work on the runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import read_summary

pytestmark = pytest.mark.training

HERE = Path(__file__).parent
ENVS = HERE / "multiagent_envs.py"
EXAMPLES = HERE.parents[1] / "examples"


def test_feeder_example_reaches_its_target_with_one_shared_policy(cli) -> None:
    """The example's batteries (a PettingZoo ParallelEnv of our own) learn to stagger their
    charging: the 100-episode mean of the day's return summed over batteries passes 2.0
    (random -5.1, all charging at once 1.5; the example file's own target is 2.5)."""
    experiment = yaml.safe_load((EXAMPLES / "feeder_batteries.yaml").read_text())
    assert experiment["policies"] == "shared"
    result = cli("train", str(EXAMPLES / "feeder_batteries.yaml"), "--env",
                 f"{EXAMPLES / 'feeder_batteries.py'}:FeederBatteries", "--stop-reward", "2.0",
                 "--stop-time", "120", "--name", "feeder")
    assert result.exit_code == 0, result.output
    assert " iter   env steps  return mean" in result.stdout
    run = cli.cwd / "rlscale_runs" / "feeder"
    summary = read_summary(run)
    assert summary["reached_target"] is True, summary
    assert summary["best_episode_return_mean"] >= 2.0
    assert list(summary["policy_return_mean"]) == ["shared"]
    agents = summary["agent_return_mean"]
    assert sorted(agents) == ["battery_0", "battery_1", "battery_2"]
    # One policy for all agents: its return is the episode's, the sum of the agents'.
    assert summary["policy_return_mean"]["shared"] == pytest.approx(
        summary["last_episode_return_mean"], abs=1e-6)
    assert sum(agents.values()) == pytest.approx(summary["last_episode_return_mean"], abs=1e-6)

    evaluated = cli("evaluate", str(run), "--episodes", "10", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["return_mean"] > 0.5  # greedy actions: well above random (-5.1) and idle (0)
    assert report["agent_policy"] == {f"battery_{i}": "shared" for i in range(3)}
    assert report["return_mean"] == pytest.approx(sum(report["agent_return_mean"].values()))
    assert all(len(v) == 10 for v in report["agent_returns"].values())
    # The feeder draws nothing: --video says so in one line, before anything is restored.
    refused = cli("evaluate", str(run), "--episodes", "1", "--video", "feeder.gif")
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        f"Error: environment '{EXAMPLES / 'feeder_batteries.py'}:FeederBatteries' cannot "
        "render rgb_array frames (its render modes: none); --video needs an environment "
        "with rgb_array rendering"]
    assert not (cli.cwd / "feeder.gif").exists()


def test_pettingzoo_speaker_listener_trains_per_agent_policies_past_a_threshold(cli) -> None:
    """MPE's speaker-listener from its own package (mpe2): two agents with different spaces,
    one policy each, pass -60 (random about -92, the first iteration about -84; the
    example's own target is -50)."""
    result = cli("train", str(EXAMPLES / "speaker_listener.yaml"), "--stop-reward", "-60",
                 "--stop-time", "90", "--name", "sl")
    assert result.exit_code == 0, result.output
    summary = read_summary(cli.cwd / "rlscale_runs" / "sl")
    assert summary["reached_target"] is True, summary
    assert set(summary["policy_return_mean"]) == {"speaker_0", "listener_0"}
    # They share the reward: each policy's return is half the episode's.
    for value in summary["policy_return_mean"].values():
        assert value == pytest.approx(summary["last_episode_return_mean"] / 2, abs=1e-6)

    # MPE renders rgb_array frames: evaluate records them, one per step of each episode.
    from rlscale.evaluate.video import count_frames

    evaluated = cli("evaluate", str(cli.cwd / "rlscale_runs" / "sl"), "--episodes", "2",
                    "--video", "sl.gif", "--fps", "10", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["lengths"] == [25, 25] and report["video_frames"] == 50
    assert count_frames(cli.cwd / "sl.gif", fps=10) == 50
    assert set(report["agent_return_mean"]) == {"speaker_0", "listener_0"}


def test_mapped_policies_train_a_subset_and_export_every_policy(cli) -> None:
    """An RLlib MultiAgentEnv whose agents' spaces differ, policies mapped by agent-id
    patterns, only one trained; export writes a file per policy that reproduces the modules'
    greedy actions."""
    import onnxruntime as ort
    import torch

    from rlscale.evaluate.restore import load_module

    (cli.cwd / "exp.yaml").write_text(yaml.safe_dump({
        "env": f"{ENVS}:Grid",
        "env_config": {"steps": 5},
        "policies": {"battery_*": "battery", "grid_operator": "operator"},
        "policies_to_train": ["battery"],
        "seed": 0,
        "stop": {"iters": 3},
        "checkpoint": {"every": 1},
        "algo_config": {"train_batch_size_per_learner": 500, "minibatch_size": 100,
                        "num_epochs": 4, "lr": 0.003, "model": {"fcnet_hiddens": [16]}},
    }))
    result = cli("train", "exp.yaml", "--name", "grid")
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "grid"
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 3
    returns = summary["policy_return_mean"]
    assert set(returns) == {"battery", "operator"}
    # Reward 1 per step for action 1: the trained batteries move off random's 5 per episode
    # (2 batteries x 5 steps x 0.5); the untrained operator stays random (2.5).
    assert returns["battery"] > 6.0, summary
    assert 1.0 < returns["operator"] < 4.0, summary

    checkpoints = sorted(run.glob("*/checkpoint_*"))
    assert len(checkpoints) == 3
    modules = [c / "learner_group/learner/rl_module" for c in (checkpoints[0], checkpoints[-1])]
    first, last = ({n: load_module(m / n).state_dict() for n in ("battery", "operator")}
                   for m in modules)
    for key, value in first["operator"].items():  # not trained: unchanged
        assert torch.equal(value, last["operator"][key]), key
    assert any(not torch.equal(v, last["battery"][k]) for k, v in first["battery"].items())

    out = cli.cwd / "policies"
    exported = cli("export", str(run), "-o", str(out))
    assert exported.exit_code == 0, exported.output
    mapping = json.loads((out / "policy_mapping.json").read_text())
    assert mapping["agents"] == {"battery_0": "battery", "battery_1": "battery",
                                 "grid_operator": "operator"}
    assert sorted(p.name for p in out.iterdir()) == [
        "battery.onnx", "operator.onnx", "policy_mapping.json"]
    from rlscale.envs.resolve import resolve_env
    from rlscale.evaluate.checkpoints import locate_checkpoint
    from rlscale.evaluate.multiagent import load_agent_policies

    resolved = resolve_env(f"{ENVS}:Grid", {"steps": 5})
    assert resolved.agents is not None
    policies = load_agent_policies(locate_checkpoint(run), resolved.agents)
    rng = np.random.default_rng(0)
    for name, entry in mapping["policies"].items():
        policy = policies.policies[name]
        dim = policy.observation_space.shape[0]
        batch = rng.uniform(-1, 1, (64, dim)).astype(np.float32)
        session = ort.InferenceSession(str(out / entry["file"]))
        logits = session.run(None, {"obs": batch})[0]
        assert np.array_equal(logits.argmax(axis=1), policy.act(batch)), name
    again = cli("export", str(run), "-o", str(out))  # never overwritten silently
    assert again.exit_code == 2
    assert "already holds battery.onnx, operator.onnx, policy_mapping.json" in again.stderr


def test_a_turn_based_pettingzoo_game_trains_one_policy_per_player(cli) -> None:
    """Rock-paper-scissors, a PettingZoo AEC env in RLlib's PettingZooEnv wrapper, with
    Discrete observations (one-hot encoded for each agent by RLlib's connector)."""
    result = cli("train", "--env", "pettingzoo.classic.rps_v2:env", "--policies", "per_agent",
                 "--stop-iters", "2", "--name", "rps", "--set",
                 "algo_config.train_batch_size_per_learner=300", "--set",
                 "algo_config.minibatch_size=100", "--set", "algo_config.num_epochs=1")
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "rps"
    summary = read_summary(run)
    assert summary["iterations"] == 2
    assert set(summary["policy_return_mean"]) == {"player_0", "player_1"}
    # Zero-sum: every episode's total is 0, and the players' means cancel out.
    assert summary["last_episode_return_mean"] == pytest.approx(0.0, abs=1e-9)
    assert sum(summary["policy_return_mean"].values()) == pytest.approx(0.0, abs=1e-6)
    evaluated = cli("evaluate", str(run), "--episodes", "2", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["agent_policy"] == {"player_0": "player_0", "player_1": "player_1"}
    assert report["returns"] == [0.0, 0.0] and report["lengths"] == [30, 30]


def test_a_sweep_searches_a_per_policy_setting(cli) -> None:
    """``sweep`` over one policy's learning rate (RLlib's per-module overrides): each trial's
    learner uses its own rate for that policy only, and the other policy keeps the shared
    one."""
    import csv

    (cli.cwd / "sweep.yaml").write_text(yaml.safe_dump({
        "env": f"{ENVS}:Grid",
        "env_config": {"steps": 5},
        "policies": {"battery_*": "battery", "grid_operator": "operator"},
        "seed": 0,
        "stop": {"iters": 1},
        "checkpoint": {"every": 0},
        "algo_config": {"lr": 0.0003, "train_batch_size_per_learner": 200,
                        "minibatch_size": 100, "num_epochs": 1,
                        "model": {"fcnet_hiddens": [16]}},
        "search": {"algo_config.algorithm_config_overrides_per_module.battery.lr":
                   {"grid": [0.01, 0.00001]}},
    }))
    result = cli("sweep", "sweep.yaml", "--name", "perpolicy", "--num-cpus", "2")
    assert result.exit_code == 0, result.output
    assert "2 trial(s), 1 core(s) each, 2 at once on 2 core(s)" in result.stdout
    report = json.loads((cli.cwd / "rlscale_runs" / "perpolicy" / "sweep.json").read_text())
    key = "algo_config.algorithm_config_overrides_per_module.battery.lr"
    seen = {}
    for trial in report["trials"]:
        run = Path(trial["path"])
        summary = read_summary(run)
        assert summary["status"] == "completed", summary
        assert set(summary["policy_return_mean"]) == {"battery", "operator"}
        rows = list(csv.DictReader((run / "progress.csv").open()))
        rates = {p: float(rows[-1][f"learners/{p}/default_optimizer_learning_rate"])
                 for p in ("battery", "operator")}
        seen[trial["values"][key]] = rates
    assert seen == {0.01: {"battery": 0.01, "operator": 0.0003},
                    0.00001: {"battery": 0.00001, "operator": 0.0003}}
