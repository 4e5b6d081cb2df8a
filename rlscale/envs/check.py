"""Check an environment before compute is spent on it.

Gymnasium's own checker, then random-action episodes that watch every observation and
reward, a reset-determinism check, and (the slow part) re-creating the env in a fresh
process, as Ray's env runners will. ``rlscale train`` runs the fast part. A multi-agent
env's episodes are checked by ``rlscale.envs.multiagent_check``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs import multiagent
from rlscale.envs.compare import space_structure, structure_difference
from rlscale.envs.masks import DEFAULT_KEY, find_action_mask, sample_action
from rlscale.envs.report import (
    ERROR,
    WARNING,
    EnvReport,
    explain_observation,
    same_value,
)
from rlscale.envs.resolve import ResolvedEnv, resolve_env
from rlscale.envs.spaces import SUPPORTED_OBSERVATIONS, describe_space, unsupported_observation_part
from rlscale.errors import EnvSpecError
from rlscale.startup_times import mark

# Gymnasium checker warnings that are advice, not problems with the environment.
_IGNORED_WARNINGS = (
    "is different from the unwrapped version",
    "render_mode",
    "render method",
    "not in `np.float32`",
)


NO_TIME_LIMIT = (
    "the env has no time limit (no TimeLimit, no max_episode_steps): its episodes may never "
    "end. Training still learns from partial episodes; evaluation episodes are cut after "
    "evaluation.max_episode_steps (default 1000). If its episodes should end, add one: "
    "env_wrappers: [{gymnasium.wrappers:TimeLimit: {max_episode_steps: N}}] "
    "(docs/time-limits.md)"
)


def _run_gymnasium_checker(env: gym.Env, report: EnvReport) -> None:
    from gymnasium.utils.env_checker import check_env as gym_check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # The env as RLlib steps it, its wrappers included (a wrapper may be what makes
            # its spaces Gymnasium's, as an RLlib wrapper around a simulator does).
            gym_check_env(env, skip_render_check=True, skip_close_check=True)
        except Exception as exc:  # the checker's verdict
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "eterministic" in text:
                report.add(WARNING, f"Gymnasium's env checker: {text}")
            elif not report.has("observation", "reset()", "step()"):
                report.add(ERROR, f"Gymnasium's env checker: {text}")
    for item in caught:
        if issubclass(item.category, ResourceWarning):
            continue  # a file some other code left open, collected meanwhile: not the env's
        text = str(item.message).strip()
        if any(skip in text for skip in _IGNORED_WARNINGS):
            continue
        text = text.removeprefix("\x1b[33mWARN: ").removesuffix("\x1b[0m")
        text = text.removeprefix("WARN: ")
        if "not within the observation space" in text or "obs returned by the" in text:
            continue  # our rollout explains these precisely
        report.add(WARNING, f"Gymnasium's env checker: {text}")


def _reset(env: gym.Env, seed: int | None, report: EnvReport) -> Any:
    out = env.reset(seed=seed)
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
        report.add(
            ERROR,
            "reset() must return (observation, info) (Gymnasium API); it returned "
            f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, tuple) else "")
            + " (old Gym API?)",
        )
        return None
    return out[0]


def _step(env: gym.Env, action: Any, report: EnvReport) -> tuple[Any, Any, bool] | None:
    out = env.step(action)
    if not isinstance(out, tuple) or len(out) != 5:
        n = len(out) if isinstance(out, tuple) else type(out).__name__
        old = " (the old Gym 4-tuple API: return terminated and truncated separately)" if (
            n == 4) else ""
        report.add(ERROR, f"step() must return (obs, reward, terminated, truncated, info); "
                          f"it returned {n} values{old}")
        return None
    obs, reward, terminated, truncated, info = out
    if not isinstance(terminated, bool | np.bool_) or not isinstance(truncated, bool | np.bool_):
        report.add(ERROR, "step(): terminated and truncated must be booleans, got "
                          f"{type(terminated).__name__} and {type(truncated).__name__}")
    if not isinstance(info, dict):
        report.add(ERROR, f"step(): info must be a dict, got {type(info).__name__}")
    return obs, reward, bool(terminated) or bool(truncated)


def _check_observation(env: gym.Env, obs: Any, where: str, report: EnvReport) -> None:
    why = explain_observation(env.observation_space, obs)
    if why is not None:
        report.add(ERROR, f"{why[1]} (first {where})", key=why[0])


def _check_mask(obs: Any, where: str, report: EnvReport) -> None:
    """An action mask that leaves no legal action: nothing the policy may do."""
    mask = obs.get(DEFAULT_KEY) if isinstance(obs, dict) else None
    if mask is not None and not np.any(np.asarray(mask) > 0):
        report.add(ERROR, f"the observation's '{DEFAULT_KEY}' marks every action illegal "
                          f"(first {where})", key="mask-empty")


def _rollouts(env: gym.Env, episodes: int, seed: int, max_steps: int,
              report: EnvReport) -> None:
    env.action_space.seed(seed)
    step_time = 0.0
    steps = 0
    each: list[float] = []
    for episode in range(episodes):
        obs = _reset(env, seed + episode, report)
        if obs is None:
            _step(env, env.action_space.sample(), report)  # report its API too
            return
        _check_observation(env, obs, f"after reset, episode {episode + 1}", report)
        _check_mask(obs, f"after reset, episode {episode + 1}", report)
        length, ret, done = 0, 0.0, False
        while not done and length < max_steps:
            action = sample_action(env.action_space, obs)  # legal, if the env masks actions
            t0 = time.perf_counter()
            out = _step(env, action, report)
            spent = time.perf_counter() - t0
            step_time += spent
            each.append(spent)
            steps += 1
            if out is None:
                return
            obs, reward, done = out
            length += 1
            _check_observation(env, obs, f"at episode {episode + 1}, step {length}", report)
            if not done:
                _check_mask(obs, f"at episode {episode + 1}, step {length}", report)
            if not isinstance(reward, int | float | np.integer | np.floating) or isinstance(
                    reward, bool):
                report.add(ERROR, f"step(): the reward must be a number, got "
                                  f"{type(reward).__name__}")
                continue
            if not math.isfinite(float(reward)):
                report.add(ERROR, f"step(): the reward is {float(reward)} (first at episode "
                                  f"{episode + 1}, step {length})", key="reward-nan")
                continue
            ret += float(reward)
        if not done:
            report.capped_episodes += 1
        report.episode_lengths.append(length)
        report.episode_returns.append(ret)
    if steps:
        report.step_time_us = step_time / steps * 1e6
        report.step_time_median_us = float(np.median(each)) * 1e6


def _check_determinism(env: gym.Env, seed: int, report: EnvReport) -> None:
    try:
        first = env.reset(seed=seed)
        second = env.reset(seed=seed)
    except Exception:  # noqa: BLE001  (reset errors are reported by the rollouts)
        return
    if isinstance(first, tuple) and isinstance(second, tuple) and first and second:
        if not same_value(first[0], second[0]):
            report.add(
                WARNING,
                f"reset(seed={seed}) twice gave different observations: the environment is "
                "not deterministic under a seed (draw from self.np_random after "
                "super().reset(seed=seed))",
            )


def check_recreate(resolved: ResolvedEnv, timeout: float = 120.0) -> str | None:
    """Build the env in a fresh Python process, as Ray's env runners do.

    Returns ``None`` when it works, or why it does not.
    """
    cmd = [sys.executable, "-m", "rlscale.envs.probe", resolved.canonical_spec or resolved.spec,
           json.dumps(resolved.env_config)]
    for package in resolved.env_packages:
        cmd += ["--env-package", package]
    if resolved.env_wrappers:
        cmd += ["--wrappers", json.dumps([w.to_entry() for w in resolved.env_wrappers])]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return f"building it in a new process took more than {timeout:.0f} s"
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    if done.returncode != 0 or not lines:
        err = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
        return err[-1] if err else f"the process exited with code {done.returncode}"
    try:
        theirs = json.loads(lines[-1])
    except json.JSONDecodeError:
        return f"the new process printed {lines[-1][:80]!r}, not its spaces"
    if resolved.agents is not None:  # every agent's spaces, as the probe describes them
        mine = space_signature(resolved)
        if theirs != mine:
            return (f"in a new process its spaces are {theirs[0]} / {theirs[1]}, "
                    f"here {mine[0]} / {mine[1]}")
        return None
    # Compared by structure (type, shape, dtype, bounds, children), never by their text.
    for label, space, there in zip(("observation", "action"),
                                   (resolved.observation_space, resolved.action_space),
                                   theirs, strict=False):
        here = json.loads(json.dumps(space_structure(space)))
        why = structure_difference(here, there, label)
        if why is not None:
            return (f"in a new process its {label} space differs ({why}; here "
                    f"{describe_space(space)})")
    return None


def space_signature(resolved: ResolvedEnv) -> list[str]:
    """The env's spaces described, as the probe prints them: [observations, actions]."""
    if resolved.agents is not None:
        from rlscale.envs.multiagent_check import describe_agents

        return list(describe_agents(resolved.agents))
    return [describe_space(resolved.observation_space), describe_space(resolved.action_space)]


