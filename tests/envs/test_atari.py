"""Atari (ale-py, in dev): Gymnasium's standard wrappers named in env_wrappers without
options, and the PPO/atari preset that --preset auto picks for ALE/* ids."""

from __future__ import annotations

import pytest
import yaml

from rlscale.config import resolve_experiment
from rlscale.config.presets import preset_for
from rlscale.runners import prepare_job
from tests.conftest import Cli, read_summary

pytest.importorskip("ale_py")

WRAPPERS = ["gymnasium.wrappers:AtariPreprocessing",
            "{gymnasium.wrappers:FrameStackObservation: {stack_size: 4}}"]
IMAGES = ("image 4x84x84 uint8, channels first (C, H, W); channels moved last, pixels scaled "
          "to [0, 1], cast to float32 by rlscale's ImageObservations connector -> 84x84x4 "
          "float32")


def test_auto_picks_the_atari_preset_for_ale_ids() -> None:
    assert preset_for("PPO", "ALE/Pong-v5") == "PPO/atari"
    assert preset_for("PPO", "ALE/Breakout-v5") == "PPO/atari"
    assert preset_for("PPO", "CartPole-v1") == "PPO/CartPole-v1"
    assert preset_for("DQN", "ALE/Pong-v5") == "DQN/default"  # no DQN/atari


def test_the_atari_preset_gives_the_standard_preprocessing_and_nature_cnn(tmp_path) -> None:
    exp, preset = resolve_experiment(None, flags={"env": "ALE/Pong-v5", "algo": "PPO",
                                                  "output": str(tmp_path)})
    job = prepare_job(exp, preset)
    assert job.preset == "PPO/atari"
    assert job.env.observation_space.shape == (4, 84, 84)  # 4 stacked 84x84 grayscale frames
    assert job.env.env_config == {"frameskip": 1}  # AtariPreprocessing skips the 4 frames
    assert [ref.path.rpartition(":")[2] for ref in job.env.env_wrappers] == [
        "AtariPreprocessing", "ClipReward", "FrameStackObservation"]
    model = job.algo_config.model_config
    assert model["conv_filters"][0] == [32, [8, 8], 4, "valid"]  # Nature CNN
    assert model["vf_share_layers"] is True
    assert not any(tmp_path.iterdir())


def test_check_env_reports_the_atari_stack(cli: Cli) -> None:
    args = [a for w in WRAPPERS for a in ("--wrapper", w)]
    result = cli("check-env", "ALE/Pong-v5", *args, "--episodes", "1", "--max-steps", "100")
    assert result.exit_code == 0, result.output
    assert 'env_config    {"frameskip": 1}' in result.stdout
    assert "Observations  Box(4, 84, 84) uint8" in result.stdout
    assert f"Images        {IMAGES}; CNN: RLlib's default for 84x84" in result.stdout


@pytest.mark.training
def test_gymnasium_atari_wrappers_named_without_options_train(cli: Cli) -> None:
    """The issue's Pong: AtariPreprocessing and FrameStackObservation as named, RLlib's own
    CNN (PPO/default, not the Atari preset); one small iteration trains on real steps."""
    (cli.cwd / "pong.yaml").write_text(yaml.safe_dump({
        "env": "ALE/Pong-v5", "preset": "PPO/default",
        "env_wrappers": [WRAPPERS[0], {"gymnasium.wrappers:FrameStackObservation":
                                       {"stack_size": 4}}],
        "resources": {"num_envs": 2},
        "algo_config": {"train_batch_size_per_learner": 128, "minibatch_size": 64,
                        "num_epochs": 1},
    }))
    result = cli("train", "pong.yaml", "--num-cpus", "1", "--stop-iters", "1", "--name", "pong")
    assert result.exit_code == 0, result.output
    summary = read_summary(cli.cwd / "rlscale_runs" / "pong")
    assert summary["status"] == "completed" and summary["timesteps_total"] >= 128
