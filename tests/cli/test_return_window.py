"""The return mean rlscale stops on and records is over the last 100 episodes, not the
iteration's: RLlib 2.60 clears its episode window at every iteration."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import read_summary

pytestmark = pytest.mark.training

# Every episode lasts 10 steps (env_config length) and returns its own number: 1, 2, 3, ...
# whatever the actions.
COUNTING_ENV = '''
import gymnasium as gym
import numpy as np


class Counting(gym.Env):
    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.length = (config or {}).get("length", 10)
        self.episodes = 0
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.episodes += 1
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t == self.length
        return np.zeros(1, np.float32), float(self.episodes) if done else 0.0, done, False, {}
'''

# One env in the main process (--num-cpus 1), 200-step iterations, a cheap update.
ONE_ENV_200_STEPS = ["--set", "resources.num_envs_per_env_runner=1",
                     "--set", "algo_config.train_batch_size_per_learner=200",
                     "--set", "algo_config.minibatch_size=100",
                     "--set", "algo_config.num_epochs=1"]


def test_return_mean_is_over_the_last_100_episodes(cli) -> None:
    (cli.cwd / "counting.py").write_text(COUNTING_ENV)
    # One env in the main process, 20 whole episodes per 200-step iteration.
    result = cli("train", "--env", "counting.py:Counting", "--num-cpus", "1", "--no-check-env",
                 "--stop-iters", "6", "--name", "count",
                 *ONE_ENV_200_STEPS)
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "count"
    (progress,) = run.glob("*/progress.csv")
    rows = list(csv.DictReader(progress.open()))
    assert len(rows) == 6
    for i, row in enumerate(rows, start=1):
        last = float(row["env_runners/episode_return_max"])  # the iteration's last episode
        episodes = min(20 * i, 100)
        # The mean of the last min(20 i, 100) episode numbers; the iteration's own 20
        # episodes (RLlib's figure) would give last - 9.5.
        assert float(row["env_runners/episode_return_mean"]) == pytest.approx(
            last - (episodes - 1) / 2), (i, row["env_runners/episode_return_mean"], last)
    assert "rlscale_episode_returns" not in rows[0]
    summary = read_summary(run)
    assert summary["last_episode_return_mean"] == pytest.approx(
        float(rows[-1]["env_runners/episode_return_max"]) - 49.5)


def test_the_return_column_exists_when_the_first_iteration_ends_no_episode(cli) -> None:
    (cli.cwd / "counting.py").write_text(COUNTING_ENV)
    # 300-step episodes, 200-step iterations: none ends in the first, one in the second.
    result = cli("train", "--env", "counting.py:Counting", "--env-config", '{"length": 300}',
                 "--num-cpus", "1", "--no-check-env", "--stop-iters", "3", "--name", "long",
                 *ONE_ENV_200_STEPS)
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "long"
    (progress,) = run.glob("*/progress.csv")
    values = [row["env_runners/episode_return_mean"] for row in csv.DictReader(progress.open())]
    assert values[0] in ("", "nan") and [float(v) for v in values[1:]] == [1.0, 1.5]
    plotted = cli("plot", str(run), "--output", str(cli.cwd / "curve.png"))
    assert plotted.exit_code == 0, plotted.output


def test_a_resumed_run_goes_on_with_its_window(cli) -> None:
    (cli.cwd / "counting.py").write_text(COUNTING_ENV)
    args = ["--env", "counting.py:Counting", "--num-cpus", "1", "--no-check-env",
            "--name", "resumed", "--checkpoint-every", "1",
            *ONE_ENV_200_STEPS]
    assert cli("train", *args, "--stop-iters", "2").exit_code == 0
    run = cli.cwd / "rlscale_runs" / "resumed"
    result = cli("train", str(run / "config.yaml"), "--resume", "--stop-iters", "3",
                 "--no-check-env")
    assert result.exit_code == 0, result.output
    rows = [row for path in sorted(run.glob("*/progress.csv"))
            for row in csv.DictReader(path.open())]
    third = next(row for row in rows if row["training_iteration"] == "3")
    last = float(third["env_runners/episode_return_max"])
    # 60 episodes so far: the restored env counts its episodes from 1 again, so the window
    # holds 1..40 from before the resume and 1..20 after it.
    expected = (sum(range(1, 41)) + sum(range(1, 21))) / 60
    assert last == 20
    assert float(third["env_runners/episode_return_mean"]) == pytest.approx(expected)
