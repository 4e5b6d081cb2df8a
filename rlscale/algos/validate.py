"""Values of ``algo_config`` that RLlib would accept and then train nonsense with (or fail on
deep inside a Ray process): checked in the driver, before Ray starts, each error naming
its key.

Three layers: every number given must be a number (no NaN; infinity only where a limit
may be switched off), the settings with a meaningful range must lie in it, and the model
settings must have the types of RLlib's ``DefaultModelConfig`` fields. Last, once RLlib's
config is built, the RL module itself is built on CPU from its spec, which catches what
only the module's constructor knows (an unknown activation, a layer of zero units).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rlscale.envs.images import image_plan
from rlscale.errors import ConfigError

if TYPE_CHECKING:
    import gymnasium as gym
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig


@dataclass(frozen=True)
class Range:
    """Where a setting's value must lie; ``schedule``: a ``[[timestep, value], ...]`` list
    is allowed too, each value in the range."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself excluded
    integer: bool = False
    schedule: bool = False
    allow_inf: bool = False  # +inf switches the limit off (e.g. vf_clip_param)
    allow_none: bool = False
    allow_auto: bool = False  # the string "auto": RLlib's choice

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"<= {self.high:g}")
        return f"{kind} {' and '.join(parts)}".strip()

    def accepts(self, value: float) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if math.isnan(value) or (math.isinf(value) and not (self.allow_inf and value > 0)):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or value <= self.high


_POSITIVE = Range(low=0, low_open=True)
_NON_NEGATIVE = Range(low=0)
_FRACTION = Range(low=0, high=1)
_COUNT = Range(low=1, integer=True)
# Steps in one batch: far above any real batch, low enough that RLlib's own checks (which
# count up to the batch size in fragment-sized steps) end in well under a second.
MAX_BATCH = 10**8
_BATCH = Range(low=1, high=MAX_BATCH, integer=True)

# Settings of RLlib 2.60's online algorithms with a range (a key an algorithm lacks is
# refused earlier as unknown).
RANGES: dict[str, Range] = {
    "lr": dataclasses.replace(_POSITIVE, schedule=True),
    "actor_lr": _POSITIVE,
    "critic_lr": _POSITIVE,
    "alpha_lr": _POSITIVE,
    "gamma": _FRACTION,
    "lambda_": _FRACTION,
    "tau": _FRACTION,
    "train_batch_size_per_learner": _BATCH,
    "train_batch_size": _BATCH,
    "minibatch_size": _BATCH,
    "rollout_fragment_length": dataclasses.replace(_BATCH, allow_auto=True),
    "num_epochs": _COUNT,
    "num_steps_sampled_before_learning_starts": Range(low=0, integer=True),
    "target_network_update_freq": Range(low=0, integer=True),
    "clip_param": _POSITIVE,
    "vf_clip_param": dataclasses.replace(_POSITIVE, allow_inf=True),
    "grad_clip": dataclasses.replace(_POSITIVE, allow_inf=True, allow_none=True),
    "entropy_coeff": dataclasses.replace(_NON_NEGATIVE, schedule=True),
    "epsilon": dataclasses.replace(_FRACTION, schedule=True),
    "vf_loss_coeff": _NON_NEGATIVE,
    "kl_coeff": _NON_NEGATIVE,
    "kl_target": _NON_NEGATIVE,
    "initial_alpha": _POSITIVE,
    "num_atoms": _COUNT,
    "vtrace_clip_rho_threshold": _POSITIVE,
    "vtrace_clip_pg_rho_threshold": _POSITIVE,
}

# Settings that take one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {
    "grad_clip_by": ("value", "norm", "global_norm"),
}

# Lists of layer sizes in the model settings: each a whole number >= 1.
_LAYER_LISTS = ("fcnet_hiddens", "head_fcnet_hiddens", "fusionnet_hiddens")


def _schedule_error(key: str, value: list[Any], rule: Range) -> str | None:
    for point in value:
        if (not isinstance(point, list | tuple) or len(point) != 2
                or not Range(low=0, integer=True).accepts(point[0])
                or not dataclasses.replace(rule, schedule=False).accepts(point[1])):
            return (f"algo_config.{key}: a schedule is [[timestep, value], ...] with whole "
                    f"timesteps >= 0 and values {rule.describe()}, got {value!r}")
    return None


def _nan_path(value: Any, path: str) -> str | None:
    """The dotted path of the first NaN inside ``value``, or None."""
    if isinstance(value, float) and math.isnan(value):
        return path
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nan_path(v, f"{path}.{k}")
            if found:
                return found
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _nan_path(v, f"{path}[{i}]")
            if found:
                return found
    return None


def check_values(overrides: dict[str, Any]) -> None:
    """Refuse NaN anywhere and out-of-range values of known settings, naming the key."""
    for key, value in overrides.items():
        where = _nan_path(value, f"algo_config.{key}")
        if where is not None:
            raise ConfigError(f"{where}: NaN is not a value (got {value!r})")
        choices = CHOICES.get(key)
        if choices is not None and value not in choices:
            raise ConfigError(
                f"algo_config.{key}: expected one of {', '.join(choices)}, got {value!r}"
            )
        rule = RANGES.get(key)
        if rule is None:
            continue
        if (value is None and rule.allow_none) or (value == "auto" and rule.allow_auto):
            continue
        if rule.schedule and isinstance(value, list):
            error = _schedule_error(key, value, rule)
            if error:
                raise ConfigError(error)
            continue
        if not rule.accepts(value):
            raise ConfigError(f"algo_config.{key}: expected {rule.describe()}, got {value!r}")


