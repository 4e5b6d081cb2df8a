"""Assembling the experiment: precedence, --set parsing, validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlscale.config import parse_set, resolve_experiment
from rlscale.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_precedence_defaults_file_set_flags(tmp_path: Path) -> None:
    exp_file = write(tmp_path / "exp.yaml", "env: CartPole-v1\nseed: 1\nstop: {iters: 5}\n"
                     "algo_config: {lr: 0.1, gamma: 0.9}\npreset: none\n")
    exp, preset = resolve_experiment(
        exp_file,
        sets=["seed=2", "algo_config.lr=0.01", "stop.iters=7"],
        flags={"stop": {"iters": 9}},
    )
    assert preset is None
    assert exp.seed == 2  # --set beats the file
    assert exp.stop.iters == 9  # flags beat --set
    assert exp.algo_config == {"lr": 0.01, "gamma": 0.9}  # merged key by key
    assert exp.algo == "PPO" and exp.checkpoint.every == 10  # defaults


def test_preset_sits_below_the_file(tmp_path: Path) -> None:
    exp_file = write(tmp_path / "exp.yaml", "env: CartPole-v1\nalgo_config: {lr: 0.5}\n")
    exp, preset = resolve_experiment(exp_file)
    assert preset == "PPO/CartPole-v1"
    assert exp.preset == "PPO/CartPole-v1"
    assert exp.algo_config["lr"] == 0.5  # the file beats the preset
    assert exp.algo_config["num_epochs"] == 10  # the preset fills the rest


def test_preset_none_disables_it() -> None:
    exp, preset = resolve_experiment(None, flags={"env": "CartPole-v1", "preset": "none"})
    assert preset is None and exp.algo_config == {}
    exp, preset = resolve_experiment(None, flags={"env": "MountainCar-v0", "preset": "none"})
    assert preset is None and exp.algo_config == {}


def test_an_env_without_a_preset_gets_the_algorithms_default_preset() -> None:
    exp, preset = resolve_experiment(None, flags={"env": "MountainCar-v0"})
    assert preset == exp.preset == "PPO/default"
    assert exp.algo_config["use_kl_loss"] is False
    # An algorithm without presets keeps RLlib's defaults.
    exp, preset = resolve_experiment(None, flags={"env": "MountainCar-v0", "algo": "APPO"})
    assert preset is None and exp.algo_config == {}


def test_who_set_what_is_recorded_with_or_without_a_preset(tmp_path: Path) -> None:
    exp_file = write(tmp_path / "exp.yaml", "env: CartPole-v1\nalgo_config: {gamma: 0.98}\n")
    # gamma 0.98 is the preset's value too: it is the user's all the same.
    exp, _ = resolve_experiment(exp_file, sets=["algo_config.train_batch_size_per_learner=1024"],
                                flags={"seed": 1})
    user = exp.user_keys()
    assert user is not None
    assert {"env", "seed", "algo_config.gamma",
            "algo_config.train_batch_size_per_learner"} <= user
    assert "algo_config.num_epochs" not in user  # the preset's
    # preset none: still recorded (no value to compare with, nothing guessed).
    exp, _ = resolve_experiment(None, flags={"env": "CartPole-v1", "preset": "none"})
    assert exp.user_keys() == {"env", "preset"}
    # ... and kept by the copies the runners make.
    assert exp.model_copy(update={"name": "x"}).user_keys() == {"env", "preset"}


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("a=1", {"a": 1}),
        ("a.b.c=x", {"a": {"b": {"c": "x"}}}),
        ("lr=1e-4", {"lr": 1e-4}),
        ("hidden=[64, 64]", {"hidden": [64, 64]}),
        ("flag=true", {"flag": True}),
        ("name=", {"name": ""}),
    ],
)
def test_parse_set(item: str, expected: dict) -> None:
    assert parse_set(item) == expected


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["novalue"], "--set expects key.path=value, got 'novalue'"),
        (["a..b=1"], "--set has an empty key in 'a..b'"),
        (["stopp.iters=3"], "unknown key 'stopp' (did you mean 'stop'?)"),
        (["stop.iter=3"], "unknown key 'stop.iter' (did you mean 'stop.iters'?)"),
        (["resources.num_cpus=many"],
         "resources.num_cpus (--num-cpus): input should be a valid integer, unable to parse "
         "string as an integer (got 'many')"),
        (["stop.iters=0"],
         "stop.iters (--stop-iters): input should be greater than or equal to 1 (got 0)"),
    ],
)
def test_bad_values_are_one_line_errors(sets: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_experiment(None, sets=sets, flags={"env": "CartPole-v1"})
    assert str(err.value) == message


def test_env_is_required() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_experiment(None)
    assert str(err.value) == (
        "'env' is required (set it in the experiment file or with --env)"
    )


def test_malformed_yaml(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "env: CartPole-v1\nstop: {iters: 3\n")
    with pytest.raises(ConfigError) as err:
        resolve_experiment(bad)
    assert str(err.value).startswith(f"{bad}: malformed YAML (line ")


def test_file_must_be_a_mapping(tmp_path: Path) -> None:
    bad = write(tmp_path / "list.yaml", "- CartPole-v1\n")
    with pytest.raises(ConfigError) as err:
        resolve_experiment(bad)
    assert str(err.value) == f"{bad}: the experiment file must be a mapping of keys to values"
