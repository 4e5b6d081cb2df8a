"""rlscale's wrapper of a PettingZoo AEC env as an RLlib ``MultiAgentEnv``.

RLlib's ``PettingZooEnv`` plays the AEC env turn by turn as PettingZoo intends, but sets
``__all__`` to "every agent seen in this step terminated" and "every one was truncated": when
the last agents leave some by termination and some by truncation, PettingZoo's agent list is
empty (the episode is over) and neither flag is set, so RLlib steps an env without agents.
This wrapper keeps RLlib's stepping and ends the episode by PettingZoo's rule (its agent list
is empty); it renders with the PettingZoo env's own ``render()`` (RLlib's passes it an
argument that PettingZoo's ``render()`` no longer takes).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.env.wrappers.pettingzoo_env import PettingZooEnv

ALL = "__all__"


class AecPettingZoo(PettingZooEnv):  # type: ignore[misc]
    """A PettingZoo AEC env stepped by RLlib's multi-agent env runners."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.render_mode = getattr(env, "render_mode", None)

    def step(self, action: dict[Any, Any]) -> Any:
        obs, rewards, terminated, truncated, infos = super().step(action)
        if not self.env.agents and not (terminated[ALL] or truncated[ALL]):
            every_terminated = all(v for k, v in terminated.items() if k != ALL)
            terminated[ALL] = every_terminated
            truncated[ALL] = not every_terminated
        return obs, rewards, terminated, truncated, infos

    def render(self) -> Any:
        return self.env.render()
