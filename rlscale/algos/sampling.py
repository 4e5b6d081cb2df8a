"""Whether the env runners wait for the learner: the run's sampling mode.

``sampling: sync`` (PPO, DQN, SAC, TQC): each iteration the env runners sample a batch, then
stand idle while the learner updates on it. ``sampling: async``: the env runners sample the
next batch while the learner updates on the last one, one batch off-policy, corrected by
V-trace. That is RLlib's APPO: a PPO experiment with ``sampling: async`` trains APPO with
the PPO settings carried over (:func:`async_algo_config`); APPO and IMPALA are always
asynchronous. Off-policy algorithms (DQN, SAC, TQC) sample and learn in turn; RLlib has no
asynchronous loop for them.

Each choice carries a :class:`SamplingReason` and its facts; :func:`describe` renders them
to text, in this one place (``--dry-run`` prints it; tests assert the code).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rlscale.algos.registry import ALGORITHMS, AlgoInfo
from rlscale.errors import ConfigError


class SamplingMode(str, enum.Enum):
    """``sampling`` in an experiment."""

    SYNC = "sync"
    ASYNC = "async"


class SamplingReason(enum.Enum):
    """Why the run samples the way it does."""

    DEFAULT_SYNC = "default_sync"  # not set: the algorithm's own loop, synchronous
    SET_SYNC = "set_sync"  # sampling: sync
    ALGO_ASYNC = "algo_async"  # APPO/IMPALA: asynchronous by design
    PPO_AS_APPO = "ppo_as_appo"  # sampling: async with PPO: RLlib's APPO


# The PPO algorithm whose settings an asynchronous run carries over to APPO.
ASYNC_FOR = {"PPO": "APPO"}
# How many sampled batches the asynchronous learner holds: the one it learns on and the
# next, so that a batch is at most one update old (APPO's circular buffer, N = 2, K = 1:
# each batch is learned once, num_epochs passes as PPO's).
ASYNC_BUFFER_BATCHES = 2


@dataclass(frozen=True)
class SamplingChoice:
    """The sampling mode of a run, the RLlib algorithm that implements it, and why."""

    mode: SamplingMode
    algo: AlgoInfo  # what RLlib trains (APPO for PPO with sampling: async)
    reason: SamplingReason
    facts: Mapping[str, Any] = field(default_factory=dict)


def choose_sampling(algo: AlgoInfo, requested: str | None) -> SamplingChoice:
    """The sampling mode for ``algo`` and the experiment's ``sampling`` (None: not set).
    Pure function; refuses a mode the algorithm has no RLlib loop for."""
    mode = None if requested is None else SamplingMode(requested)
    if not algo.synchronous:
        if mode is SamplingMode.SYNC:
            raise ConfigError(
                f"sampling: sync, but {algo.name} is asynchronous by design (its runners "
                "never wait for the learner); use PPO for synchronous sampling"
            )
        return SamplingChoice(SamplingMode.ASYNC, algo, SamplingReason.ALGO_ASYNC,
                              {"algo": algo.name})
    if mode is SamplingMode.ASYNC:
        target = ASYNC_FOR.get(algo.name)
        if target is None:
            raise ConfigError(
                f"sampling: async is for on-policy algorithms (PPO, as RLlib's APPO; APPO, "
                f"IMPALA); RLlib's {algo.name} samples and learns in turn"
            )
        return SamplingChoice(SamplingMode.ASYNC, ALGORITHMS[target],
                              SamplingReason.PPO_AS_APPO, {"algo": algo.name, "as": target})
    reason = SamplingReason.SET_SYNC if mode is SamplingMode.SYNC else \
        SamplingReason.DEFAULT_SYNC
    return SamplingChoice(SamplingMode.SYNC, algo, reason, {"algo": algo.name})


def describe(choice: SamplingChoice) -> str:
    """One line for ``--dry-run``: the mode and why."""
    facts = choice.facts
    head = f"{choice.mode.value}: "
    if choice.reason is SamplingReason.ALGO_ASYNC:
        return head + (f"{facts['algo']} is asynchronous: the env runners sample the next "
                       "batch while the learner updates on the last one")
    if choice.reason is SamplingReason.PPO_AS_APPO:
        return head + (f"sampling: async trains {facts['algo']} as RLlib's {facts['as']}: the "
                       "env runners sample the next batch while the learner updates on the "
                       "last one (one batch off-policy, corrected by V-trace); "
                       f"{facts['algo']}'s settings carried over"
                       + (f", {', '.join(facts['dropped'])} dropped ({facts['as']} has none)"
                          if facts.get("dropped") else ""))
    why = ("as set (sampling: sync)" if choice.reason is SamplingReason.SET_SYNC
           else "the default (sampling: async opts in to sampling while the learner updates)")
    return head + (f"{facts['algo']}'s env runners wait while the learner updates on each "
                   f"batch, {why}")


def async_algo_config(
    choice: SamplingChoice, algo_config: Mapping[str, Any], total_envs: int, batch: int,
) -> tuple[dict[str, Any], SamplingChoice]:
    """``algo_config`` for the algorithm of ``choice``: unchanged unless PPO runs as APPO,
    then the PPO settings APPO also has, with the fragment each env samples per batch
    (``batch`` steps over ``total_envs`` envs: APPO learns from whole fragments), the
    minibatch a multiple of it, and the buffer that keeps a batch at most one update old.
    Returns the choice with the dropped keys among its facts. Pure but for reading RLlib's
    config class."""
    if choice.reason is not SamplingReason.PPO_AS_APPO:
        return dict(algo_config), choice
    known = vars(choice.algo.config())
    out: dict[str, Any] = {}
    dropped = []
    for key, value in algo_config.items():
        if key in ("model", "model_config") or key in known or f"_{key}" in known:
            out[key] = value
        else:
            dropped.append(key)
    fragment = out.get("rollout_fragment_length")
    if not isinstance(fragment, int):
        fragment = max(1, math.ceil(batch / max(total_envs, 1)))
        out["rollout_fragment_length"] = fragment
    minibatch = out.get("minibatch_size")
    if isinstance(minibatch, int) and minibatch % fragment:
        out["minibatch_size"] = min(max(fragment, minibatch // fragment * fragment),
                                    batch)
    out.setdefault("train_batch_size_per_learner", batch)
    out.setdefault("use_circular_buffer", True)
    out.setdefault("circular_buffer_num_batches", ASYNC_BUFFER_BATCHES)
    out.setdefault("circular_buffer_iterations_per_batch", 1)
    facts = {**choice.facts, "dropped": tuple(sorted(dropped))}
    return out, SamplingChoice(choice.mode, choice.algo, choice.reason, facts)
