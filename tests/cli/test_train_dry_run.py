"""``rlscale train --dry-run`` prints the plan and the RLlib config, and trains nothing."""

from __future__ import annotations


def test_dry_run_four_cores(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "4", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "num_env_runners            3" in out
    assert "4 cores = 1 main process (driver + learner) + 3 env runner(s)" in out
    assert "preset: PPO/CartPole-v1" in out
    # The resolved RLlib config shows what differs from RLlib's defaults.
    assert "num_env_runners: 3" in out
    # The preset's 1,024 steps over 3 x 11 envs would leave 31 steps per env: grown to 32.
    assert "train_batch_size_per_learner: 1056" in out
    assert "batch grown from 1024 to 1056 steps: 1024 over 33 envs (3 sampling processes x " \
        "11 env(s)) leaves 31 step(s) per env and iteration, fewer than 32" in out
    assert not (cli.cwd / "rlscale_runs").exists()


def test_a_batch_equal_to_the_presets_is_the_users(cli) -> None:
    # The preset's batch is 1,024 too: set by the user, it is kept, not grown (who set what
    # is recorded when the experiment is merged, never guessed by comparing values).
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "4", "--dry-run",
                 "--set", "algo_config.train_batch_size_per_learner=1024")
    assert result.exit_code == 0, result.output
    assert "train_batch_size_per_learner: 1024" in result.stdout
    assert "batch grown" not in result.stdout


def test_dry_run_tutorial_flag_names(cli) -> None:
    result = cli("train", "--run", "DQN", "--name-env", "CartPole-v1", "--num-cpus", "2",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Algo     DQN   preset: DQN/default" in result.stdout
    assert "4 env(s) in all (resources.num_envs): 4 per main process" in result.stdout
    # 2 cores and a synchronous algorithm: the main process samples, on both cores.
    assert "num_env_runners            0" in result.stdout
    assert "num_cpus_for_main_process  2" in result.stdout
    # Without the preset, an off-policy algorithm steps one env per runner.
    result = cli("train", "--run", "DQN", "--name-env", "CartPole-v1", "--num-cpus", "2",
                 "--preset", "none", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "1 env(s) per runner: off-policy algorithms update often" in result.stdout


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
    assert "batch grown" not in result.stdout  # the user's batch wins
    assert ("each of the 1120 envs samples only about 1 step(s) per iteration (a 2048-step "
            "batch); set algo_config.train_batch_size_per_learner to 17920 or more, or use "
            "fewer envs (resources.num_envs or resources.num_envs_per_env_runner)"
            ) in caplog.text
    caplog.clear()
    # The preset's 32 envs are a total, spread over the 35 runners: no warning.
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "36", "--oversubscribe",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert "32 env(s) in all (resources.num_envs): 1 per runner over 35 runners" in result.stdout
    # ... and the preset's batch grows with them, to 32 steps per env.
    assert "batch grown from 1024 to 1120 steps" in result.stdout
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
