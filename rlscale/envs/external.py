"""External simulators: an env whose steps are taken by simulator processes over TCP.

The env spec ``external`` (with its settings in ``env_config``, see
:class:`rlscale.envs.external_settings.ExternalSettings`)
is an ordinary Gymnasium env to RLlib: each env runner builds a vector env
(:class:`ExternalVectorEnv`) whose sub-environments are *slots*, one per simulator
connection. ``step(actions)`` sends each slot's action to its simulator and then waits for
all of them at once (one ``selectors`` loop), so simulators step in parallel while RLlib's
own EnvRunner does everything else: inference, episodes, connectors, metrics, checkpoints.
The wire format is :mod:`rlscale.external` (the client side, stdlib only); the server side
is :mod:`rlscale.envs.simulator_pool` (the slots' connections) and
:mod:`rlscale.envs.simulator_connection` (one connection, the checks of its messages).

RLlib 2.60's own external-env runner (``EnvRunnerServerForExternalInference``, the RLlink
protocol) serves one client per env runner, speaks msgpack and expects the client to run the
policy itself (torch on the simulator side): it does not fit a C or Fortran simulator.

Faults cost one slot's episode, never the run: a simulator that disconnects, does not answer
within ``step_timeout_s`` or sends garbage (bad bytes or JSON, a wrong shape, NaN) ends its
episode as truncated with :data:`rlscale.envs.env_faults.FAULT_INFO` in its info, is counted as
an env restart (:mod:`rlscale.algos.faults`), and its connection is closed; the slot waits
for the next connection (a restarted simulator reconnects). A slot with no simulator blocks
sampling until one connects.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs.external_settings import SPEC, parse_settings
from rlscale.envs.simulator_pool import SimulatorPool

__all__ = ["SPEC", "ExternalEnv", "ExternalVectorEnv", "on_environment_created"]


def _fault_info(line: str) -> dict[str, Any]:
    from rlscale.envs.env_faults import FAULT_INFO

    return {FAULT_INFO: line}


class ExternalEnv(gym.Env):  # type: ignore[type-arg]
    """One slot: a Gymnasium env whose episodes a connected simulator plays
    (``evaluate``, ``check-env``). Listens only once reset."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, worker_index: int = 0, **config: Any) -> None:
        self.settings = parse_settings(config)
        self.observation_space = self.settings.space("observation_space")
        self.action_space = self.settings.space("action_space")
        self.worker_index = worker_index
        self._pool: SimulatorPool | None = None
        self._last_obs: Any = None

    @property
    def pool(self) -> SimulatorPool:
        """The connections (made on first use)."""
        if self._pool is None:
            self._pool = SimulatorPool(self.settings, 1, self.worker_index)
        return self._pool

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        outcome = self.pool.exchange({0: None})[0]
        self._last_obs = outcome.obs
        return outcome.obs, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        outcome = self.pool.exchange({0: action})[0]
        if outcome.fault is not None:
            return self._last_obs, 0.0, False, True, _fault_info(outcome.fault)
        self._last_obs = outcome.obs
        return outcome.obs, outcome.reward, outcome.terminated, outcome.truncated, {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class ExternalVectorEnv(gym.vector.VectorEnv):  # type: ignore[type-arg]
    """An env runner's slots stepped together (Gymnasium's next-step autoreset: the step
    after an episode ends returns the simulator's next ``reset``, its action unused)."""

    metadata: dict[str, Any] = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, worker_index: int = 0, **config: Any) -> None:
        self.settings = parse_settings(config)
        self.num_envs = num_envs
        self.single_observation_space = self.settings.space("observation_space")
        self.single_action_space = self.settings.space("action_space")
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.worker_index = worker_index
        self._pool: SimulatorPool | None = None
        self._ended = [False] * num_envs
        self._last_obs: list[Any] = [None] * num_envs

    @property
    def pool(self) -> SimulatorPool:
        """The connections (made on first use: an env runner that never samples never
        listens)."""
        if self._pool is None:
            self._pool = SimulatorPool(self.settings, self.num_envs, self.worker_index)
        return self._pool

    def reset(self, *, seed: int | list[int] | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        answers = self.pool.exchange(dict.fromkeys(range(self.num_envs)))
        self._ended = [False] * self.num_envs
        self._last_obs = [answers[i].obs for i in range(self.num_envs)]
        return self._batch(self._last_obs), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        want = {i: (None if self._ended[i] else actions[i]) for i in range(self.num_envs)}
        answers = self.pool.exchange(want)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        faults: list[tuple[int, str]] = []
        for i in range(self.num_envs):
            answer = answers[i]
            if self._ended[i]:  # the next episode's first observation
                self._ended[i] = False
                self._last_obs[i] = answer.obs
                continue
            if answer.fault is not None:
                truncated[i] = True
                faults.append((i, answer.fault))
            else:
                self._last_obs[i] = answer.obs
                rewards[i], terminated[i], truncated[i] = (answer.reward, answer.terminated,
                                                           answer.truncated)
            self._ended[i] = bool(terminated[i] or truncated[i])
        infos: dict[str, Any] = {}
        for i, line in faults:
            infos = self._add_info(infos, _fault_info(line), i)
        return self._batch(self._last_obs), rewards, terminated, truncated, infos

    def _batch(self, observations: list[Any]) -> Any:
        return np.stack([np.asarray(o) for o in observations])

    def close_extras(self, **kwargs: Any) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def on_environment_created(*, env_runner: Any = None, env: Any = None, **_: Any) -> None:
    """RLlib's ``on_environment_created``: the env runner's index picks its port (RLlib
    builds a vector env from a plain dict, without the runner's ``EnvContext``)."""
    index = int(getattr(env_runner, "worker_index", 0) or 0)
    for candidate in (env, getattr(env, "unwrapped", None)):
        if isinstance(candidate, ExternalVectorEnv | ExternalEnv):
            candidate.worker_index = index


if SPEC not in gym.registry:
    gym.register(SPEC, entry_point=f"{__name__}:ExternalEnv",
                 vector_entry_point=f"{__name__}:ExternalVectorEnv",
                 disable_env_checker=True)
