"""``env_wrappers``: Gymnasium wrappers named in the experiment file, applied everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import assert_error, read_summary

MINIGRID = {
    "env": "MiniGrid-Empty-5x5-v0",
    "env_packages": ["minigrid"],
    # MissionSpace observations: MiniGrid's own wrapper flattens them to one Box; the time
    # limit (MiniGrid's own is 100 steps here) shows the second wrapper runs after it.
    "env_wrappers": [
        "minigrid.wrappers:FlatObsWrapper",
        {"gymnasium.wrappers:TimeLimit": {"max_episode_steps": 25}},
    ],
}


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.training
def test_minigrid_trains_and_evaluates_with_its_wrappers(cli) -> None:
    exp = _write(cli.cwd / "mg.yaml", {
        **MINIGRID, "seed": 0, "name": "mg", "stop": {"iters": 2},
        "resources": {"num_cpus": 1},
        "algo_config": {"train_batch_size_per_learner": 500, "minibatch_size": 125,
                        "num_epochs": 2},
    })
    result = cli("train", str(exp))
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "mg"
    summary = read_summary(run)
    assert summary["status"] == "completed" and summary["iterations"] == 2
    stored = yaml.safe_load((run / "config.yaml").read_text())
    assert stored["env_wrappers"] == MINIGRID["env_wrappers"]
    # Every training episode was cut at 25 steps or ended at the goal earlier.
    trial = next(p for p in run.iterdir() if p.is_dir() and p.name.startswith("PPO_"))
    last = json.loads((trial / "result.json").read_text().splitlines()[-1])
    assert 0 < last["env_runners"]["episode_len_mean"] <= 25
    # evaluate builds the env with the same wrappers (the policy takes the flat Box).
    ev = cli("evaluate", str(run), "--episodes", "2", "--json")
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.stdout)
    assert all(0 < n <= 25 for n in report["lengths"]), report["lengths"]


def test_check_env_applies_wrappers_in_order(cli) -> None:
    result = cli("check-env", "MiniGrid-Empty-5x5-v0", "--env-package", "minigrid",
                 "--wrapper", "minigrid.wrappers:FlatObsWrapper",
                 "--wrapper", "{gymnasium.wrappers:TimeLimit: {max_episode_steps: 7}}",
                 "--episodes", "2")
    assert result.exit_code == 0, result.output
    assert "Wrapper       minigrid.wrappers:FlatObsWrapper\n" in result.stdout
    assert "Observations  Box(2835,) uint8" in result.stdout
    assert "lengths     7, 7" in result.stdout


@pytest.mark.parametrize(("wrapper", "message"), [
    ("minigrid.wrappers:FlatObsWrap",
     "env_wrappers: 'minigrid.wrappers:FlatObsWrap': module 'minigrid.wrappers' has no "
     "attribute 'FlatObsWrap' (did you mean 'FlatObsWrapper'?)"),
    ("no_such_package.wrappers:W",
     "env_wrappers: 'no_such_package.wrappers:W': module 'no_such_package' not found"),
    ("gymnasium.spaces:Box", "env_wrappers: 'gymnasium.spaces:Box' is not a gymnasium.Wrapper "
     "subclass"),
    ({"gymnasium.wrappers:TimeLimit": {"max_steps": 3}},
     "env_wrappers: gymnasium.wrappers:TimeLimit{'max_steps': 3} failed: TypeError: "
     "TimeLimit.__init__() got an unexpected keyword argument 'max_steps'"),
])
def test_train_refuses_a_bad_wrapper_before_ray(cli, wrapper: object, message: str) -> None:
    exp = _write(cli.cwd / "bad.yaml", {**MINIGRID, "env_wrappers": [wrapper]})
    assert_error(cli("train", str(exp)), message, cli.cwd)
