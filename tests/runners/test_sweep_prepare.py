"""Preparing a sweep: the probe trial keeps what the user set."""

from __future__ import annotations

from rlscale.config import resolve_experiment
from rlscale.config.model import ExperimentConfig
from rlscale.config.search import parse_search
from rlscale.runners.sweep.prepare import probe_experiment


def test_the_probe_keeps_who_set_what() -> None:
    exp, _ = resolve_experiment(
        None, sets=["algo_config.train_batch_size_per_learner=1024"],
        flags={"env": "CartPole-v1", "search": {"algo_config.lr": {"grid": [1e-3, 3e-4]}}},
    )
    space = parse_search(exp.search, list(ExperimentConfig.model_fields))
    probe = probe_experiment(exp, space)
    assert probe.algo_config["lr"] == 1e-3
    user = probe.user_keys()
    assert user is not None and exp.user_keys() is not None
    # The user's batch (equal to the preset's) stays the user's; the searched key is theirs.
    assert user == exp.user_keys() | {"algo_config.lr"}
    assert "algo_config.train_batch_size_per_learner" in user
    assert "algo_config.num_epochs" not in user


def test_searched_keys_find_their_place_in_rllibs_config_dict() -> None:
    from rlscale.runners.launch import plan_sweep_job
    from rlscale.runners.sweep import SweepOptions, param_space

    job = plan_sweep_job(
        {"env": "CartPole-v1", "stop": {"iters": 1}, "preset": "none", "search": {
            "algo_config.lr": {"grid": [1e-3, 3e-4]},
            "algo_config.model.fcnet_hiddens": {"choice": [[32], [64]]},
            "env_config.max_episode_steps": {"grid": [100]},
            "seed": {"grid": [1, 2]},
        }},
        options=SweepOptions(num_cpus=1), check_env=False,
    )
    assert job.rllib_paths == {
        "algo_config.lr": ("lr",),
        "algo_config.model.fcnet_hiddens": ("_model_config", "fcnet_hiddens"),
        "env_config.max_episode_steps": ("env_config", "max_episode_steps"),
        "seed": ("seed",),
    }
    space = param_space(job)
    assert space["lr"] == {"grid_search": [1e-3, 3e-4]}
    assert "fcnet_hiddens" in space["_model_config"]
