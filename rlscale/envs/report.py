"""What an env check found: its problems, their severity, and why an observation is not in its
space. Shared by the single-agent, multi-agent and AEC checks (``rlscale.envs.check``,
``multiagent_check``, ``aec_check``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs.spaces import describe_space

ERROR = "error"
WARNING = "warning"


@dataclass
class Problem:
    """One thing wrong with the environment."""

    severity: str
    message: str
    count: int = 1
    key: str = ""

    def __str__(self) -> str:
        times = f" ({self.count} times)" if self.count > 1 else ""
        return f"{self.severity}: {self.message}{times}"


@dataclass
class EnvReport:
    """What ``check-env`` found: spaces, episodes, step time and problems."""

    spec: str
    observation_space: str
    action_space: str
    episode_lengths: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    capped_episodes: int = 0
    step_time_us: float | None = None
    # The median step: what the resource plan uses (a loaded machine's preemptions inflate
    # the mean of a short random episode).
    step_time_median_us: float | None = None
    problems: list[Problem] = field(default_factory=list)
    # Multi-agent envs: agent -> (observation space, action space), and per-agent figures.
    agents: dict[str, tuple[str, str]] = field(default_factory=dict)
    agent_returns: dict[str, list[float]] = field(default_factory=dict)
    agent_lengths: dict[str, list[int]] = field(default_factory=dict)
    # The action mask found from the spaces: agent ("" for a single-agent env) -> what it is.
    action_masks: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the environment unusable for training."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems worth knowing about that do not stop training."""
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when no errors were found (warnings allowed)."""
        return not self.errors

    def add(self, severity: str, message: str, key: str | None = None) -> None:
        """Record a problem; a repeat of the same kind (``key``) only counts up."""
        key = key or message
        for problem in self.problems:
            if problem.key == key and problem.severity == severity:
                problem.count += 1
                return
        self.problems.append(Problem(severity, message, key=key))

    def has(self, *fragments: str) -> bool:
        """True when an error already mentions one of ``fragments``."""
        return any(f in p.message for p in self.errors for f in fragments)


def _finite(value: Any) -> bool:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return True  # not numeric: the space check reports it
    return bool(np.all(np.isfinite(arr)))


def _leaves(space: gym.Space, value: Any, path: str = "") -> list[tuple[str, gym.Space, Any]]:
    """Pairs of (path, leaf space, leaf value) inside Dict/Tuple observations."""
    if isinstance(space, gym.spaces.Dict) and isinstance(value, dict):
        out = []
        for key, sub in space.spaces.items():
            out += _leaves(sub, value.get(key), f"{path}[{key!r}]")
        return out
    if isinstance(space, gym.spaces.Tuple) and isinstance(value, tuple | list):
        out = []
        for i, sub in enumerate(space.spaces):
            out += _leaves(sub, value[i] if i < len(value) else None, f"{path}[{i}]")
        return out
    return [(path, space, value)]


def explain_observation(space: gym.Space, obs: Any) -> tuple[str, str] | None:
    """Why ``obs`` is not in ``space``: (kind, explanation), ``None`` when it is."""
    if not _finite_struct(space, obs):
        return "nan", "NaN or inf in the observation"
    if space.contains(obs):
        return None
    why = _explain(space, obs)
    return why.split(":")[0], why


def _explain(space: gym.Space, obs: Any) -> str:
    if isinstance(space, gym.spaces.Dict) and not isinstance(obs, dict):
        return f"observation is a {type(obs).__name__}, the space is a Dict"
    if isinstance(space, gym.spaces.Dict) and set(obs) != set(space.spaces):
        return f"observation keys {sorted(obs)} differ from the space's {sorted(space.spaces)}"
    for path, leaf, value in _leaves(space, obs):
        where = f"observation{path}"
        if isinstance(leaf, gym.spaces.Box):
            if not isinstance(value, np.ndarray):
                return (f"{where} is a {type(value).__name__}, not a numpy array "
                        f"(expected {describe_space(leaf)})")
            if value.shape != leaf.shape:
                return f"{where} has shape {value.shape}, the space says {leaf.shape}"
            if leaf.dtype is not None and not np.can_cast(value.dtype, leaf.dtype):
                return f"{where} has dtype {value.dtype}, the space says {leaf.dtype}"
            below = value < leaf.low
            above = value > leaf.high
            if below.any() or above.any():
                idx = int(np.flatnonzero(below | above)[0])
                v = float(value.flat[idx])
                bound = float(leaf.low.flat[idx]) if below.flat[idx] else float(leaf.high.flat[idx])
                side = "below low" if below.flat[idx] else "above high"
                sign = "<" if below.flat[idx] else ">"
                return (f"{where} outside its declared {describe_space(leaf)}: element {idx} "
                        f"is {v:.4g} {sign} {side.split()[-1]} {bound:.4g}")
        elif not leaf.contains(value):
            return f"{where} = {value!r} is not in {leaf}"
    return f"observation {obs!r} is not in {space}"


def _finite_struct(space: gym.Space, obs: Any) -> bool:
    return all(_finite(v) for _, _, v in _leaves(space, obs))


def same_value(a: Any, b: Any) -> bool:
    """Gymnasium's equality of two observations (any structure); False when it cannot tell."""
    try:
        from gymnasium.utils.env_checker import data_equivalence

        return bool(data_equivalence(a, b))
    except Exception:  # noqa: BLE001
        return False
