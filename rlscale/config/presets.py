"""Tuned presets shipped in ``rlscale/presets/<ALGO>/<env>.yaml``."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from rlscale.errors import ConfigError, did_you_mean

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


def preset_for(algo: str, env: str, presets: dict[str, str] | None = None) -> str | None:
    """The preset ``--preset auto`` picks: the env's own (``ALGO/env``), else the
    algorithm's ``ALGO/default``, else none."""
    presets = available_presets() if presets is None else presets
    for name in (f"{algo}/{env}", f"{algo}/{FALLBACK}"):
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
