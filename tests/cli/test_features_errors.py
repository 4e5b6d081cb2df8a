"""Evaluation, normalization and tracking settings refused before Ray starts (no training)."""

from __future__ import annotations

from tests.conftest import assert_error


def test_stop_on_eval_needs_evaluation(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--stop-reward", "100",
                 "--set", "stop.on=eval")
    assert_error(result, "stop.on: eval judges the evaluation return: set evaluation.every "
                 "(--eval-every N) too", cli.cwd)


def test_normalize_needs_a_box_observation_space(cli) -> None:
    result = cli("train", "--env", "FrozenLake-v1", "--set", "normalize.obs=true")
    assert_error(result, "normalize.obs needs a Box observation space, not Discrete(16) "
                 "(wrap the env so it gives one: env_wrappers)", cli.cwd)


def test_unknown_stop_on_and_wandb_mode(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--set", "stop.on=best")
    assert result.exit_code == 2 and result.stderr.startswith("Error: stop.on: ")
    result = cli("train", "--env", "CartPole-v1", "--wandb", "p",
                 "--set", "tracking.wandb.mode=later")
    assert result.exit_code == 2 and "tracking.wandb.mode" in result.stderr


def test_dry_run_shows_the_evaluation_settings(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--eval-every", "5", "--eval-episodes", "3",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert "evaluation_interval" in result.stdout and "evaluation_duration" in result.stdout
