"""The user's env code: packages that register Gymnasium ids (``--env-package``), modules
and files named by a spec, and calling a class or factory with ``env_config``.

Every failure is one :class:`rlscale.errors.EnvSpecError` line naming the spec as the user
wrote it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from rlscale.errors import EnvSpecError

CONFIG_PARAMETERS = ("config", "env_config", "cfg")


def import_env_packages(packages: Sequence[str]) -> None:
    """Import packages that register Gymnasium ids (``--env-package``)."""
    for name in packages:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise EnvSpecError(f"--env-package {name}: cannot import it ({exc})") from None
        except Exception as exc:  # the package's own import code failed
            raise EnvSpecError(
                f"--env-package {name}: importing it failed: {type(exc).__name__}: {exc}"
            ) from None


# Files loaded in this process, by absolute path and modification time.
_FILE_MODULES: dict[tuple[str, float], ModuleType] = {}


def load_file(path: str, spec: str) -> ModuleType:
    """The module of the file at ``path`` (loaded once per modification time)."""
    file = Path(path)
    if not file.is_file():
        raise EnvSpecError(f"environment '{spec}': file not found: {path}")
    key = (path, file.stat().st_mtime)
    if key in _FILE_MODULES:
        return _FILE_MODULES[key]
    digest = hashlib.sha1(path.encode()).hexdigest()[:8]
    mod_name = f"rlscale_envfile_{file.stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    if module_spec is None or module_spec.loader is None:
        raise EnvSpecError(f"environment '{spec}': cannot load {path} as Python")
    module = importlib.util.module_from_spec(module_spec)
    # Registered so that classes from the file can be pickled by reference, and the
    # file's folder is importable so it may import its neighbours.
    sys.modules[mod_name] = module
    if str(file.parent) not in sys.path:
        sys.path.append(str(file.parent))
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[mod_name]
        raise EnvSpecError(
            f"environment '{spec}': importing {file.name} failed: {type(exc).__name__}: {exc}"
        ) from None
    _FILE_MODULES[key] = module
    return module


def import_module(name: str, spec: str) -> ModuleType:
    """The module ``name``, imported; a failure is one line naming ``spec``."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or name
        raise EnvSpecError(
            f"environment '{spec}': module '{missing}' not found"
            + (f" (while importing '{name}')" if missing != name else "")
        ) from None
    except Exception as exc:
        raise EnvSpecError(
            f"environment '{spec}': importing module '{name}' failed: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def public_names(module: ModuleType) -> list[str]:
    """The callables ``module`` offers (for a "did you mean")."""
    return [n for n, v in vars(module).items()
            if not n.startswith("_") and callable(v) and not isinstance(v, ModuleType)]


def call_with_config(factory: Callable[..., Any], config: Mapping[str, Any],
                      spec: str) -> Any:
    """Call a class or factory with ``env_config``.

    No parameters: called with none. A first parameter named ``config`` (or
    ``env_config``, ``cfg``), or a single parameter, that is not an ``env_config`` key:
    gets the whole mapping (in env runners, RLlib's ``EnvContext``, a dict that also knows
    ``worker_index``). Otherwise the ``env_config`` keys are passed as keyword arguments.
    """
    try:
        params = [
            p for p in inspect.signature(factory).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL,)
        ]
    except (TypeError, ValueError):  # no signature (builtins, some C types)
        return factory(config)
    named = [p for p in params if p.kind is not p.VAR_KEYWORD]
    if not params:
        if config:
            raise EnvSpecError(
                f"environment '{spec}' takes no arguments, but env_config has "
                f"{', '.join(sorted(config))}"
            )
        return factory()
    first = named[0] if named else None
    positional = first is not None and first.kind in (first.POSITIONAL_ONLY,
                                                      first.POSITIONAL_OR_KEYWORD)
    if positional and first is not None and first.name not in config and (
        first.name in CONFIG_PARAMETERS or len(params) == 1
    ):
        return factory(config)
    try:
        inspect.signature(factory).bind(**config)
    except TypeError as exc:
        raise EnvSpecError(f"environment '{spec}': env_config does not fit: {exc}") from None
    return factory(**config)
