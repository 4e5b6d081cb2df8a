"""Find a run's checkpoint and restore its policy (the RLlib RLModule alone, no Ray)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlscale.envs.images import image_plan, to_module
from rlscale.envs.masks import find_action_mask
from rlscale.errors import EnvSpecError, RunDirError
from rlscale.evaluate.checkpoints import CheckpointRef, _is_module_dir

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

def load_module(module_dir: Path) -> Any:
    """Restore the RLModule stored at ``module_dir`` (no Algorithm, no Ray cluster)."""
    from rlscale.runners.session import quiet_ray_environment

    quiet_ray_environment()
    logging.getLogger("ray.rllib").setLevel(logging.ERROR)
    from ray.rllib.core.rl_module.rl_module import RLModule

    try:
        module: Any = RLModule.from_checkpoint(str(module_dir))
    except Exception as exc:  # a corrupt or foreign checkpoint
        raise RunDirError(f"cannot restore the policy from {module_dir}: {exc}") from None
    module.eval()
    return module


# Where an Algorithm checkpoint keeps the env runner's MeanStdFilter (normalize.obs).
_FILTER_STATE = Path("env_runner/env_to_module_connector/MeanStdFilter/state.pkl")


@dataclass(frozen=True)
class ObservationFilter:
    """The running observation statistics a run normalized with (RLlib's MeanStdFilter):
    ``clip((obs - mean) / (std + epsilon), -clip, clip)``."""

    mean: np.ndarray
    std: np.ndarray
    clip: float | None
    epsilon: float

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        out = (np.asarray(obs, dtype=np.float64) - self.mean) / (self.std + self.epsilon)
        if self.clip:
            out = np.clip(out, -self.clip, self.clip)
        return out.astype(np.float32)


def load_observation_filter(checkpoint: Path) -> ObservationFilter | None:
    """The observation filter saved in ``checkpoint``; None when the run had none."""
    import pickle

    from rlscale.algos.normalize import EPSILON

    path = checkpoint / _FILTER_STATE
    if not path.is_file():
        return None
    from ray.rllib.utils.filter import RunningStat

    try:
        with path.open("rb") as f:
            state = pickle.load(f)
        (agent,) = state.values()  # single-agent: one filter, under the key None
        (stats,) = [RunningStat.from_state(s) for s in agent["running_stats"]]
    except Exception as exc:  # a corrupt or foreign file
        raise RunDirError(f"cannot read the observation filter {path}: {exc}") from None
    mean = np.asarray(stats.mean, dtype=np.float64) if agent["de_mean_to_zero"] else 0.0
    std = np.asarray(stats.std, dtype=np.float64) if agent["de_std_to_one"] else 1.0
    return ObservationFilter(np.asarray(mean), np.asarray(std), agent["clip_by_value"], EPSILON)


def _action_settings(algo_config: dict[str, Any]) -> tuple[bool, bool]:
    """``normalize_actions`` and ``clip_actions`` as RLlib applied them while training."""
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    defaults = AlgorithmConfig()
    return (
        bool(algo_config.get("normalize_actions", defaults.normalize_actions)),
        bool(algo_config.get("clip_actions", defaults.clip_actions)),
    )


class Policy:
    """A restored RLModule that maps environment observations to environment actions.

    Observations go to the module as RLlib's default env-to-module pipeline gives them
    (unchanged), or flattened when the module was trained on flattened observations
    (e.g. one-hot ``Discrete``). Actions come back as RLlib's module-to-env pipeline would
    send them: greedy (distribution mode) unless ``explore``, unsquashed/clipped for
    ``Box`` actions per the run's ``normalize_actions``/``clip_actions``.
    """

    def __init__(
        self,
        module: Any,
        env_observation_space: gym.Space,
        env_action_space: gym.Space,
        normalize_actions: bool = True,
        clip_actions: bool = False,
        obs_filter: ObservationFilter | None = None,
    ) -> None:
        self.module = module
        self.obs_filter = obs_filter
        self.observation_space = env_observation_space
        self.action_space = env_action_space
        self.normalize_actions = normalize_actions
        self.clip_actions = clip_actions
        # Images go to the module as rlscale's ImageObservations connector gave them
        # in training (rlscale.envs.images): channels last, float32, uint8 scaled.
        plan = image_plan(env_observation_space)
        self.image = plan if plan is not None and plan.converts else None
        self._flatten = self.image is None and self._needs_flatten(
            module.observation_space, env_observation_space)
        # The action mask a masked module (rlscale.algos.masking) takes out of observations.
        self.mask = find_action_mask(env_observation_space, env_action_space,
                                     getattr(module, "_mask_key", None))

    @staticmethod
    def _needs_flatten(module_space: gym.Space, env_space: gym.Space) -> bool:
        if getattr(module_space, "shape", None) == getattr(env_space, "shape", None) and type(
            module_space
        ) is type(env_space):
            # Same shape but integers where the module takes floats (a uint8 vector): RLlib
            # flattened it, which casts it to float32.
            return getattr(module_space, "dtype", None) != getattr(env_space, "dtype", None)
        flat = gym.spaces.flatdim(env_space)
        if isinstance(module_space, gym.spaces.Box) and module_space.shape == (flat,):
            return True
        raise EnvSpecError(
            f"the policy expects observations {module_space} but the environment gives "
            f"{env_space}; was the env config changed since training?"
        )

    def observations(self, obs: Any) -> Any:
        """A batch of raw env observations (list or stacked array) as module input:
        :meth:`inputs`, normalized by the run's observation filter if it had one."""
        array = self.inputs(obs)
        if self.image is not None:
            array = to_module(array, self.image)
        return array if self.obs_filter is None else self.obs_filter(array)

    def inputs(self, obs: Any) -> Any:
        """A batch of raw env observations, flattened or cast as the module takes them
        (what an exported policy file takes: it normalizes them, and converts images,
        itself); a ``Dict`` the module takes as it is (an action mask in it) as a dict of
        stacked arrays."""
        items = list(obs) if not isinstance(obs, np.ndarray) else obs
        if self.image is not None:  # the env's own layout and dtype
            return np.asarray(items, dtype=self.observation_space.dtype)
        if isinstance(self.observation_space, gym.spaces.Dict) and not self._flatten:
            return {key: _as_module_array([o[key] for o in items])
                    for key in self.observation_space.spaces}
        if self._flatten:
            rows = [gym.spaces.flatten(self.observation_space, o) for o in items]
            return np.asarray(rows, dtype=np.float32)
        return _as_module_array(items)

    def export_inputs(self, obs: Any) -> tuple[np.ndarray, ...]:
        """A batch of raw env observations as an exported file takes them: ``(obs,)``, or
        ``(obs, action_mask)`` for a masked policy (the rest of the ``Dict`` flattened as
        ``gymnasium.spaces.flatten`` does, and the mask, both float32)."""
        if self.mask is None:
            return (np.asarray(self.inputs(obs)),)
        rest = self.mask.observation_space
        flat = [gym.spaces.flatten(rest, {k: o[k] for k in rest.spaces}) for o in obs]
        masks = [np.asarray(o[self.mask.key]).reshape(-1) for o in obs]
        return (np.asarray(flat, dtype=np.float32), np.asarray(masks, dtype=np.float32))

    @property
    def stateful(self) -> bool:
        """True for a recurrent policy (``use_lstm``): its actions depend on a state carried
        from step to step of an episode."""
        return bool(self.module.is_stateful())

    def initial_state(self, batch: int = 1) -> Any:
        """The recurrent state at the start of an episode for ``batch`` envs (RLlib's: zeros),
        a dict of tensors; ``None`` for a policy without memory."""
        if not self.stateful:
            return None
        import torch
        import tree

        return tree.map_structure(
            lambda x: torch.as_tensor(x).unsqueeze(0).repeat(batch, *([1] * np.ndim(x))),
            self.module.get_initial_state())

    def action_dist_inputs(self, obs: Any) -> torch.Tensor:
        """The module's inference output for a batch of raw env observations (a recurrent
        policy: each at the start of an episode)."""
        import torch
        from ray.rllib.core import Columns

        with torch.no_grad():
            out, _ = self._forward(obs, False, self.initial_state(len(obs)))
        return out[Columns.ACTION_DIST_INPUTS]

    def _forward(self, obs: Any, explore: bool, state: Any) -> tuple[dict[str, Any], Any]:
        """The module's forward pass on a batch of raw env observations; with a recurrent
        ``state``, one time step (RLlib's [batch, time] layout) and the next state."""
        import tree
        from ray.rllib.core import Columns

        inputs = _as_tensors(self.observations(obs))
        batch: dict[str, Any] = {Columns.OBS: inputs}
        if state is not None:
            batch[Columns.OBS] = tree.map_structure(lambda t: t.unsqueeze(1), inputs)
            batch[Columns.STATE_IN] = state
        # The module is in eval mode since it was restored: call the forward passes that
        # forward_inference/forward_exploration wrap, without switching modes every step.
        out = (self.module._forward_exploration(batch) if explore
               else self.module._forward_inference(batch))
        if state is None:
            return out, None
        squeezed = {k: out[k][:, 0] for k in (Columns.ACTION_DIST_INPUTS, Columns.ACTIONS)
                    if k in out}
        return {**out, **squeezed}, out[Columns.STATE_OUT]

    def act(self, obs: Any, explore: bool = False) -> np.ndarray:
        """Env actions for a batch of raw observations (a recurrent policy: each at the
        start of an episode; :meth:`act_with_state` carries its memory)."""
        return self.act_with_state(obs, self.initial_state(len(obs)), explore)[0]

    def act_with_state(self, obs: Any, state: Any,
                       explore: bool = False) -> tuple[np.ndarray, Any]:
        """Env actions for a batch of raw observations and the policy's next state:
        ``state`` is :meth:`initial_state` at an episode's start, then what the previous
        call returned (``None`` throughout for a policy without memory)."""
        import torch
        from ray.rllib.core import Columns
        from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action

        with torch.no_grad():
            out, state = self._forward(obs, explore, state)
            if Columns.ACTIONS in out:  # modules that pick actions themselves (e.g. DQN)
                actions = out[Columns.ACTIONS]
            else:
                dist_cls = (self.module.get_exploration_action_dist_cls() if explore
                            else self.module.get_inference_action_dist_cls())
                dist = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
                if not explore:
                    dist = dist.to_deterministic()
                actions = dist.sample()
        actions = actions.cpu().numpy()
        if isinstance(self.action_space, gym.spaces.Box):
            if self.normalize_actions:
                actions = np.stack([unsquash_action(a, self.action_space) for a in actions])
            elif self.clip_actions:
                actions = np.stack([clip_action(a, self.action_space) for a in actions])
            actions = actions.astype(self.action_space.dtype, copy=False)
        return actions, state


def _as_module_array(items: Any) -> np.ndarray:
    array = np.asarray(items)
    # As RLlib's NumpyToTensor connector: floats reach the module as float32.
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32, copy=False)
    return array


def _as_tensors(value: Any) -> Any:
    """An array, or a dict of them, as torch tensors."""
    import torch

    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    return torch.as_tensor(value)


def load_policy(ref: CheckpointRef, env: gym.Env) -> Policy:
    """Restore the policy of ``ref`` for acting in ``env``."""
    if not _is_module_dir(ref.module_dir):
        raise RunDirError(f"{ref.checkpoint} holds several policies (a multi-agent run)")
    config = ref.run_config()
    algo_config = config.get("algo_config") or {}
    if not isinstance(algo_config, dict):
        algo_config = {}
    module = load_module(ref.module_dir)
    normalize, clip = _action_settings(algo_config)
    # normalize.obs: the statistics saved with the checkpoint (RLlib's restored module alone
    # would act on raw observations).
    obs_filter = load_observation_filter(ref.checkpoint)
    if obs_filter is None and (config.get("normalize") or {}).get("obs"):
        raise RunDirError(
            f"{ref.checkpoint} holds no observation filter, but the run normalized "
            "observations (normalize.obs): evaluate a checkpoint of the run, not a module"
        )
    return Policy(module, env.observation_space, env.action_space, normalize, clip, obs_filter)
