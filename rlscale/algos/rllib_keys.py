"""Where an ``algo_config`` key lives in RLlib's config dict (``AlgorithmConfig.to_dict()``).

A sweep puts Tune's search objects into that dict, so it must know each searched key's
place there. RLlib 2.60 has no public API for it: ``to_dict()`` is ``vars(config)`` with a
few attributes renamed, and its inverse (``_translate_special_keys``) is private. The
translation is kept here, beside :func:`rlscale.algos.build.validate_algo_config` (which
turns the experiment's keys into the config's attributes), so that one module owns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rlscale.algos.build import validate_algo_config
from rlscale.algos.registry import AlgoInfo
from rlscale.config.paths import nest


def rllib_dict_path(
    info: AlgoInfo, parts: Sequence[str], values: Sequence[Any], rllib: Mapping[str, Any]
) -> tuple[str, ...]:
    """The path in ``rllib`` (the algorithm's config dict) of the ``algo_config`` key at
    ``parts`` (``("lr",)``, ``("model", "fcnet_hiddens")``). Every one of ``values`` is
    checked as ``train`` checks ``algo_config`` (a :class:`ConfigError` when one is not)."""
    translated: dict[str, Any] = {}
    for value in values:
        translated = validate_algo_config(info, nest(parts, value))
    key = next(iter(translated))
    if key == "model":  # the model keys live in the config's private _model_config
        return ("_model_config", *parts[1:])
    if key not in rllib and f"_{key}" in rllib:  # attributes RLlib keeps private
        key = f"_{key}"
    return (key, *parts[1:])