def _check_multiagent(resolved: ResolvedEnv, report: EnvReport, episodes: int, seed: int,
                      max_steps: int) -> None:
    from rlscale.envs import multiagent_check

    agents = resolved.agents
    assert agents is not None
    for agent in agents.agents:
        obs, act = agents.spaces_of(agent)
        report.agents[agent] = (describe_space(obs), describe_space(act))
        bad = unsupported_observation_part(obs)
        if bad is not None:
            report.add(ERROR, f"RLlib cannot train on agent {agent}'s observation space "
                              f"{bad}: {SUPPORTED_OBSERVATIONS}")
    if agents.kind == multiagent.AEC:  # its own bookkeeping first
        sound = False
        with _env_for_check(resolved, report) as env:
            sound = _check_aec(env, agents, episodes, seed, max_steps, report)
        if not sound:
            return  # RLlib's wrapper would only trip over the same problem
    with _env_for_check(resolved, report) as env:
        multiagent_check.rollouts(env, agents, episodes, seed, max_steps, report)
        multiagent_check.check_determinism(env, seed, report)


@contextlib.contextmanager
def _env_for_check(resolved: ResolvedEnv, report: EnvReport,
                   report_raised: bool = True) -> Iterator[Any]:
    """A fresh env for one part of the check, with Python's warnings silenced. What the
    env's own code raises meanwhile is an error of the report (``report_raised``), and a
    ``close()`` that raises is a warning."""
    env = resolved.make()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                yield env
            except Exception as exc:
                if not report_raised:
                    raise
                report.add(ERROR, f"the environment raised {type(exc).__name__}: {exc}")
    finally:
        try:
            env.close()
        except Exception as exc:  # noqa: BLE001
            report.add(WARNING, f"close() raised {type(exc).__name__}: {exc}")


