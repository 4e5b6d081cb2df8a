"""Exporting a restored policy to a standalone file: ONNX or TorchScript, no Ray needed.

The exported network takes a batch of observations (``obs``: float32, shape
``[batch, *obs_shape]``, flattened first when the module was trained on flattened
observations), raw: a run that normalized observations (``normalize.obs``) has its
filter's saved means and standard deviations inside the graph, and an image policy takes
the env's own images (e.g. ``uint8`` channels first) and converts them inside the graph
as training did (rlscale.envs.images). It returns:

* ``Discrete(n)`` actions: ``logits`` ``[batch, n]``; the greedy action is their argmax.
* ``Box`` actions: ``action`` ``[batch, *action_shape]``: the distribution's mean, already
  mapped into the action bounds exactly as RLlib does when it acts (``normalize_actions``
  / ``clip_actions`` of the run).

A policy trained with an action mask (``rlscale.algos.masking``) takes two inputs: ``obs``,
the observation without its mask flattened as ``gymnasium.spaces.flatten`` does, and
``action_mask`` ``[batch, n]`` (1 legal, 0 illegal); the logits of illegal actions come out
at the lowest float, so their argmax is always a legal action.

A recurrent policy (``use_lstm``) takes its state as well, ``state_in_<leaf>`` (RLlib's LSTM
state: ``actor_h``, ``actor_c``, and the critic's, ``[batch, layers, cell]``, zeros at an
episode's start), and returns the next one, ``state_out_<leaf>``, after its first output:
feed each back at the next step (``examples/onnx_lstm_policy.py``).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs.images import CHANNELS_FIRST, GRAYSCALE
from rlscale.envs.spaces import describe_space
from rlscale.errors import ConfigError, MissingExtraError
from rlscale.evaluate.restore import Policy
from rlscale.results.files import publish_file

ONNX, TORCHSCRIPT = "onnx", "torchscript"
FORMATS = (ONNX, TORCHSCRIPT)
SUFFIXES = {ONNX: (".onnx",), TORCHSCRIPT: (".pt", ".pth", ".ts")}
OPSET = 17
# A masked policy's second input: 1 for a legal action, 0 for an illegal one.
MASK_INPUT = "action_mask"
# A recurrent policy's state: inputs and outputs named by these and the state's leaf.
STATE_IN, STATE_OUT = "state_in_", "state_out_"


@dataclass(frozen=True)
class ExportInfo:
    """What was exported: file, format, input and output names and shapes."""

    path: Path
    format: str
    input_name: str
    input_shape: tuple[int, ...]
    output_name: str
    output_shape: tuple[int, ...]
    observation_space: str
    action_space: str
    input_dtype: str = "float32"  # an image policy's: the env's (e.g. uint8)
    # Inputs after ``obs`` (a masked policy's ``action_mask``, a recurrent policy's
    # ``state_in_*``) and outputs after the first (``state_out_*``): name and shape.
    extra_inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()
    extra_outputs: tuple[tuple[str, tuple[int, ...]], ...] = ()


def _output_name(action_space: gym.Space) -> str:
    if isinstance(action_space, gym.spaces.Discrete):
        return "logits"
    if isinstance(action_space, gym.spaces.Box):
        return "action"
    raise ConfigError(
        f"export supports Discrete and Box action spaces, not {action_space}"
    )


def state_names(policy: Policy) -> list[str]:
    """A recurrent policy's state leaves, as they follow ``state_in_``/``state_out_`` in the
    exported file's names (``actor_h``, ``actor_c``, ``critic_h``, ...), in tree order."""
    if not policy.stateful:
        return []
    import tree

    return ["_".join(str(p) for p in path)
            for path, _ in tree.flatten_with_path(policy.module.get_initial_state())]


def _constants(policy: Policy) -> dict[str, np.ndarray]:
    """The exported network's constant tensors: the run's observation filter (``obs_mean``,
    ``obs_denom``) and a ``Box`` action space's bounds (``low``, ``high``; infinite where
    the space is unbounded)."""
    out: dict[str, np.ndarray] = {}
    obs_filter = policy.obs_filter
    if obs_filter is not None:
        denom = np.asarray(obs_filter.std) + obs_filter.epsilon
        out["obs_denom"] = denom
        out["obs_mean"] = np.array(np.broadcast_to(obs_filter.mean, denom.shape))
    space = policy.action_space
    if isinstance(space, gym.spaces.Box):
        out["low"] = np.where(np.isfinite(space.low), space.low, -np.inf).astype(np.float32)
        out["high"] = np.where(np.isfinite(space.high), space.high, np.inf).astype(np.float32)
    return out


def _image_to_module(obs: Any, layout: str, scale: float) -> Any:
    """A batch of the env's images as rlscale's ImageObservations connector gave them to the
    module in training (rlscale.envs.images): channels last, float32, scaled."""
    if layout == CHANNELS_FIRST:
        obs = obs.permute(0, 2, 3, 1)  # [batch, C, H, W] -> [batch, H, W, C]
    elif layout == GRAYSCALE:
        obs = obs.unsqueeze(-1)
    obs = obs.float()
    return obs * scale if scale != 1.0 else obs


