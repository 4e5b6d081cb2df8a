"""``check-env`` compares the spaces of an env re-created in a new process by structure
(type, shape, dtype, bounds, n, children), never by their text."""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

from rlscale.envs.check import check_recreate
from rlscale.envs.compare import spaces_difference
from rlscale.envs.resolve import resolve_env

Box, Dict, Discrete, Tuple = gym.spaces.Box, gym.spaces.Dict, gym.spaces.Discrete, gym.spaces.Tuple


class AddressSpace(gym.Space):
    """A space whose text holds an address, as MiniGrid's MissionSpace does."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def __repr__(self) -> str:
        return f"AddressSpace({self.fn})"


def _obs(**changes) -> gym.Space:
    parts = {"image": Box(0, 255, (5, 5, 3), np.uint8), "direction": Discrete(4),
             "pair": Tuple((Discrete(3), Box(-1.0, 1.0, (2,), np.float32)))}
    parts.update(changes)
    return Dict(parts)


def test_equal_structures_with_different_text_are_the_same() -> None:
    one, two = AddressSpace(lambda: "a"), AddressSpace(lambda: "b")
    assert str(one) != str(two)
    assert spaces_difference(one, two) is None
    assert spaces_difference(_obs(mission=one), _obs(mission=two)) is None


@pytest.mark.parametrize(("there", "difference"), [
    (_obs(image=Box(0, 255, (7, 7, 3), np.uint8)),
     "['image']: shape [5, 5, 3] here, [7, 7, 3] there"),
    (_obs(image=Box(0, 255, (5, 5, 3), np.float32)),
     "['image']: dtype 'uint8' here, 'float32' there"),
    (_obs(image=Box(0, 1, (5, 5, 3), np.uint8)),
     "['image']: high 255 (all 75) here, 1 (all 75) there"),
    (_obs(direction=Discrete(5)), "['direction']: n 4 here, 5 there"),
    (_obs(direction=Discrete(4, start=1)), "['direction']: start 0 here, 1 there"),
    (_obs(pair=Tuple((Discrete(2), Box(-1.0, 1.0, (2,), np.float32)))),
     "['pair'][0]: n 3 here, 2 there"),
    (_obs(pair=Tuple((Discrete(3),))), "['pair']: 2 parts here, 1 there"),
    (_obs(direction=Box(0, 3, (1,), np.int64)),
     "['direction']: type 'gymnasium.spaces.discrete.Discrete' here, "
     "'gymnasium.spaces.box.Box' there"),
    (_obs(extra=Discrete(2)),
     "the space: keys ['direction', 'image', 'pair'] here, ['direction', 'extra', 'image', "
     "'pair'] there"),
])
def test_a_difference_is_named_where_it_is(there: gym.Space, difference: str) -> None:
    assert spaces_difference(_obs(), there) == difference


@pytest.mark.skipif(importlib.util.find_spec("minigrid") is None, reason="needs minigrid")
def test_minigrid_is_re_created_without_a_false_error(cli) -> None:
    env = resolve_env("MiniGrid-Empty-5x5-v0", {}, ["minigrid"])
    assert "function" in str(env.observation_space)  # its text holds an address
    assert check_recreate(env) is None
    result = cli("check-env", "MiniGrid-Empty-5x5-v0", "--env-package", "minigrid",
                 "--episodes", "1")
    assert "re-created" not in result.output
    # Its one real problem (RLlib cannot encode a mission string) is still reported.
    assert "1 error(s)" in result.output and "MissionSpace" in result.output
