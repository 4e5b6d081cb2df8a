"""``rlscale train --dry-run`` prints the plan and the RLlib config, and trains nothing."""

from __future__ import annotations

from rlscale.algos.plan import PlanReason
from tests.plan_reasons import said


def test_dry_run_four_cores(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "4", "--no-check-env",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "num_env_runners            3" in out
    assert said(PlanReason.CORES_SPLIT, cores=4, learners=0, runners=3, nodes=1,
                 synchronous=True, step_us=None, expensive=False) in out
    assert "preset: PPO/CartPole-v1" in out
    # The resolved RLlib config shows what differs from RLlib's defaults.
    assert "num_env_runners: 3" in out
    # The preset's 1,024 steps over 3 x 11 envs would leave 31 steps per env: grown to 32.
    assert "train_batch_size_per_learner: 1056" in out
    assert said(PlanReason.BATCH_GROWN, batch=1024, grown=1056, envs=33, processes=3,
                 envs_per_process=11, steps_per_env=31, min_steps=32) in out
    assert not (cli.cwd / "rlscale_runs").exists()


def test_a_batch_equal_to_the_presets_is_the_users(cli) -> None:
    # The preset's batch is 1,024 too: set by the user, it is kept, not grown (who set what
    # is recorded when the experiment is merged, never guessed by comparing values).
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "4", "--dry-run",
                 "--set", "algo_config.train_batch_size_per_learner=1024")
    assert result.exit_code == 0, result.output
    assert "train_batch_size_per_learner: 1024" in result.stdout  # not grown


def test_dry_run_tutorial_flag_names(cli) -> None:
    result = cli("train", "--run", "DQN", "--name-env", "CartPole-v1", "--num-cpus", "2",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Algo     DQN   preset: DQN/default" in result.stdout
    assert said(PlanReason.ENVS_IN_ALL, num_envs=4, envs=4, runners=0) in result.stdout
    # 2 cores and a synchronous algorithm: the main process samples, on both cores.
    assert "num_env_runners            0" in result.stdout
    assert "num_cpus_for_main_process  2" in result.stdout
    # Without the preset, an off-policy algorithm steps one env per runner.
    result = cli("train", "--run", "DQN", "--name-env", "CartPole-v1", "--num-cpus", "2",
                 "--preset", "none", "--dry-run")
    assert result.exit_code == 0, result.output
    assert said(PlanReason.ENVS_DEFAULT, envs=1, on_policy=False) in result.stdout


def test_dry_run_takes_a_number_where_rllib_defaults_to_auto(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--algo", "DQN", "--dry-run",
                 "--set", "algo_config.rollout_fragment_length=4")
    assert result.exit_code == 0, result.output
    assert "rollout_fragment_length: 4" in result.stdout


def test_dry_run_warns_when_the_batch_is_spread_thin(cli, caplog) -> None:
    # 36 cores (on a smaller machine: --oversubscribe): 35 runners x 32 envs would share a
    # 2,048-step batch the user set.
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "36", "--oversubscribe",
                 "--dry-run", "--set", "resources.num_envs_per_env_runner=32",
                 "--set", "algo_config.train_batch_size_per_learner=2048")
    assert result.exit_code == 0, result.output
    assert "train_batch_size_per_learner: 2048" in result.stdout  # the user's batch wins
    assert ("each of the 1120 envs samples only about 1 step(s) per iteration (a 2048-step "
            "batch); set algo_config.train_batch_size_per_learner to 17920 or more, or use "
            "fewer envs (resources.num_envs or resources.num_envs_per_env_runner)"
            ) in caplog.text
    caplog.clear()
    # The preset's 32 envs are a total, spread over the 35 runners: no warning.
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "36", "--oversubscribe",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert said(PlanReason.ENVS_IN_ALL, num_envs=32, envs=1, runners=35) in result.stdout
    # ... and the preset's batch grows with them, to 32 steps per env.
    assert said(PlanReason.BATCH_GROWN, batch=1024, grown=1120, envs=35, processes=35,
                 envs_per_process=1, steps_per_env=29, min_steps=32) in result.stdout
    assert "train_batch_size_per_learner: 1120" in result.stdout
    assert "samples only" not in caplog.text
    caplog.clear()
    # One env per runner already: the hint is fewer runners, not fewer envs.
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "36", "--oversubscribe",
                 "--dry-run", "--set", "algo_config.train_batch_size_per_learner=256",
                 "--set", "algo_config.minibatch_size=128")
    assert result.exit_code == 0, result.output
    assert ("each of the 35 envs samples only about 7 step(s) per iteration (a 256-step "
            "batch); set algo_config.train_batch_size_per_learner to 560 or more, or use "
            "fewer env runners (resources.num_env_runners or --num-cpus)") in caplog.text
