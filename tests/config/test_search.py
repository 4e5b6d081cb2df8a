"""The search block: parsing, checks and messages (no Ray)."""

from __future__ import annotations

import pytest

from rlscale.config.model import ExperimentConfig
from rlscale.config.search import parse_search, parse_search_flag
from rlscale.errors import ConfigError

FIELDS = list(ExperimentConfig.model_fields)


def test_dimensions_seeds_and_grid_size() -> None:
    space = parse_search({
        "algo_config.lr": {"loguniform": [1e-4, 1e-2]},
        "algo_config.num_epochs": {"grid": [4, 8, 16]},
        "env_config.size": {"grid": [4, 8]},
        "algo_config.gamma": {"quniform": [0.9, 0.99, 0.01]},
        "seeds": 3,
    }, FIELDS)
    assert space.keys == ["algo_config.lr", "algo_config.num_epochs", "env_config.size",
                          "algo_config.gamma"]
    assert space.seeds == 3
    assert space.grid_points == 6
    assert space.dimensions[0].describe() == "loguniform [0.0001, 0.01]"
    assert space.dimensions[0].probe_values() == [1e-4, 1e-2]
    assert space.dimensions[1].probe_values() == [4, 8, 16]


def test_randint_excludes_high_as_tune_does() -> None:
    (dim,) = parse_search({"algo_config.num_epochs": {"randint": [2, 5]}}, FIELDS).dimensions
    assert dim.probe_values() == [2, 4]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"algo_config.lr": {"uniform": [0.01, 0.01]}},
         "search.algo_config.lr: empty range uniform [0.01, 0.01]: low must be below high"),
        ({"algo_config.lr": {"choice": []}},
         "search.algo_config.lr: choice needs at least one value, got []"),
        ({"algo_config.lr": {"quniform": [0.1, 0.2]}},
         "search.algo_config.lr: quniform expects [low, high, q] numbers, got [0.1, 0.2]"),
        ({"algo_config.lr": {"grid": [1], "choice": [2]}},
         "search.algo_config.lr: expected one of grid, choice, uniform, loguniform, randint, "
         "quniform (e.g. {grid: [0.001, 0.0003]}), got {'grid': [1], 'choice': [2]}"),
        ({"seed": {"grid": [1, 2]}, "seeds": 2}, "search: use either 'seed' or 'seeds', not both"),
        ({"sedes": 2}, "unknown key 'sedes' in search (did you mean 'seeds'?)"),
        ({"env_confg.size": {"grid": [1]}},
         "unknown key 'env_confg.size' in search (did you mean 'env_config.size'?)"),
        ({"algo_config": {"grid": [{}]}},
         "search: 'algo_config' cannot be searched (searchable: algo_config.KEY, "
         "env_config.KEY, seed; and seeds: K)"),
    ],
)
def test_bad_blocks(block: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_search(block, FIELDS)
    assert str(info.value) == message


def test_search_flag_is_yaml() -> None:
    key, spec = parse_search_flag("algo_config.lr={grid: [0.001, 1e-4]}")
    assert key == "algo_config.lr"
    # YAML 1.1 reads 1e-4 as a string; the search block makes it a number again.
    assert parse_search({key: spec}, FIELDS).dimensions[0].values == (0.001, 1e-4)
    assert parse_search_flag("seeds=3") == ("seeds", 3)
    with pytest.raises(ConfigError, match="--search expects key=spec"):
        parse_search_flag("algo_config.lr")
