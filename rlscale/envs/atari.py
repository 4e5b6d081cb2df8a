"""Atari ids (``ALE/*``, from the ``ale-py`` package): registered on first use, and the
frame skipping left to Gymnasium's ``AtariPreprocessing`` when it is among the wrappers.

Gymnasium 1.x registers no ``ALE/*`` id until ``ale_py`` is imported, and ``ALE/*-v5`` skips
4 frames itself, which ``AtariPreprocessing`` (frame_skip 4 by default) refuses ("Disable
frame-skipping in the original env"). rlscale imports ``ale_py`` for an ``ALE/`` id and
passes ``frameskip=1`` to ``gym.make`` when ``AtariPreprocessing`` wraps the env and
``env_config`` does not set ``frameskip``: the wrapper then skips the 4 frames, max-pooling
the last two as the standard recipes do.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from rlscale.envs.wrappers import WrapperRef
from rlscale.errors import MissingExtraError

ALE_PREFIX = "ALE/"
ATARI_PREPROCESSING = "AtariPreprocessing"


def is_ale_id(spec: str) -> bool:
    """True for a Gymnasium id of ale-py (``ALE/Pong-v5``)."""
    return spec.strip().startswith(ALE_PREFIX)


def register_ale_ids() -> None:
    """Import ``ale_py``, which registers the ``ALE/*`` ids; one line naming the extra
    when it is not installed."""
    try:
        importlib.import_module("ale_py")
    except ImportError:
        raise MissingExtraError("Atari environments (ALE/...)", "atari") from None


def atari_env_config(
    spec: str, env_config: Mapping[str, Any], wrappers: Sequence[WrapperRef]
) -> Mapping[str, Any]:
    """``env_config`` with ``frameskip: 1`` added for an ``ALE/`` id that
    ``AtariPreprocessing`` wraps (unless ``frameskip`` is set); any other ``env_config`` as
    it is (RLlib's ``EnvContext`` stays one: an env may read its ``worker_index``)."""
    preprocessed = any(ref.path.rpartition(":")[2] == ATARI_PREPROCESSING for ref in wrappers)
    if not (is_ale_id(spec) and preprocessed and "frameskip" not in env_config):
        return env_config
    config = {**env_config, "frameskip": 1}
    copy = getattr(env_config, "copy_with_overrides", None)
    return copy(env_config=config) if copy is not None else config
