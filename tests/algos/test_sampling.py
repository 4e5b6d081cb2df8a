"""The sampling mode: whether the env runners wait for the learner (rlscale.algos.sampling)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rlscale.algos.registry import ALGORITHMS
from rlscale.algos.sampling import (
    SamplingMode,
    SamplingReason,
    async_algo_config,
    choose_sampling,
    describe,
)
from rlscale.errors import ConfigError
from tests.conftest import assert_error

PPO, APPO, DQN = ALGORITHMS["PPO"], ALGORITHMS["APPO"], ALGORITHMS["DQN"]


@pytest.mark.parametrize(("algo", "asked", "mode", "trains", "reason"), [
    ("PPO", None, SamplingMode.SYNC, "PPO", SamplingReason.DEFAULT_SYNC),
    ("PPO", "sync", SamplingMode.SYNC, "PPO", SamplingReason.SET_SYNC),
    ("PPO", "async", SamplingMode.ASYNC, "APPO", SamplingReason.PPO_AS_APPO),
    ("APPO", None, SamplingMode.ASYNC, "APPO", SamplingReason.ALGO_ASYNC),
    ("IMPALA", "async", SamplingMode.ASYNC, "IMPALA", SamplingReason.ALGO_ASYNC),
    ("DQN", None, SamplingMode.SYNC, "DQN", SamplingReason.DEFAULT_SYNC),
])
def test_choose_sampling(algo: str, asked: str | None, mode: SamplingMode, trains: str,
                         reason: SamplingReason) -> None:
    choice = choose_sampling(ALGORITHMS[algo], asked)
    assert (choice.mode, choice.algo.name, choice.reason) == (mode, trains, reason)
    assert describe(choice).startswith(f"{mode.value}: ")


@pytest.mark.parametrize(("algo", "asked"), [("DQN", "async"), ("SAC", "async"),
                                             ("APPO", "sync")])
def test_a_mode_rllib_has_no_loop_for_is_refused(algo: str, asked: str) -> None:
    with pytest.raises(ConfigError):
        choose_sampling(ALGORITHMS[algo], asked)


def test_ppo_settings_carried_over_to_appo() -> None:
    preset = {"lr": 3e-4, "clip_param": 0.2, "vf_clip_param": 10.0, "minibatch_size": 500,
              "num_epochs": 10, "train_batch_size_per_learner": 2048,
              "model": {"fcnet_hiddens": [64, 64]}}
    choice = choose_sampling(PPO, "async")
    out, choice = async_algo_config(choice, preset, total_envs=8, batch=2048)
    assert choice.facts["dropped"] == ("vf_clip_param",)
    # 2,048 steps over 8 envs: fragments of 256; the minibatch a multiple of them.
    assert out["rollout_fragment_length"] == 256
    assert out["minibatch_size"] == 256
    assert out["num_epochs"] == 10 and out["model"] == {"fcnet_hiddens": [64, 64]}
    assert out["circular_buffer_num_batches"] == 2
    assert out["circular_buffer_iterations_per_batch"] == 1
    assert "vf_clip_param dropped" in describe(choice)
    # Synchronous PPO's settings are untouched.
    same, _ = async_algo_config(choose_sampling(PPO, None), preset, total_envs=8, batch=2048)
    assert same == preset


def test_experiment_key_refused_with_an_off_policy_algorithm(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--algo", "DQN", "--set", "sampling=async",
                 "--dry-run")
    assert_error(result, "sampling: async is for on-policy algorithms (PPO, as RLlib's APPO; "
                 "APPO, IMPALA); RLlib's DQN samples and learns in turn", cli.cwd)


def test_dry_run_says_the_mode_and_why(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "sampling                   sync: PPO's env runners wait while the learner " \
        "updates on each batch, the default" in result.stdout
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "2", "--dry-run",
                 "--set", "sampling=async")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Algo     APPO   preset: PPO/CartPole-v1" in out
    assert "sampling                   async: sampling: async trains PPO as RLlib's APPO" in out
    # Asynchronous on 2 cores: one env runner samples while the main process learns.
    assert "num_env_runners            1" in out
    assert "rollout_fragment_length: 32" in out  # 1,024 steps over 32 envs


@pytest.mark.training
def test_async_ppo_trains_and_its_config_plans_it_again(cli) -> None:
    args = ("train", "--env", "CartPole-v1", "--num-cpus", "2", "--seed", "0",
            "--set", "sampling=async", "--set", "algo_config.min_time_s_per_iteration=1",
            "--set", "algo_config.min_sample_timesteps_per_iteration=1024",
            "--stop-iters", "2", "--name", "async")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    run = Path(cli.cwd) / "rlscale_runs" / "async"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["iterations"] == 2 and summary["timesteps_total"] > 0
    assert summary["algo"] == "APPO"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["algo"], config["sampling"]) == ("PPO", "async")
    # The stored experiment plans the same run again (PPO sampled asynchronously, as APPO).
    result = cli("train", str(run / "config.yaml"), "--resume", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "async: sampling: async trains PPO as RLlib's APPO" in result.stdout