@functools.cache
def _model_field_checkers() -> dict[str, Callable[[Any], Any]]:
    from pydantic import TypeAdapter
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    out: dict[str, Callable[[Any], Any]] = {}
    for f in dataclasses.fields(DefaultModelConfig):
        adapter: TypeAdapter[Any] = TypeAdapter(f.type)  # type: ignore[arg-type]
        # Lax mode: YAML lists stand for RLlib's tuples (conv_filters); "8" for 8 passes
        # here and is refused by the module build.
        out[f.name] = adapter.validate_python
    # RLlib's CNN also takes a padding after the stride, [out, kernel, stride, "valid"]
    # (CNNEncoderConfig), which DefaultModelConfig's hint leaves out.
    size = int | tuple[int, int]
    filters: Any = list[tuple[int, size, size] | tuple[int, size, size, Literal["same", "valid"]]]
    out["conv_filters"] = TypeAdapter(filters | None).validate_python
    return out


def check_model_values(model: dict[str, Any]) -> None:
    """Each model setting has the type of its ``DefaultModelConfig`` field, and layer sizes
    are whole numbers >= 1."""
    from pydantic import ValidationError

    checkers = _model_field_checkers()
    for key, value in model.items():
        where = f"algo_config.model.{key}"
        checker = checkers.get(key)
        if checker is None:  # unknown keys are refused (with a suggestion) before this
            continue
        try:
            checker(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = "".join(f"[{p}]" if isinstance(p, int) else "" for p in err["loc"])
            raise ConfigError(
                f"{where}{loc}: {err['msg'].lower()} (got {err.get('input', value)!r})"
            ) from None
        if key in _LAYER_LISTS and any(not isinstance(v, int) or v < 1 for v in value):
            raise ConfigError(f"{where}: layer sizes must be whole numbers >= 1, got {value!r}")


def _module_spaces(
    observation_space: gym.Space, action_space: gym.Space, connector: Any
) -> tuple[gym.Space, gym.Space] | None:
    """The spaces the RL module sees: the env's, or those after the observation connector
    (None when they cannot be worked out here)."""
    if connector is None:
        return observation_space, action_space
    try:
        piece = connector()
        piece.input_action_space = action_space
        piece.input_observation_space = observation_space  # recomputes its output space
        out = piece.observation_space
    except Exception:  # noqa: BLE001  (then the module is checked on the env runners)
        return None
    return out, action_space


# Above this many weights (about 200 MB of float32) the module is not built here: RLlib
# builds it anyway where it trains, and this check must stay cheap.
MAX_CHECKED_PARAMETERS = 50_000_000


def _parameter_estimate(model: dict[str, Any] | None, observation_space: gym.Space) -> int:
    """Rough number of weights of the MLP layers a model setting asks for."""
    import numpy as np

    model = model or {}
    shape = getattr(observation_space, "shape", None) or (1,)
    width = int(np.prod(shape)) if all(isinstance(d, int) for d in shape) else 1
    total = 0
    for key in _LAYER_LISTS:
        layers = model.get(key)
        if isinstance(layers, list) and all(isinstance(v, int) for v in layers):
            sizes = [width, *layers]
            total += sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    cell = model.get("lstm_cell_size")
    if model.get("use_lstm") and isinstance(cell, int):
        total += 8 * cell * cell
    return total


def check_module(
    config: AlgorithmConfig, algo: str, observation_space: gym.Space | None,
    action_space: gym.Space | None, connector: Any = None,
    model: dict[str, Any] | None = None,
) -> None:
    """Build the RL module from the config's spec, on CPU, in this process.

    An error the module's constructor raises (a bad model setting) becomes a one-line
    :class:`ConfigError` naming ``algo_config.model``.
    """
    if observation_space is None or action_space is None:
        return
    spaces = _module_spaces(observation_space, action_space, connector)
    if spaces is None or _parameter_estimate(model, spaces[0]) > MAX_CHECKED_PARAMETERS:
        return
    from ray.rllib.core import DEFAULT_MODULE_ID

    try:
        if config.is_multi_agent:  # one policy's module, from the algorithm's default
            spec = config.get_default_rl_module_spec()
            spec.observation_space, spec.action_space = spaces
            spec.model_config = config.model_config
        else:
            spec = config.get_rl_module_spec(spaces={DEFAULT_MODULE_ID: spaces})
        module = spec.build()
        if image_plan(spaces[0]) is not None:
            # A CNN builds whatever its filters; one that shrinks the image below a kernel
            # fails only on its first observation (in an env runner): run one here.
            _forward_one(module, spaces[0])
    except Exception as exc:  # noqa: BLE001  (RLlib's and PyTorch's errors, any type)
        text = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
        given = f" {model!r}" if model else ""
        raise ConfigError(
            f"algo_config.model{given}: {algo}'s RL module cannot be built ({detail})"
        ) from None


def _forward_one(module: Any, observation_space: gym.Space) -> None:
    """One inference pass of ``module`` on a sample observation (as the module takes it)."""
    import numpy as np
    import torch
    from ray.rllib.core import Columns

    obs = torch.as_tensor(np.asarray(observation_space.sample())[np.newaxis])
    with torch.no_grad():
        module.forward_inference({Columns.OBS: obs})
