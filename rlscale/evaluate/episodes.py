"""Running episodes with a restored policy, in this process, and their statistics."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs import multiagent
from rlscale.envs.resolve import make_env
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
        return episode_stats(self.returns, self.lengths)


def episode_stats(returns: Sequence[float], lengths: Sequence[int]) -> dict[str, float]:
    """Mean, std, min and max of episode ``returns``, and the mean of their ``lengths``."""
    r = np.asarray(returns, dtype=float)
    return {
        "return_mean": float(r.mean()),
        "return_std": float(r.std()),
        "return_min": float(r.min()),
        "return_max": float(r.max()),
        "length_mean": float(np.mean(np.asarray(lengths, dtype=float))),
    }


def make_eval_env(
    spec: str,
    env_config: dict[str, Any] | None = None,
    env_packages: list[str] | tuple[str, ...] = (),
    render: bool = False,
    wrappers: Sequence[Any] = (),
) -> gym.Env:
    """One environment instance as the run trained on it (``wrappers``: its
    ``env_wrappers``); ``render`` asks for RGB frames."""
    config = dict(env_config or {})
    if not render:
        return _make(spec, config, env_packages, wrappers)
    # Off-screen rendering: no window, no sound device (pygame-based envs). SDL's
    # "offscreen" video driver, not "dummy": some envs (highway-env) draw nothing at all
    # when they see the dummy driver, and the video would be black.
    for key, value in (("SDL_VIDEODRIVER", "offscreen"), ("SDL_AUDIODRIVER", "dummy"),
                       ("PYGAME_HIDE_SUPPORT_PROMPT", "1")):
        os.environ.setdefault(key, value)
    try:
        with warnings.catch_warnings():
            # Gymnasium warns when render_mode is not one the env declares; we check below
            # and say so in one line instead.
            warnings.simplefilter("ignore", UserWarning)
            env = make_env(spec, {**config, "render_mode": RGB_ARRAY}, env_packages, wrappers)
    except EnvSpecError:
        # Fails with the env's own error, if any.
        plain = _make(spec, config, env_packages, wrappers)
        modes = _env_render_modes(plain)
        plain.close()
        raise _cannot_render(spec, modes) from None
    if _render_mode(env) != RGB_ARRAY:
        modes = _env_render_modes(env)
        env.close()
        raise _cannot_render(spec, modes)
    return env


def _make(spec: str, config: dict[str, Any], env_packages: Any,
          wrappers: Sequence[Any] = ()) -> gym.Env:
    try:
        return make_env(spec, config, env_packages, wrappers)
    except EnvSpecError as exc:
        text = str(exc)
        if "failed to build" in text or "env_config" in text:
            raise
        raise EnvSpecError(f"{text} (the run's env spec no longer resolves)") from None


def _render_mode(env: gym.Env) -> str | None:
    if multiagent.object_kind(env) is not None:
        return multiagent.render_mode(env)
    return getattr(env, "render_mode", None)


def _env_render_modes(env: gym.Env) -> list[str]:
    if multiagent.object_kind(env) is not None:
        return multiagent.render_modes(env)
    return list(getattr(env.unwrapped, "metadata", {}).get("render_modes", []))


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
    """Run ``episodes`` full episodes, acting with ``policy.act_with_state`` (a recurrent
    policy's state carried from step to step, and reset at each episode's start).

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
    with one_torch_thread():
        _play(policy, env, episodes, seed, explore, on_frame, on_episode, result)
    result.seconds = time.monotonic() - start
    return result


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """One PyTorch thread while a policy acts on one observation at a time: more only
    fight over the cores with each other and with other processes (a recurrent policy's
    steps slow down most)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _play(policy: Any, env: gym.Env, episodes: int, seed: int | None, explore: bool,
          on_frame: FrameHook | None, on_episode: EpisodeHook | None,
          result: EvalResult) -> None:
    for i in range(episodes):
        obs, _ = env.reset(seed=None if seed is None else seed + i)
        total, length, done = 0.0, 0, False
        state = policy.initial_state()  # a recurrent policy's memory: reset each episode
        while not done:
            if on_frame is not None:
                on_frame(np.asarray(env.render()))
            actions, state = policy.act_with_state([obs], state, explore=explore)
            action = actions[0]
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
