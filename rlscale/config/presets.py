"""Tuned presets shipped in ``rlscale/presets/<ALGO>/<env>.yaml``."""

from __future__ import annotations

import fnmatch
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from rlscale.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from rlscale.config.model import ExperimentConfig

PRESET_ROOT = "presets"
# The preset of an algorithm for envs that have none of their own (custom envs): general
# settings, fast on any env, in place of RLlib's defaults.
FALLBACK = "default"


def available_presets() -> dict[str, str]:
    """Map preset names (``ALGO/env``) to their YAML text."""
    root = resources.files("rlscale") / PRESET_ROOT
    found: dict[str, str] = {}
    if not root.is_dir():
        return found
    for algo_dir in root.iterdir():
        if not algo_dir.is_dir():
            continue
        for item in algo_dir.iterdir():
            if item.name.endswith(".yaml"):
                found[f"{algo_dir.name}/{item.name[:-5]}"] = item.read_text()
    return found


# Presets for families of env ids (``fnmatch`` patterns): ``--preset auto`` picks
# ``ALGO/<family>`` for an id that matches, when the env has no preset of its own.
FAMILIES = (("ALE/*", "atari"),)


def preset_for(algo: str, env: str, presets: dict[str, str] | None = None) -> str | None:
    """The preset ``--preset auto`` picks: the env's own (``ALGO/env``), else its family's
    (``ALGO/atari`` for ``ALE/*`` ids), else the algorithm's ``ALGO/default``, else none."""
    presets = available_presets() if presets is None else presets
    families = [f"{algo}/{family}" for pattern, family in FAMILIES
                if fnmatch.fnmatchcase(env.strip(), pattern)]
    for name in (f"{algo}/{env}", *families, f"{algo}/{FALLBACK}"):
        if name in presets:
            return name
    return None


def load_preset(choice: str, algo: str, env: str) -> tuple[str | None, dict[str, Any]]:
    """Return ``(name, settings)`` for ``choice`` ('auto', 'none' or a preset name)."""
    if choice == "none":
        return None, {}
    presets = available_presets()
    name = preset_for(algo, env, presets) if choice == "auto" else choice
    if name is None:
        return None, {}
    if name not in presets:
        raise ConfigError(f"unknown preset '{choice}'{did_you_mean(choice, presets)}")
    data = yaml.safe_load(presets[name]) or {}
    return name, data


# The preset of an algorithm for multi-agent envs that have none of their own: ``--preset
# auto`` picks it in place of ``ALGO/default`` once the env is seen to have agents (the env
# is resolved after the experiment is merged: see ``multiagent_preset``).
MULTIAGENT = "multiagent"


def is_generic(name: str) -> bool:
    """Whether preset ``name`` is one of an algorithm's generic presets (``ALGO/default``,
    ``ALGO/multiagent``), tuned for no env of its own."""
    return name.split("/")[-1] in (FALLBACK, MULTIAGENT)


def multiagent_preset(exp: ExperimentConfig) -> ExperimentConfig:
    """``exp`` (an ``ExperimentConfig`` of a multi-agent env) with ``ALGO/multiagent`` in
    place of the ``ALGO/default`` that ``--preset auto`` chose, or ``exp`` unchanged.

    Only the preset's settings are replaced: what the user set (the experiment file,
    ``--set``, flags; recorded when the experiment was merged) stays. An experiment that
    does not know what its user set (not merged by ``resolve_experiment``) is unchanged.
    """
    fallback, target = f"{exp.algo}/{FALLBACK}", f"{exp.algo}/{MULTIAGENT}"
    presets = available_presets()
    user = exp.user_keys()
    if exp.preset != fallback or target not in presets or user is None:
        return exp
    new = yaml.safe_load(presets[target]) or {}
    update: dict[str, Any] = {"preset": target}
    for section in ("algo_config", "resources"):
        mine = getattr(exp, section)
        current = dict(mine) if isinstance(mine, dict) else mine.model_dump()
        changed = {k: v for k, v in (new.get(section) or {}).items()
                   if f"{section}.{k}" not in user}
        if not changed:
            continue
        if isinstance(mine, dict):
            update[section] = {**current, **changed}
        else:
            update[section] = mine.model_copy(update=changed)
    return exp.model_copy(update=update)
