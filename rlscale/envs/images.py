"""Image observations: which ``Box`` is an image, its layout, and what the RL module gets.

RLlib 2.60's default CNN encoder (``TorchCNN``) takes float32 images with the channels
last, ``(H, W, C)``: it permutes them to PyTorch's channels-first itself. A ``uint8`` image
breaks its first convolution ("Input type (unsigned char) and bias type (float)"), and a
channels-first stack such as Gymnasium's ``FrameStackObservation`` gives, ``(4, 84, 84)``,
is read as a 4x84 image with 84 channels. RLlib's default conv filters exist only for
96x96, 84x84, 64x64, 42x42 and 10x10 images (``ray.rllib.models.utils.get_filter_config``).

What rlscale does is decided here, once, from the observation space (pure Gymnasium and
NumPy: ``check-env``, ``--dry-run``, train, evaluate and export all read the same
:class:`ImagePlan`):

- a 3-D ``Box`` is an image; its channel axis is the first when that axis is strictly
  smaller than the other two (``(4, 84, 84)``), else the last (``(84, 84, 4)``,
  ``(13, 13, 5)``);
- a 2-D ``uint8`` ``Box`` (a grayscale frame, e.g. ``AtariPreprocessing``'s) is an image
  with one channel;
- the module gets ``(H, W, C)`` float32; ``uint8`` pixels are scaled to [0, 1];
- an image size RLlib has no default filters for gets rlscale's (:func:`conv_filters_for`)
  unless ``algo_config.model.conv_filters`` is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

CHANNELS_LAST = "HWC"
CHANNELS_FIRST = "CHW"
GRAYSCALE = "HW"
LAYOUT_NAMES = {
    CHANNELS_LAST: "channels last (H, W, C)",
    CHANNELS_FIRST: "channels first (C, H, W)",
    GRAYSCALE: "grayscale (H, W)",
}
# The (H, W) sizes of RLlib 2.60's default conv filters (get_filter_config).
RLLIB_DEFAULT_SIZES = ((96, 96), (84, 84), (64, 64), (42, 42), (10, 10))
PIXEL_MAX = 255.0


@dataclass(frozen=True)
class ImagePlan:
    """An image observation space and how the RL module receives it."""

    layout: str  # CHANNELS_LAST, CHANNELS_FIRST or GRAYSCALE
    shape: tuple[int, ...]  # the env's
    dtype: str  # the env's
    scale: float  # multiplies the pixels (1/255 for uint8)
    module_shape: tuple[int, int, int]  # (H, W, C), what the module takes
    # rlscale's conv filters when RLlib has no default for this size (else None)
    conv_filters: tuple[tuple[Any, ...], ...] | None

    @property
    def converts(self) -> bool:
        """True when the env's observations must change before the module takes them."""
        return self.layout != CHANNELS_LAST or self.dtype != "float32" or self.scale != 1.0

    def module_space(self, space: gym.spaces.Box) -> gym.spaces.Box:
        """The observation space the module sees for ``space`` (the env's)."""
        low = to_module(np.asarray(space.low), self)
        high = to_module(np.asarray(space.high), self)
        return gym.spaces.Box(low=low, high=high, dtype=np.float32)

    def describe(self, conv_filters_set: bool = False) -> str:
        """One line: the image, what rlscale does with it, and which CNN it gets."""
        shape = "x".join(str(d) for d in self.shape)
        parts = [f"image {shape} {self.dtype}, {LAYOUT_NAMES[self.layout]}"]
        steps = []
        if self.layout == CHANNELS_FIRST:
            steps.append("channels moved last")
        elif self.layout == GRAYSCALE:
            steps.append("a channel axis added")
        if self.scale != 1.0:
            steps.append("pixels scaled to [0, 1]")
        if self.dtype != "float32":
            steps.append("cast to float32")
        module = "x".join(str(d) for d in self.module_shape)
        if steps:
            parts.append(f"{', '.join(steps)} by rlscale's ImageObservations connector "
                         f"-> {module} float32")
        else:
            parts.append("given to the module as it is")
        height, width, _ = self.module_shape
        if conv_filters_set:
            parts.append("CNN: algo_config.model.conv_filters")
        elif self.conv_filters is None:
            parts.append(f"CNN: RLlib's default for {height}x{width}")
        else:
            parts.append(f"CNN: rlscale's conv filters {format_filters(self.conv_filters)} "
                         f"(RLlib has no default for {height}x{width})")
        return "; ".join(parts)


