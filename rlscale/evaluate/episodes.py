"""Running episodes with a restored policy, in this process, and their statistics."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs import resolve_env
from rlscale.errors import EnvSpecError

FrameHook = Callable[[np.ndarray], None]
EpisodeHook = Callable[[int, float, int], None]

RGB_ARRAY = "rgb_array"


@dataclass
class EvalResult:
    """Returns and lengths of evaluated episodes, and how they were obtained."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def stats(self) -> dict[str, float]:
        """Mean, std, min, max return and mean length."""
        r = np.asarray(self.returns, dtype=float)
        n = np.asarray(self.lengths, dtype=float)
        return {
            "return_mean": float(r.mean()),
            "return_std": float(r.std()),
            "return_min": float(r.min()),
            "return_max": float(r.max()),
            "length_mean": float(n.mean()),
        }


def make_eval_env(
    spec: str,
    env_config: dict[str, Any] | None = None,
    env_packages: list[str] | tuple[str, ...] = (),
    render: bool = False,
) -> gym.Env:
    """One environment instance as the run trained on it; ``render`` asks for RGB frames."""
    config = dict(env_config or {})
    if render:
        config["render_mode"] = RGB_ARRAY
        # Off-screen rendering: no window, no sound device (pygame-based envs).
        for key, value in (("SDL_VIDEODRIVER", "dummy"), ("SDL_AUDIODRIVER", "dummy"),
                           ("PYGAME_HIDE_SUPPORT_PROMPT", "1")):
            os.environ.setdefault(key, value)
    try:
        with warnings.catch_warnings():
            # Gymnasium warns when render_mode is not one the env declares; we check below
            # and say so in one line instead.
            if render:
                warnings.simplefilter("ignore", UserWarning)
            resolved = resolve_env(spec, config, env_packages)
            env = resolved.make()
    except EnvSpecError as exc:
        if render and gym.registry.get(spec) is not None:
            modes = _render_modes(spec)
            if RGB_ARRAY not in modes:
                raise _cannot_render(spec, modes) from None
        if str(exc).startswith(("unknown environment", "--env-package")):
            raise EnvSpecError(f"{exc} (the run's env spec no longer resolves)") from None
        raise
    if render and getattr(env, "render_mode", None) != RGB_ARRAY:
        env.close()
        raise _cannot_render(spec, _render_modes(spec))
    return env


def _render_modes(spec: str) -> list[str]:
    entry = gym.registry.get(spec)
    if entry is None:
        return []
    if not isinstance(entry.entry_point, str):
        return list(getattr(entry.entry_point, "metadata", {}).get("render_modes", []))
    try:
        env_cls = gym.envs.registration.load_env_creator(entry.entry_point)
    except Exception:  # noqa: BLE001 - only used to improve a message
        return []
    return list(getattr(env_cls, "metadata", {}).get("render_modes", []))


def _cannot_render(spec: str, modes: list[str]) -> EnvSpecError:
    have = ", ".join(modes) if modes else "none"
    return EnvSpecError(
        f"environment '{spec}' cannot render {RGB_ARRAY} frames (its render modes: {have}); "
        "--video needs an environment with rgb_array rendering"
    )


def run_episodes(
    policy: Any,
    env: gym.Env,
    episodes: int,
    seed: int | None = 0,
    explore: bool = False,
    on_frame: FrameHook | None = None,
    on_episode: EpisodeHook | None = None,
) -> EvalResult:
    """Run ``episodes`` full episodes, acting with ``policy.act``.

    Episode ``i`` resets with seed ``seed + i`` (reproducible; ``None``: unseeded).
    ``on_frame`` receives ``env.render()`` once per action taken, so a recording has
    exactly one frame per step of each episode.
    """
    if seed is not None:
        import torch

        torch.manual_seed(seed)
        env.action_space.seed(seed)
    result = EvalResult()
    start = time.monotonic()
    for i in range(episodes):
        obs, _ = env.reset(seed=None if seed is None else seed + i)
        total, length, done = 0.0, 0, False
        while not done:
            if on_frame is not None:
                on_frame(np.asarray(env.render()))
            action = policy.act([obs], explore=explore)[0]
            if isinstance(env.action_space, gym.spaces.Discrete):
                action = int(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            length += 1
            done = bool(terminated or truncated)
        result.returns.append(total)
        result.lengths.append(length)
        if on_episode is not None:
            on_episode(i, total, length)
    result.seconds = time.monotonic() - start
    return result