def _check_aec(env: Any, agents: Any, episodes: int, seed: int, max_steps: int,
               report: EnvReport) -> bool:
    """The AEC env's agent-list bookkeeping; True when it found no problem."""
    from rlscale.envs.aec_check import aec_rollouts

    before = len(report.errors)
    aec_rollouts(multiagent.inner_env(env), agents, episodes, seed, max_steps, report)
    return len(report.errors) == before


def check_env(
    spec: str,
    env_config: dict[str, Any] | None = None,
    env_packages: Sequence[str] = (),
    *,
    episodes: int = 3,
    seed: int = 0,
    max_steps: int = 10_000,
    recreate: bool = True,
    resolved: ResolvedEnv | None = None,
) -> EnvReport:
    """Check ``spec``; raises :class:`EnvSpecError` when the spec itself is bad.

    ``recreate=False`` skips the slow part (building the env in a fresh process).
    """
    resolved = resolved or resolve_env(spec, env_config, env_packages)
    report = EnvReport(
        spec=spec,
        observation_space=describe_space(resolved.observation_space),
        action_space=describe_space(resolved.action_space),
    )
    _note_masks(resolved, report)
    if resolved.agents is not None:
        _check_multiagent(resolved, report, episodes, seed, max_steps)
        return _check_recreate(resolved, report) if recreate else report
    if resolved.observation_space is not None:
        bad = unsupported_observation_part(resolved.observation_space)
        if bad is not None:
            report.add(ERROR, f"RLlib cannot train on the observation space {bad}: "
                              f"{SUPPORTED_OBSERVATIONS}")
    if resolved.max_episode_steps is None:
        report.add(WARNING, NO_TIME_LIMIT, key="no-time-limit")
    with _env_for_check(resolved, report) as env:
        _rollouts(env, episodes, seed, max_steps, report)
        _check_determinism(env, seed, report)
    with _env_for_check(resolved, report, report_raised=False) as env:
        _run_gymnasium_checker(env, report)  # it reports the checker's verdict itself
    if recreate:
        _check_recreate(resolved, report)
    return report


def _note_masks(resolved: ResolvedEnv, report: EnvReport) -> None:
    """The action mask of the env (or of each agent), found from the spaces with the default
    key; a key that cannot be a mask of the actions is an error."""
    pairs: list[tuple[str, gym.Space | None, gym.Space | None]]
    if resolved.agents is not None:
        pairs = [(a, *resolved.agents.spaces_of(a)) for a in resolved.agents.agents]
    else:
        pairs = [("", resolved.observation_space, resolved.action_space)]
    for who, obs, act in pairs:
        try:
            mask = find_action_mask(obs, act)
        except EnvSpecError as exc:
            report.add(ERROR, f"{who + ': ' if who else ''}{exc}")
            continue
        if mask is not None:
            report.action_masks[who] = mask.describe()


def _check_recreate(resolved: ResolvedEnv, report: EnvReport) -> EnvReport:
    why = check_recreate(resolved)
    if why is not None:
        report.add(ERROR, f"cannot be re-created in another process (as Ray's env runners "
                          f"do): {why}")
    return report


class EnvCheckFailed(EnvSpecError):
    """The environment failed the check ``rlscale train`` runs before Ray starts."""

    def __init__(self, message: str, report: EnvReport) -> None:
        super().__init__(message)
        self.report = report


def require_env_ok(resolved: ResolvedEnv) -> EnvReport:
    """The fast part of the check (one random episode, no new process), before training.

    Raises :class:`EnvCheckFailed` with every error on one line when the env is broken.
    """
    mark("env resolved (built once for its spaces)")
    report = check_env(resolved.spec, resolved=resolved, episodes=1, seed=0, max_steps=1000,
                       recreate=False)
    mark("env checked")
    if report.errors:
        listed = "; ".join(str(p).removeprefix("error: ") for p in report.errors)
        raise EnvCheckFailed(
            f"environment '{resolved.spec}' failed its check ({len(report.errors)} problem(s)): "
            f"{listed} [details: rlscale check-env; skip with --no-check-env]",
            report,
        )
    return report
