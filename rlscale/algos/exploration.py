"""The initial exploration noise of a Gaussian policy (``exploration: {log_std_init: X}``).

RLlib's default PPO module starts its actions' log standard deviation at 0: a standard
deviation of 1 on actions scaled to [-1, 1], so that at first a MuJoCo robot mostly pays
the control cost of noise. SB3 and the RL Zoo start it lower (``log_std_init: -2`` in the
Zoo's MuJoCo entries). RLlib has no setting for the start value, so rlscale makes the
log-std a parameter of its own (RLlib's ``free_log_std``) and sets it when the algorithm
is built, in every learner, then sends the weights to the env runners. A resumed run then
restores its learned value from the checkpoint, which comes after this hook.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from rlscale.algos.hooks import add_hook
from rlscale.algos.spaces import has_box
from rlscale.errors import ConfigError

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rlscale.algos.registry import AlgoInfo
    from rlscale.envs.resolve import ResolvedEnv

# The algorithms whose default module has RLlib's free_log_std (PPO's catalog and its heirs).
FREE_LOG_STD_ALGOS = ("PPO", "APPO", "IMPALA")
PARAMETER = "log_std"


def initial_log_std_model(
    value: float | None, info: AlgoInfo, env: ResolvedEnv, model: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The model config for ``exploration.log_std_init``: ``model`` with free_log_std on.

    Raises :class:`ConfigError` for an algorithm or an action space it does not apply to,
    and for ``algo_config.model.free_log_std: false`` beside it."""
    if value is None:
        return model
    if info.name not in FREE_LOG_STD_ALGOS:
        raise ConfigError(
            f"exploration.log_std_init is for {', '.join(FREE_LOG_STD_ALGOS)} "
            f"(a Gaussian policy with its own log-std), not {info.name}"
        )
    spaces = (
        list(env.agents.action_spaces.values()) if env.agents is not None
        else [env.action_space]
    )
    if not any(space is not None and has_box(space) for space in spaces):
        raise ConfigError(
            "exploration.log_std_init needs continuous (Box) actions; "
            f"'{env.spec}' has {', '.join(sorted({str(space) for space in spaces}))}"
        )
    model = dict(model or {})
    if model.get("free_log_std") is False:
        raise ConfigError(
            "exploration.log_std_init needs the log-std as a parameter of its own: "
            "remove algo_config.model.free_log_std: false"
        )
    model["free_log_std"] = True
    return model


def apply_initial_log_std(config: AlgorithmConfig, value: float | None) -> None:
    """Add the ``on_algorithm_init`` hook that sets the log-std to ``value``."""
    if value is not None:
        add_hook(config, "on_algorithm_init", functools.partial(set_initial_log_std, value))


def _fill_log_std(value: float, learner: Any) -> int:
    """Set every free log-std parameter of ``learner``'s modules; how many there were."""
    import torch

    count = 0
    with torch.no_grad():
        for module_id in learner.module.keys():
            for name, parameter in learner.module[module_id].named_parameters():
                if name.split(".")[-1] == PARAMETER:
                    parameter.fill_(value)
                    count += 1
    return count


def _set_module_state(state: dict[str, Any], env_runner: Any) -> None:
    env_runner.set_state(state)


def set_initial_log_std(value: float, algorithm: Any, **kwargs: Any) -> None:
    """RLlib ``on_algorithm_init`` hook: the log-std of every learner's modules to
    ``value``, then the modules to every (evaluation) env runner, waiting until each has
    them. (RLlib's ``sync_weights`` sends them without waiting, and may not send them to a
    runner that still has a request in flight: the first batch could be sampled with the
    old noise.)"""
    from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE

    results = algorithm.learner_group.foreach_learner(
        functools.partial(_fill_log_std, value)
    )
    if not any(result.get() for result in results):
        raise ConfigError(
            "exploration.log_std_init: the policy has no log-std parameter to set"
        )
    state = algorithm.learner_group.get_state(
        components=f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}", inference_only=True,
    )[COMPONENT_LEARNER]
    for group in (algorithm.env_runner_group, algorithm.eval_env_runner_group):
        if group is not None:
            group.foreach_env_runner(functools.partial(_set_module_state, state),
                                     local_env_runner=True)