def format_filters(filters: Any) -> str:
    """``[[16, 4, 2], [32, 3, 1]]``-style text of conv filters (out, kernel, stride)."""
    out = []
    for spec in filters:
        kernel = spec[1][0] if isinstance(spec[1], list | tuple) else spec[1]
        out.append("[" + ", ".join(str(v) for v in (spec[0], kernel, *spec[2:])) + "]")
    return "[" + ", ".join(out) + "]"


def image_plan(space: gym.Space | None) -> ImagePlan | None:
    """The :class:`ImagePlan` of ``space``, ``None`` when it is not an image."""
    if not isinstance(space, gym.spaces.Box):
        return None
    shape = tuple(int(d) for d in space.shape)
    dtype = np.dtype(space.dtype)
    if len(shape) == 3:
        first_is_channel = shape[0] < min(shape[1], shape[2])
        layout = CHANNELS_FIRST if first_is_channel else CHANNELS_LAST
        if layout == CHANNELS_FIRST:
            module_shape = (shape[1], shape[2], shape[0])
        else:
            module_shape = (shape[0], shape[1], shape[2])
    elif len(shape) == 2 and dtype == np.uint8:
        layout = GRAYSCALE
        module_shape = (shape[0], shape[1], 1)
    else:
        return None
    scale = 1.0 / PIXEL_MAX if dtype == np.uint8 else 1.0
    height, width, _ = module_shape
    filters = None if (height, width) in RLLIB_DEFAULT_SIZES else conv_filters_for(height, width)
    return ImagePlan(layout, shape, dtype.name, scale, module_shape, filters)


def conv_filters_for(height: int, width: int) -> tuple[tuple[Any, ...], ...]:
    """Conv filters (RLlib's ``[out_channels, [k, k], stride]``, "same" padding) for an
    image RLlib has no default for: 4x4 stride-2 layers (16, 32, then 64 channels) until
    the smaller side is 8 or less, then one 3x3 stride-1 layer."""
    size = min(height, width)
    filters: list[tuple[Any, ...]] = []
    channels = 16
    while size > 8:
        filters.append((channels, (4, 4), 2))
        size = math.ceil(size / 2)
        channels = min(channels * 2, 64)
    filters.append((channels, (3, 3), 1))
    return tuple(filters)


def to_module(obs: np.ndarray, plan: ImagePlan) -> np.ndarray:
    """One observation, or a batch of them (leading axes), as the module takes it."""
    array = np.asarray(obs)
    if plan.layout == CHANNELS_FIRST:
        array = np.moveaxis(array, -3, -1)
    elif plan.layout == GRAYSCALE:
        array = array[..., np.newaxis]
    array = array.astype(np.float32, copy=False)
    if plan.scale != 1.0:
        array = array * np.float32(plan.scale)
    return np.ascontiguousarray(array)


def env_image_plan(env: Any) -> ImagePlan | None:
    """The image plan of a resolved env (``rlscale.envs.resolve.ResolvedEnv``): its
    observation space's, or for a multi-agent env the first agent's whose observations
    are images (the model settings are shared by every policy)."""
    if env.agents is None:
        return image_plan(env.observation_space)
    for agent in env.agents.agents:
        plan = image_plan(env.agents.observation_spaces[agent])
        if plan is not None:
            return plan
    return None
