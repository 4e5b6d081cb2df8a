"""Env specs: Gymnasium ids, module:Class, file.py:Class, env_config, and their errors."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest

from rlscale.algos.spaces import flatten_observations, observation_connector
from rlscale.envs.resolve import make_env, resolve_env
from rlscale.envs.spec import parse_spec
from rlscale.errors import EnvSpecError

ENV_FILE = textwrap.dedent('''
    import gymnasium as gym
    import numpy as np

    class Walk(gym.Env):
        def __init__(self, config=None):
            self.config = dict(config or {})
            self.size = self.config.get("size", 3)
            self.observation_space = gym.spaces.Box(-1.0, 1.0, (self.size,), np.float32)
            self.action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return np.zeros(self.size, np.float32), {}

        def step(self, action):
            return np.zeros(self.size, np.float32), 1.0, False, True, {}

    class Keywords(Walk):
        def __init__(self, size=3, noise=0.0):
            super().__init__({"size": size})
            self.noise = noise

    class ConfigAndMore(Walk):
        def __init__(self, config=None, render_mode=None):
            super().__init__(config)
            self.render_mode = render_mode

    def make_walk(config):
        return Walk(config)

    class Broken(Walk):
        def __init__(self, config=None):
            raise RuntimeError("no licence")

    class NotEnv:
        pass

    not_callable = 3
''')


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "somewhere" / "walk_env.py"
    path.parent.mkdir()
    path.write_text(ENV_FILE)
    monkeypatch.chdir(tmp_path)
    return path


def test_spec_kinds() -> None:
    assert parse_spec("CartPole-v1").kind == "gym_id"
    assert parse_spec("pkg.mod:Env").kind == "module"
    target = parse_spec("envs/my.py:Env", cwd=Path("/data/x"))
    assert (target.kind, target.location, target.name) == ("file", "/data/x/envs/my.py", "Env")
    assert target.short_name == "my.py:Env"


def test_file_class_gets_env_config_as_a_dict(env_file: Path) -> None:
    resolved = resolve_env("somewhere/walk_env.py:Walk", {"size": 5})
    assert resolved.canonical_spec == f"{env_file}:Walk"
    assert resolved.observation_space.shape == (5,)
    env = resolved.make()
    assert env.config == {"size": 5}


def test_keyword_constructor_and_factory(env_file: Path) -> None:
    env = make_env("somewhere/walk_env.py:Keywords", {"size": 4, "noise": 0.5})
    assert env.observation_space.shape == (4,) and env.noise == 0.5
    assert make_env("somewhere/walk_env.py:make_walk", {"size": 2}).size == 2
    env = make_env("somewhere/walk_env.py:ConfigAndMore", {"size": 2, "render_mode": "x"})
    assert env.config == {"size": 2, "render_mode": "x"} and env.render_mode is None


def test_gym_id_gets_env_config_as_make_kwargs() -> None:
    env = make_env("FrozenLake-v1", {"is_slippery": False, "map_name": "8x8"})
    assert env.observation_space == gym.spaces.Discrete(64)


def test_creator_rebuilds_from_strings_after_pickling(env_file: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = resolve_env("somewhere/walk_env.py:Walk", {"size": 2})
    creator = pickle.loads(pickle.dumps(resolved.creator()))
    monkeypatch.chdir(tmp_path / "somewhere")  # another working directory, same file
    env = creator({"size": 6})
    assert env.observation_space.shape == (6,)


def test_an_env_package_id_with_a_vector_entry_point_is_built_as_one_vector_env(
        testenvs: Path) -> None:
    """The creator RLlib calls in an env runner imports the package, then builds all of a
    runner's envs with the id's own vector implementation (a single env without num_envs)."""
    resolved = resolve_env("RlscaleTest/VectorCorridor-v0", {}, ["rlscale_testenvs"])
    assert resolved.native_vector
    creator = pickle.loads(pickle.dumps(resolved.creator()))
    envs = creator({"num_envs": 3})
    assert type(envs.unwrapped).__name__ == "VectorCorridor"
    assert envs.num_envs == 3 and envs.unwrapped.max_episode_steps == 50
    assert isinstance(creator({}), gym.Env)
    assert not resolve_env("RlscaleTest/DictGrid-v0", {}, ["rlscale_testenvs"]).native_vector


@pytest.mark.parametrize(
    ("spec", "config", "message"),
    [
        ("somewhere/nope.py:Walk", None, "environment 'somewhere/nope.py:Walk': file not found: "
                                         "{tmp}/somewhere/nope.py"),
        ("somewhere/walk_env.py:Walkk", None,
         "environment 'somewhere/walk_env.py:Walkk': walk_env.py has no attribute 'Walkk' "
         "(did you mean 'Walk'?)"),
        ("somewhere/walk_env.py:NotEnv", None,
         "environment 'somewhere/walk_env.py:NotEnv': NotEnv is not a gymnasium.Env subclass"),
        ("somewhere/walk_env.py:not_callable", None,
         "environment 'somewhere/walk_env.py:not_callable': 'not_callable' is a int, not a "
         "gymnasium.Env class or a function returning one"),
        ("somewhere/walk_env.py:Broken", None,
         "environment 'somewhere/walk_env.py:Broken' failed to build: RuntimeError: no licence"),
        ("somewhere/walk_env.py:Keywords", {"sise": 3},
         "environment 'somewhere/walk_env.py:Keywords': env_config does not fit: got an "
         "unexpected keyword argument 'sise'"),
        ("no_such_pkg.envs:Env", None, "environment 'no_such_pkg.envs:Env': module "
                                       "'no_such_pkg' not found (while importing "
                                       "'no_such_pkg.envs')"),
        ("CartPole-v9", None, "unknown environment 'CartPole-v9' (did you mean 'CartPole-v1'?)"),
    ],
)
def test_bad_specs_are_one_line_errors(env_file: Path, tmp_path: Path, spec: str,
                                       config: dict | None, message: str) -> None:
    with pytest.raises(EnvSpecError) as err:
        resolve_env(spec, config)
    assert str(err.value) == message.format(tmp=tmp_path)


def test_observation_connectors() -> None:
    assert observation_connector(gym.spaces.Box(-1, 1, (4,))) is None
    assert observation_connector(gym.spaces.Box(0, 255, (84, 84, 3))) is None
    assert observation_connector(gym.spaces.Discrete(16)) is flatten_observations
    assert observation_connector(gym.spaces.Box(-1, 1, (3, 4))) is flatten_observations
    nested = gym.spaces.Dict({"a": gym.spaces.Discrete(2),
                              "b": gym.spaces.Tuple([gym.spaces.MultiDiscrete([2, 3])])})
    assert observation_connector(nested) is flatten_observations
    with pytest.raises(EnvSpecError, match=r"RLlib cannot train on the observation space "
                                           r"Text\(1, 4"):
        observation_connector(gym.spaces.Dict({"t": gym.spaces.Text(4)}))
