"""Tuned presets shipped in ``rlscale/presets/<ALGO>/<env>.yaml``."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from rlscale.errors import ConfigError, did_you_mean

PRESET_ROOT = "presets"


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


def load_preset(choice: str, algo: str, env: str) -> tuple[str | None, dict[str, Any]]:
    """Return ``(name, settings)`` for ``choice`` ('auto', 'none' or a preset name)."""
    if choice == "none":
        return None, {}
    presets = available_presets()
    name = f"{algo}/{env}" if choice == "auto" else choice
    if name not in presets:
        if choice == "auto":
            return None, {}
        raise ConfigError(f"unknown preset '{choice}'{did_you_mean(choice, presets)}")
    data = yaml.safe_load(presets[name]) or {}
    return name, data
