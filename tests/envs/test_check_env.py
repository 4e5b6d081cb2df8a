"""``rlscale check-env`` and the check ``rlscale train`` runs before Ray starts."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
import ray

from rlscale.envs.check import check_env

BROKEN = "rlscale_testenvs.broken"


def test_clean_env_passes_with_its_figures(cli) -> None:
    result = cli("check-env", "FrozenLake-v1", "--env-config", '{"is_slippery": false}',
                 "--episodes", "4", "--seed", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Observations  Discrete(16)" in out
    assert "Actions       Discrete(4)" in out
    assert "Episodes      4 with random actions, seed 3" in out
    lengths = out.split("lengths", 1)[1].splitlines()[0].split(",")
    assert len(lengths) == 4 and all(int(n) >= 1 for n in lengths)
    assert " us (mean over random steps)" in out
    assert "Problems      none" in out


def test_observation_outside_its_space_is_caught(cli, testenvs: Path) -> None:
    result = cli("check-env", f"{BROKEN}:LeakyObservation", "--episodes", "2")
    assert result.exit_code == 1, result.output
    assert ("error: observation outside its declared Box(2,) float32: element 0 is 1.2 > "
            "high 1 (first at episode 1, step 4) (34 times)") in result.stdout
    assert "FAILED: 1 problem(s) would break training" in result.stdout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NanReward", "error: step(): the reward is nan (first at episode 1, step 3)"),
        ("NanObservation", "error: NaN or inf in the observation (first at episode 1, step 2)"),
        ("WrongDtype", "error: observation has dtype float64, the space says float32"),
        ("OldGymApi", "error: reset() must return (observation, info) (Gymnasium API)"),
        ("OldGymApi", "error: step() must return (obs, reward, terminated, truncated, info); "
                      "it returned 4 values (the old Gym 4-tuple API"),
        ("TextObservation", "error: RLlib cannot train on the observation space Text(1, 8"),
    ],
)
def test_each_problem_is_named(cli, testenvs: Path, name: str, expected: str) -> None:
    result = cli("check-env", f"{BROKEN}:{name}")
    assert result.exit_code == 1, result.output
    assert expected in result.stdout


def test_nondeterministic_reset_is_a_warning(cli, testenvs: Path) -> None:
    result = cli("check-env", f"{BROKEN}:NotSeeded")
    assert result.exit_code == 0, result.output
    assert "warning: reset(seed=0) twice gave different observations" in result.stdout
    assert "OK: no errors (warnings only)" in result.stdout


def test_env_that_only_this_process_can_import(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "driver_only_env.py").write_text(textwrap.dedent('''
        from gymnasium.envs.classic_control import CartPoleEnv
        class Env(CartPoleEnv):
            pass
    '''))
    monkeypatch.syspath_prepend(str(hidden))  # not on PYTHONPATH, not the working dir
    report = check_env("driver_only_env:Env", episodes=1)
    assert [str(p) for p in report.errors] == [
        "error: cannot be re-created in another process (as Ray's env runners do): "
        "EnvSpecError: environment 'driver_only_env:Env': module 'driver_only_env' not found"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope_pkg.envs:Env"],
         "Error: environment 'nope_pkg.envs:Env': module 'nope_pkg' not found (while "
         "importing 'nope_pkg.envs')\n"),
        ([f"{BROKEN}:RaisesInInit"],
         f"Error: environment '{BROKEN}:RaisesInInit' failed to build: ValueError: the "
         "simulator licence server is unreachable\n"),
        (["CartPole-v1", "--env-config", "{size: 3}"],
         "Error: --env-config: not valid JSON (Expecting property name enclosed in double "
         "quotes at column 2): {size: 3}\n"),
        (["RlscaleTest/DictGrid-v0", "--env-package", "nope_pkg"],
         "Error: --env-package nope_pkg: cannot import it (No module named 'nope_pkg')\n"),
    ],
)
def test_bad_spec_exits_2(cli, testenvs: Path, args: list[str], message: str) -> None:
    result = cli("check-env", *args)
    assert result.exit_code == 2
    assert result.stderr == message


def test_env_package_registers_ids(cli, testenvs: Path) -> None:
    result = cli("check-env", "RlscaleTest/DictGrid-v0", "--env-package", "rlscale_testenvs")
    assert result.exit_code == 0, result.output
    assert "Observations  Dict(goal: Discrete(2), position: Box(1,) float32)" in result.stdout


def test_train_refuses_a_broken_env_in_seconds_before_ray(cli, testenvs: Path) -> None:
    start = time.monotonic()
    result = cli("train", "--env", "RlscaleTest/LeakyObs-v0", "--env-package",
                 "rlscale_testenvs", "--stop-iters", "1", "--name", "leak")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: environment 'RlscaleTest/LeakyObs-v0' failed its check (1 problem(s)): "
        "observation outside its declared Box(2,) float32: element 0 is 1.2 > high 1 (first "
        "at episode 1, step 4) (17 times) [details: rlscale check-env; skip with "
        "--no-check-env]\n"
    )
    assert not ray.is_initialized()
    assert not (cli.cwd / "rlscale_runs").exists(), "nothing written"
    assert time.monotonic() - start < 60  # generous: a shared 2-core machine


def test_dry_run_shows_env_config_and_the_observation_connector(cli) -> None:
    result = cli("train", "--env", "FrozenLake-v1", "--env-config", '{"is_slippery": false}',
                 "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "Env      FrozenLake-v1  observations Discrete(16), actions Discrete(4)"
    assert lines[2] == "         env_config {'is_slippery': False}"
    assert "FlattenObservations connector" in lines[3]
    plain = cli("train", "--env", "CartPole-v1", "--dry-run")
    assert "FlattenObservations" not in plain.stdout


def test_no_check_env_skips_the_check(cli, testenvs: Path) -> None:
    args = ["train", "--env", f"{BROKEN}:LeakyObservation", "--dry-run"]
    assert cli(*args).exit_code == 2
    result = cli(*args, "--no-check-env")
    assert result.exit_code == 0, result.output
    assert "observations Box(2,) float32" in result.stdout


def test_sweep_checks_the_env_and_no_check_env_skips_it(cli, testenvs: Path) -> None:
    args = ["sweep", "--env", f"{BROKEN}:LeakyObservation", "--search", "seeds=2",
            "--stop-iters", "1", "--name", "leak", "--dry-run"]
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: environment '{BROKEN}:LeakyObservation' failed its check (1 problem(s)): "
        "observation outside its declared Box(2,) float32"
    )
    assert result.stderr.endswith("[details: rlscale check-env; skip with --no-check-env]\n")
    result = cli(*args, "--no-check-env")
    assert result.exit_code == 0, result.output
    assert f"Env      {BROKEN}:LeakyObservation" in result.stdout
    assert "Trials   2 (1 grid point(s) x 2 seed(s) x 1 sample(s))" in result.stdout
    assert not (cli.cwd / "rlscale_runs").exists(), "a dry run writes nothing"


def test_an_env_without_a_time_limit_gets_a_warning(cli) -> None:
    result = cli("check-env", "gymnasium.envs.classic_control.pendulum:PendulumEnv",
                 "--episodes", "1")
    assert result.exit_code == 0, result.output
    assert "warning: the env has no time limit (no TimeLimit, no max_episode_steps)" \
        in result.stdout
    result = cli("check-env", "Pendulum-v1", "--episodes", "1")
    assert result.exit_code == 0, result.output
    assert "no time limit" not in result.stdout


def test_the_env_is_checked_as_rllib_steps_it_with_its_wrappers(cli) -> None:
    """A simulator whose own spaces are not Gymnasium's, made a Gymnasium env by a wrapper
    (as CityLearn's RLlib wrapper does): the wrapper is what RLlib steps, and passes."""
    (cli.cwd / "wrapped_sim.py").write_text(textwrap.dedent('''
        import gymnasium as gym
        import numpy as np

        class RawSpace:  # the simulator's own space type
            shape = (1,)

        class Sim(gym.Env):
            observation_space = RawSpace()
            action_space = RawSpace()

            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                self.t = 0
                return np.zeros(2, np.float32), {}

            def step(self, action):
                self.t += 1
                return np.zeros(2, np.float32), 0.0, self.t >= 5, False, {}

        class Gymified(gym.Wrapper):
            def __init__(self, env):
                super().__init__(env)
                self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
                self.action_space = gym.spaces.Discrete(2)

        def make(config):
            return Gymified(Sim())
    '''))
    result = cli("check-env", "wrapped_sim.py:make", "--episodes", "1")
    assert result.exit_code == 0, result.output
    assert "error:" not in result.stdout and "OK: no errors" in result.stdout
