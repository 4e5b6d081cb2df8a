"""Env checks on every node, before training on a cluster.

The check before training (``rlscale.envs.check``) builds the env on the machine the command
was typed on. On a cluster the env runners build it on other nodes, where a module may be
missing, a data file absent or a package of another version: RLlib then fails minutes later
with a worker traceback. Here one Ray task per node that will sample, pinned to that node
and all of them in parallel, builds the env from its spec, ``env_config`` and env packages
as an env runner would, and times a few steps; a node that cannot is named in one line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rlscale.algos.plan import ResourcePlan
from rlscale.envs.resolve import ResolvedEnv
from rlscale.errors import EnvSpecError

log = logging.getLogger(__name__)

PROBE_STEPS = 50
TIMEOUT_S = 60.0


class NodeEnvError(EnvSpecError):
    """A node of the cluster cannot build (or step) the env."""


@dataclass(frozen=True)
class NodeCheck:
    """What one node's check found."""

    node: str
    step_time_us: float | None
    error: str | None = None


def sampling_nodes(plan: ResourcePlan) -> list[str]:
    """The nodes that will step envs: those of the env runners, or the main process's
    when it samples itself."""
    if plan.num_env_runners:
        return [p.node for p in plan.placement if p.env_runners]
    return [p.node for p in plan.placement if p.main_process]


def _probe(spec: str, env_config: dict[str, Any], env_packages: Sequence[str],
           steps: int) -> tuple[float | None, str | None]:
    """Build the env here and step it; (mean step time in us, None) or (None, why)."""
    import warnings

    from rlscale.envs import multiagent
    from rlscale.envs.masks import sample_action
    from rlscale.envs.resolve import make_env

    prefix = f"environment '{spec}': "
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = make_env(spec, env_config, env_packages)
            try:
                if multiagent.object_kind(env) is not None:  # every agent acts at random
                    return multiagent.time_random_steps(env, steps) / steps * 1e6, None
                obs, _ = env.reset(seed=0)
                spent = 0.0
                for _ in range(steps):
                    action = sample_action(env.action_space, obs)  # legal, if masked
                    start = time.perf_counter()
                    obs, _, terminated, truncated, _ = env.step(action)
                    spent += time.perf_counter() - start
                    if terminated or truncated:
                        obs, _ = env.reset()
            finally:
                env.close()
    except EnvSpecError as exc:
        return None, str(exc).removeprefix(prefix)
    except Exception as exc:  # noqa: BLE001  (the env's own code; reported by node)
        return None, f"{type(exc).__name__}: {exc}"
    return spent / steps * 1e6, None


def check_env_on_nodes(
    env: ResolvedEnv, nodes: Sequence[str], steps: int = PROBE_STEPS,
    timeout_s: float = TIMEOUT_S,
) -> list[NodeCheck]:
    """Build and step ``env`` once on each of ``nodes`` (IP addresses of alive nodes of the
    connected cluster), in parallel. Raises :class:`NodeEnvError` naming the first node
    (in the order given) that cannot, or that does not answer within ``timeout_s``."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ids = {n["NodeManagerAddress"]: n["NodeID"] for n in ray.nodes() if n.get("Alive")}
    # No CPU asked for: the check must run even where every CPU is already taken.
    probe = ray.remote(num_cpus=0, max_retries=0)(_probe)
    spec = env.canonical_spec or env.spec
    refs = {}
    for node in dict.fromkeys(nodes):
        if node not in ids:
            raise NodeEnvError(f"node {node} is not an alive node of the cluster")
        strategy = NodeAffinitySchedulingStrategy(node_id=ids[node], soft=False)
        refs[node] = probe.options(scheduling_strategy=strategy).remote(
            spec, env.env_config, list(env.env_packages), steps)
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout_s)
    done = set(ready)
    checks: list[NodeCheck] = []
    failed: list[NodeCheck] = []
    for node, ref in refs.items():
        if ref not in done:
            ray.cancel(ref, force=True)
            raise NodeEnvError(
                f"node {node} did not build env '{env.spec}' within {timeout_s:g} s "
                "(skip the check with --no-check-env)"
            )
        try:
            step_us, error = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the worker itself failed to start or died
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            step_us, error = None, first
        (failed if error is not None else checks).append(
            NodeCheck(node=node, step_time_us=step_us, error=error))
    if failed:
        worst = failed[0]
        same = [c.node for c in failed[1:] if c.error == worst.error]
        other = len(failed) - 1 - len(same)
        notes = ([f"also on {', '.join(same)}"] if same else []) + (
            [f"{other} more node(s) fail otherwise"] if other else [])
        also = f" ({'; '.join(notes)})" if notes else ""
        raise NodeEnvError(f"node {worst.node} cannot build env '{env.spec}': "
                           f"{worst.error}{also}")
    for check in checks:
        log.info("env check on node %s: %.1f us a step", check.node, check.step_time_us or 0)
    return checks


def describe_checks(checks: Sequence[NodeCheck]) -> str:
    """One line: each node and its measured step time."""
    parts = [f"{c.node} {c.step_time_us:.0f} us a step" for c in checks
             if c.step_time_us is not None]
    return f"env built and stepped on {len(checks)} node(s): " + ", ".join(parts)
