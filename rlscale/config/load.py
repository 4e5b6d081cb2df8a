"""Turn an experiment file, ``--set`` overrides and flags into one ExperimentConfig.

Precedence, implemented here and only here:
defaults < preset < experiment file < ``--set`` < explicit flags.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rlscale.config.flags import KEY_FLAGS
from rlscale.config.model import ExperimentConfig
from rlscale.config.paths import dotted_keys, nest
from rlscale.config.presets import load_preset
from rlscale.errors import ConfigError, did_you_mean


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; nested mappings merge key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_scalar(text: str) -> Any:
    """Parse a command-line value as a YAML scalar/list/mapping (``1e-4`` is a float)."""
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"cannot parse value {text!r}: {problem}") from None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_set(item: str) -> dict[str, Any]:
    """Turn ``a.b.c=value`` into ``{"a": {"b": {"c": value}}}``."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key.path=value, got {item!r}")
    parts = [p.strip() for p in key.split(".")]
    if any(not p for p in parts):
        raise ConfigError(f"--set has an empty key in {key!r}")
    return nest(parts, parse_scalar(raw))


def read_experiment_file(path: Path) -> dict[str, Any]:
    """Read an experiment YAML file into a mapping (errors are one line)."""
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a text (UTF-8) file: byte {exc.start} is 0x{exc.object[exc.start]:02x}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if "\0" in text:
        raise ConfigError(f"{path}: not a text file (it holds NUL bytes)")
    try:
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        raise ConfigError(
            f"{path}: malformed YAML: character #x{exc.character:04x} at position "
            f"{exc.position} is not allowed ({exc.reason})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the experiment file must be a mapping of keys to values")
    check_keys(data, str(path))
    return data


def check_keys(data: Any, where: str, prefix: str = "") -> None:
    """Every key of the (nested) mapping is a string, as the dotted ``--set`` paths are."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if not isinstance(key, str):
                at = f" in '{prefix.rstrip('.')}'" if prefix else ""
                raise ConfigError(f"{where}: the key {key!r}{at} must be a string (quote it)")
            check_keys(value, where, f"{prefix}{key}.")
    elif isinstance(data, list):
        for item in data:
            check_keys(item, where, prefix)


def _fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Names of the fields of the (nested) model at ``loc``, for suggestions."""
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return list(getattr(current, "model_fields", {}))


def _format_validation_error(exc: ValidationError) -> str:
    messages = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if isinstance(p, str | int)]
        path = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            parent = "".join(f"{p}." for p in loc[:-1])
            fields = [parent + f for f in _fields_at(ExperimentConfig, loc[:-1])]
            hint = did_you_mean(path, fields)
            messages.append(f"unknown key '{path}'{hint}")
        elif err["type"] == "missing":
            flag = KEY_FLAGS.get(path, f"--set {path}=...")
            messages.append(f"'{path}' is required (set it in the experiment file or with {flag})")
        elif err["type"] == "value_error":  # our own validators: the message says it all
            label = f"{path} ({KEY_FLAGS[path]})" if path in KEY_FLAGS else path
            messages.append(f"{label}: {err['msg'].removeprefix('Value error, ')}")
        else:
            label = f"{path} ({KEY_FLAGS[path]})" if path in KEY_FLAGS else path
            messages.append(f"{label}: {err['msg'].lower()} (got {err.get('input')!r})")
    return "; ".join(messages)


def validate(data: Mapping[str, Any]) -> ExperimentConfig:
    """Validate a merged mapping into an :class:`ExperimentConfig`."""
    try:
        return ExperimentConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc)) from None


def resolve_experiment(
    file: Path | Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
) -> tuple[ExperimentConfig, str | None]:
    """Merge all layers and validate. Returns the config and the preset applied (if any).

    ``file`` is an experiment file, or its contents as a mapping (the Python API).
    """
    if isinstance(file, Mapping):
        check_keys(file, "the experiment")
        user: dict[str, Any] = copy.deepcopy(dict(file))
    else:
        user = read_experiment_file(file) if file is not None else {}
    for item in sets:
        user = deep_merge(user, parse_set(item))
    user = deep_merge(user, flags or {})
    # Who set what: the dotted keys the user gave (file, --set, flags), recorded here once,
    # so that later choices (the multi-agent preset, the batch) never compare values.
    given = frozenset(dotted_keys(user))
    first = validate(user)
    preset_name, preset = load_preset(first.preset, first.algo, first.env)
    if not preset:
        return first.with_user_keys(given), preset_name
    merged = deep_merge(preset, user)
    merged["preset"] = preset_name
    return validate(merged).with_user_keys(given), preset_name