def _network(policy: Policy) -> Any:
    """A plain ``torch.nn.Module``: observations -> logits (Discrete) or action (Box)."""
    import torch
    import tree
    from ray.rllib.core import Columns

    space = policy.action_space
    module = policy.module
    masked = policy.mask is not None
    stateful = policy.stateful
    state_structure = module.get_initial_state() if stateful else None

    class PolicyNetwork(torch.nn.Module):
        low: torch.Tensor
        high: torch.Tensor
        obs_mean: torch.Tensor
        obs_denom: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.module = module
            self.normalize = policy.obs_filter is not None
            self.obs_clip = float(policy.obs_filter.clip or 0.0) if policy.obs_filter else 0.0
            for name, value in _constants(policy).items():
                self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32))
            # An image policy takes the env's own images and converts them as rlscale's
            # ImageObservations connector did in training (rlscale.envs.images).
            image = policy.image
            self.image_layout = image.layout if image is not None else ""
            self.image_scale = image.scale if image is not None else 1.0
            self.discrete = isinstance(space, gym.spaces.Discrete)
            self.unsquash = False
            if isinstance(space, gym.spaces.Box):
                bounded = bool(np.all(space.bounded_below) and np.all(space.bounded_above))
                self.unsquash = policy.normalize_actions and bounded
                self.clip = policy.clip_actions or self.unsquash
                self.n = int(np.prod(space.shape))
                self.shape = tuple(space.shape)

        def forward(self, obs: torch.Tensor, *rest: torch.Tensor) -> Any:
            # rest: the action mask of a masked policy, then a recurrent policy's state
            # (its leaves in tree order).
            mask = rest[0] if masked else None
            states = rest[1:] if masked else rest
            if self.image_layout:
                obs = _image_to_module(obs, self.image_layout, self.image_scale)
            if self.normalize:  # the run's MeanStdFilter, as RLlib applied it
                obs = (obs - self.obs_mean) / self.obs_denom
                if self.obs_clip:
                    obs = torch.clamp(obs, -self.obs_clip, self.obs_clip)
            batch: dict[str, Any] = {Columns.OBS: obs}
            if stateful:  # one time step of RLlib's [batch, time] layout
                batch[Columns.OBS] = obs.unsqueeze(1)
                batch[Columns.STATE_IN] = tree.unflatten_as(state_structure, list(states))
            if masked:  # illegal logits at the lowest float
                out = self.module.masked_forward(batch, mask)
            else:
                out = self.module._forward_inference(batch)
            inputs = out[Columns.ACTION_DIST_INPUTS]
            if stateful:
                inputs = inputs[:, 0]
            result = inputs if self.discrete else self._action(inputs)
            if stateful:
                return (result, *tree.flatten(out[Columns.STATE_OUT]))
            return result

        def _action(self, inputs: torch.Tensor) -> torch.Tensor:
            mean = inputs[..., : self.n].reshape((-1, *self.shape))
            if self.unsquash:
                mean = self.low + (mean + 1.0) * (self.high - self.low) / 2.0
            if self.clip:
                mean = torch.maximum(torch.minimum(mean, self.high), self.low)
            return mean

    net = PolicyNetwork()
    net.eval()
    return net


def export_policy(policy: Policy, path: Path, fmt: str) -> ExportInfo:
    """Write ``policy`` to ``path`` as ``fmt`` (atomically); returns what was written."""
    import torch
    import tree

    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    out_name = _output_name(policy.action_space)
    samples = policy.export_inputs([policy.observation_space.sample() for _ in range(2)])
    states = state_names(policy)
    initial = policy.initial_state(2)
    dummies = tuple(torch.as_tensor(s) for s in samples) + tuple(
        tree.flatten(initial) if initial is not None else ())
    net = _network(policy)
    with torch.no_grad():
        expected = net(*dummies)
    if states:
        expected = expected[0]
    meta = {
        "observation_space": describe_space(policy.observation_space),
        "action_space": describe_space(policy.action_space),
        "output": out_name,
    }
    names = ["obs"]
    if policy.mask is not None:
        names.append(MASK_INPUT)
        meta["action_mask"] = (f"input {MASK_INPUT}: the observation's '{policy.mask.key}' "
                               "(1 legal, 0 illegal); obs: the rest, flattened")
    names += [f"{STATE_IN}{name}" for name in states]
    outputs = [out_name, *(f"{STATE_OUT}{name}" for name in states)]
    if states:
        meta["state"] = (f"recurrent: feed each {STATE_OUT}* back as {STATE_IN}* at the next "
                         "step; zeros at an episode's start")
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt == ONNX:
            _export_onnx(net, dummies, names, tmp, outputs, meta)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(net, dummies)
            torch.jit.save(traced, str(tmp), _extra_files={"rlscale.json": json.dumps(meta)})
        publish_file(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportInfo(
        path=path, format=fmt, input_name="obs", input_shape=tuple(dummies[0].shape[1:]),
        output_name=out_name, output_shape=tuple(expected.shape[1:]),
        observation_space=meta["observation_space"], action_space=meta["action_space"],
        input_dtype=str(samples[0].dtype),
        extra_inputs=tuple((name, tuple(d.shape[1:])) for name, d in
                           zip(names[1:], dummies[1:], strict=True)),
        extra_outputs=tuple((name, tuple(d.shape[1:])) for name, d in
                            zip(outputs[1:], dummies[len(dummies) - len(states):],
                                strict=True)),
    )


def _export_onnx(net: Any, dummies: tuple[Any, ...], names: list[str], path: Path,
                 outputs: list[str], meta: dict[str, str]) -> None:
    import torch

    try:
        import onnx
    except ImportError:
        raise MissingExtraError("--format onnx", "export") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: self-contained, no onnxscript needed.
        torch.onnx.export(
            net, dummies, str(path), dynamo=False, input_names=names,
            output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in (*names, *outputs)},
            opset_version=OPSET,
        )
    model = onnx.load(str(path))
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = f"rlscale.{key}", value
    onnx.save(model, str(path))
