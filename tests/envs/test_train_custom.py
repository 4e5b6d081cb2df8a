"""Custom environments train for real: a file outside the project with env runners in other
processes, Discrete and Dict observations, an --env-package id, and the shipped example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import read_summary

pytestmark = pytest.mark.training

EXAMPLES = Path(__file__).parents[2] / "examples"
# Small batches: these tests show that the spaces train, not how well.
SMALL = ["--set", "algo_config.train_batch_size_per_learner=400", "--set",
         "algo_config.minibatch_size=100", "--set", "algo_config.num_epochs=2",
         "--set", "algo_config.model.fcnet_hiddens=[32]"]


def test_example_from_a_file_outside_the_project_reaches_its_target(cli) -> None:
    """The example thermostat, copied outside the project, given as file.py:Class with
    --env-config, sampled by 2 env runners in other processes (--num-cpus 3)."""
    sims = cli.cwd / "sims"
    sims.mkdir()
    shutil.copy(EXAMPLES / "thermostat.py", sims / "building.py")
    experiment = yaml.safe_load((EXAMPLES / "thermostat.yaml").read_text())
    target = experiment["stop"]["reward"]
    result = cli("train", str(EXAMPLES / "thermostat.yaml"), "--env", "sims/building.py:Thermostat",
                 "--env-config", '{"outdoor_mean": 5.0}', "--num-cpus", "3",
                 "--stop-iters", "60", "--name", "thermo")
    assert result.exit_code == 0, result.output
    assert "2 env runner(s) x 4 env(s)" in result.stdout  # PPO/default: 8 envs in all
    run = cli.cwd / "rlscale_runs" / "thermo"
    summary = read_summary(run)
    assert summary["reached_target"] is True, summary
    assert summary["best_episode_return_mean"] >= target
    stored = yaml.safe_load((run / "config.yaml").read_text())
    assert stored["env"] == f"{sims / 'building.py'}:Thermostat"  # reruns from anywhere
    assert stored["env_config"] == {"outdoor_mean": 5.0}


def test_frozenlake_discrete_observations_train(cli) -> None:
    result = cli("train", "--env", "FrozenLake-v1", "--stop-iters", "2", "--name", "fl", *SMALL)
    assert result.exit_code == 0, result.output
    summary = read_summary(cli.cwd / "rlscale_runs" / "fl")
    assert summary["status"] == "completed" and summary["iterations"] == 2


def test_dict_observations_from_an_env_package_train_in_env_runners(cli, testenvs: Path) -> None:
    result = cli("train", "--env", "RlscaleTest/DictGrid-v0", "--env-package", "rlscale_testenvs",
                 "--num-cpus", "3", "--stop-iters", "2", "--name", "dict", *SMALL)
    assert result.exit_code == 0, result.output
    assert "2 env runner(s)" in result.stdout
    run = cli.cwd / "rlscale_runs" / "dict"
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 2
    assert summary["timesteps_total"] >= 800
    assert yaml.safe_load((run / "config.yaml").read_text())["env_packages"] == [
        "rlscale_testenvs"]


def test_env_package_vector_implementation_steps_in_env_runners(cli, testenvs: Path) -> None:
    """An --env-package id with a vector_entry_point: each of the 2 env runners (other
    processes) builds its envs (PPO/default's 8, 4 per runner) as one vector env of the
    package (each writes a marker)."""
    markers = cli.cwd / "markers"
    markers.mkdir()
    result = cli("train", "--env", "RlscaleTest/VectorCorridor-v0", "--env-package",
                 "rlscale_testenvs", "--env-config", f'{{"marker_dir": "{markers}"}}',
                 "--num-cpus", "3", "--stop-iters", "2", "--name", "vec", *SMALL,
                 # only the runners build envs (not this process while they start)
                 "--set", "resources.sample_at_once=false")
    assert result.exit_code == 0, result.output
    assert "2 env runner(s) x 4 env(s)" in result.stdout  # PPO/default: 8 envs in all
    summary = read_summary(cli.cwd / "rlscale_runs" / "vec")
    assert summary["status"] == "completed" and summary["timesteps_total"] >= 800
    built = {m.stem: m.read_text() for m in markers.glob("*.txt")}
    assert len(built) == 2 and set(built.values()) == {"4"}, built
