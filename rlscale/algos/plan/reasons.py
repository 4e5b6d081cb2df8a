"""Why the plan is what it is: each reason a code (:class:`PlanReason`) and its facts (numbers,
names), rendered to text in this one place (:func:`describe_reason`).

The plans (:mod:`~rlscale.algos.plan.run`, :mod:`~rlscale.algos.plan.sweep`,
:mod:`~rlscale.algos.plan.batch`) give reasons as data; ``--dry-run`` prints them; tests assert
the codes and facts, never the sentences.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class PlanReason(enum.Enum):
    """What decided a part of the plan; each member's doc names the facts it carries."""

    # -- the cores of a run
    ALL_CORES = "all_cores"
    """``--num-cpus`` not given: every free core. Facts: cores, nodes, busy."""
    OVERSUBSCRIBED = "oversubscribed"
    """More cores asked for than the machine has. Facts: cores, available."""
    # -- its env runners
    MAIN_SHARES_CLUSTER_CORE = "main_shares_cluster_core"
    """On a cluster, a synchronous algorithm's main process on an env runner's core. Facts:
    cores, nodes, learners, runners, main_node, step_us, expensive."""
    MAIN_SAMPLES_ON_TWO_CORES = "main_samples_on_two_cores"
    """2 cores, synchronous algorithm: the main process samples. Facts: cores, step_us,
    threshold_us, expensive."""
    EXPENSIVE_ENV_EVERY_CORE = "expensive_env_every_core"
    """An expensive env samples on every core. Facts: runners, step_us, threshold_us."""
    CORES_SPLIT = "cores_split"
    """1 main process + GPU learners + env runners. Facts: cores, learners, runners, nodes,
    synchronous, step_us, expensive."""
    ONE_CORE = "one_core"
    """No core left for a remote env runner."""
    RUNNERS_SET = "runners_set"
    """``resources.num_env_runners`` set. Facts: runners."""
    EXTERNAL_IN_MAIN = "external_in_main"
    """An external env's simulators connect to the main process (runners not set)."""
    MAIN_SHARES_LOCAL_CORE = "main_shares_local_core"
    """Runners set one core short on one node: the main process shares a core."""
    MAIN_SHARES_NODE_CORE = "main_shares_node_core"
    """Runners set on a cluster: the main process shares a core. Facts: main_node."""
    # -- the envs of each runner
    ENVS_PER_RUNNER_SET = "envs_per_runner_set"
    """``resources.num_envs_per_env_runner`` set. Facts: envs, over_num_envs."""
    ENVS_PER_SIMULATOR = "envs_per_simulator"
    """An external env: one env per simulator connection. Facts: envs."""
    ENVS_IN_ALL = "envs_in_all"
    """``resources.num_envs`` spread over the sampling processes. Facts: num_envs, envs,
    runners."""
    ENVS_DEFAULT = "envs_default"
    """Nothing set: 8 envs per runner on-policy, 1 off-policy. Facts: envs, on_policy."""
    # -- threads and GPUs
    TORCH_THREADS = "torch_threads"
    """PyTorch threads per process. Facts: threads."""
    NO_GPU = "no_gpu"
    """No GPU: the learner on CPU in the main process."""
    GPU_IN_MAIN = "gpu_in_main"
    """The learner on a GPU (or part of one) in the main process. Facts: gpus, node."""
    GPU_LEARNERS = "gpu_learners"
    """One learner process per GPU. Facts: learners."""
    # -- the batch
    BATCH_GROWN = "batch_grown"
    """A batch not set by the user grown with the envs. Facts: batch, grown, envs,
    processes, envs_per_process, steps_per_env, min_steps."""
    BATCH_CUT_EXPENSIVE = "batch_cut_expensive"
    """An expensive env's batch not set by the user cut, to update more often per env step.
    Facts: batch, cut, envs, steps_per_env, max_steps, step_us."""
    # -- a sweep
    SWEEP_ALL_CORES = "sweep_all_cores"
    """``--num-cpus`` not given: the sweep uses every core. Facts: cores, nodes."""
    SWEEP_ONE_CORE_PER_TRIAL = "sweep_one_core_per_trial"
    """``resources.num_cpus`` not set: 1 core per trial."""
    SWEEP_TRIAL_SPANS_NODES = "sweep_trial_spans_nodes"
    """A trial larger than the largest node. Facts: trial_cpus, largest."""
    SWEEP_TRIAL_BUNDLES = "sweep_trial_bundles"
    """What each trial asks Ray for (RLlib's placement group). Facts: resources."""
    SWEEP_FIT = "sweep_fit"
    """Trials the sweep's cores hold at once. Facts: cores, trial_cpus, fit."""
    SWEEP_PACKED = "sweep_packed"
    """Fewer trials at once: each bundle must fit on one node. Facts: packed, free."""
    SWEEP_CONCURRENCY_CAPPED = "sweep_concurrency_capped"
    """``--max-concurrent`` above what fits. Facts: max_concurrent, fit."""
    SWEEP_CONCURRENCY_SET = "sweep_concurrency_set"
    """``--max-concurrent`` as given. Facts: concurrent."""


@dataclass(frozen=True)
class Reason:
    """One reason of a plan: its code and the facts the text is made of."""

    code: PlanReason
    facts: Mapping[str, Any] = field(default_factory=dict)


def reason(code: PlanReason, **facts: Any) -> Reason:
    """A :class:`Reason` with ``facts`` given as keywords."""
    return Reason(code, facts)


def describe_reason(why: Reason) -> str:
    """The one line ``--dry-run`` prints for ``why``."""
    return _TEXT[why.code](why.facts)


def step_text(step_us: float) -> str:
    """A measured env step time, in ms from 0.1 ms up, else in us."""
    return (f"measured {step_us / 1000:.2f} ms a step" if step_us >= 100
            else f"measured {step_us:.1f} us a step")


def free_text(nodes: Any) -> str:
    """The nodes and what each has free, for a message."""
    return ", ".join(n.describe() for n in nodes)


def _env_cost(f: Mapping[str, Any]) -> str:
    if f.get("step_us") is None:
        return ""
    return f"; the env is {'expensive' if f['expensive'] else 'cheap'} ({step_text(f['step_us'])})"


def _learners(f: Mapping[str, Any]) -> str:
    return f"{f['learners']} GPU learner(s) + " if f["learners"] else ""


def _all_cores(f: Mapping[str, Any]) -> str:
    where = f" on {f['nodes']} nodes" if f["nodes"] > 1 else ""
    free = f" (free; {f['busy']} more are in use by others)" if f["busy"] > 0 else ""
    return f"--num-cpus not given: using all {f['cores']} cores Ray sees{where}{free}"


def _main_shares_cluster_core(f: Mapping[str, Any]) -> str:
    return (f"{f['cores']} cores over {f['nodes']} nodes = {_learners(f)}{f['runners']} env "
            f"runner(s); the main process (driver + learner) shares a core of {f['main_node']} "
            "with one of them: a synchronous algorithm's runners sample, then it learns, in "
            "turn, so a core of its own would stand idle while they sample, and on a cluster "
            f"that core would be a runner fewer{_env_cost(f)}")


def _main_samples_on_two_cores(f: Mapping[str, Any]) -> str:
    if f.get("step_us") is None:
        why = ""
    elif f.get("expensive"):
        why = (f" (the env is expensive: {step_text(f['step_us'])}, at least "
               f"{f['threshold_us'] / 1000:g} ms, but Ray counts an existing cluster's CPUs "
               "strictly: sampling on every core would need a CPU more)")
    else:
        why = (f" (the env is cheap: {step_text(f['step_us'])}, under "
               f"{f['threshold_us'] / 1000:g} ms)")
    return (f"{f['cores']} cores, synchronous algorithm: the main process samples and learns "
            "in turn (a single remote env runner would only take turns with it); the second "
            f"core serves Ray and Tune{why}")


def _expensive_env_every_core(f: Mapping[str, Any]) -> str:
    return (f"expensive env ({step_text(f['step_us'])}, at least "
            f"{f['threshold_us'] / 1000:g} ms): {f['runners']} env runner(s) sample on every "
            "core; the main process (driver + learner) learns while they wait, so it shares a "
            "core with them")


def _cores_split(f: Mapping[str, Any]) -> str:
    where = f" over {f['nodes']} nodes" if f["nodes"] > 1 else ""
    if not f["synchronous"]:
        why = ("; an asynchronous algorithm learns while its runners sample, so the main "
               "process keeps a core of its own")
    elif f["runners"] >= 2:
        why = ("; on one node the main process keeps a core of its own for a cheap env: a "
               f"runner more would add at most 1/{f['runners']} to sampling, and that core "
               "also runs Ray's own processes and the driver's work")
    else:
        why = ""
    return (f"{f['cores']} cores = 1 main process (driver + learner) + {_learners(f)}"
            f"{f['runners']} env runner(s){where}{_env_cost(f)}{why}")


def _envs_in_all(f: Mapping[str, Any]) -> str:
    runners = f["runners"]
    where = (f"runner over {runners} runners" if runners > 1 else
             "runner" if runners else "main process")
    return f"{f['num_envs']} env(s) in all (resources.num_envs): {f['envs']} per {where}"


def _batch_grown(f: Mapping[str, Any]) -> str:
    where = (f"{f['processes']} sampling processes x {f['envs_per_process']} env(s)"
             if f["processes"] > 1 else f"{f['envs']} env(s) in the main process")
    return (f"batch grown from {f['batch']} to {f['grown']} steps: {f['batch']} over "
            f"{f['envs']} envs ({where}) leaves {f['steps_per_env']} step(s) per env and "
            f"iteration, fewer than {f['min_steps']}; set "
            "algo_config.train_batch_size_per_learner to keep yours")


def _batch_cut_expensive(f: Mapping[str, Any]) -> str:
    return (f"batch cut from {f['batch']} to {f['cut']} steps ({f['steps_per_env']} per env "
            f"over {f['envs']} envs; at most {f['max_steps']} for an expensive env, "
            f"{step_text(f['step_us'])}): the learner's time per env step is the same, and the "
            "policy updates more often for the env steps the run pays for; set "
            "algo_config.train_batch_size_per_learner to keep yours")


def _sweep_packed(f: Mapping[str, Any]) -> str:
    return (f"the nodes hold {f['packed']} trial(s) at once: each bundle of a trial must fit "
            f"on one node ({free_text(f['free'])})")


def _sweep_trial_bundles(f: Mapping[str, Any]) -> str:
    asked = ", ".join(f"{v:g} {k}" for k, v in sorted(f["resources"].items()) if v)
    return (f"each trial's placement group: {asked or 'nothing'} (RLlib's "
            "default_resource_request for the per-trial plan)")


_TEXT: dict[PlanReason, Callable[[Mapping[str, Any]], str]] = {
    PlanReason.ALL_CORES: _all_cores,
    PlanReason.OVERSUBSCRIBED: lambda f: (
        f"oversubscribed: {f['cores']} cores asked for, the machine has {f['available']}"),
    PlanReason.MAIN_SHARES_CLUSTER_CORE: _main_shares_cluster_core,
    PlanReason.MAIN_SAMPLES_ON_TWO_CORES: _main_samples_on_two_cores,
    PlanReason.EXPENSIVE_ENV_EVERY_CORE: _expensive_env_every_core,
    PlanReason.CORES_SPLIT: _cores_split,
    PlanReason.ONE_CORE: lambda f: (
        "1 core: the main process samples and learns, no remote env runners"),
    PlanReason.RUNNERS_SET: lambda f: (
        f"{f['runners']} env runner(s), as set in resources.num_env_runners"),
    PlanReason.EXTERNAL_IN_MAIN: lambda f: (
        "0 env runners: an external env's simulators connect to the main process "
        "(resources.num_env_runners spreads them over env runners, one port each)"),
    PlanReason.MAIN_SHARES_LOCAL_CORE: lambda f: (
        "the main process (driver + learner) shares a core with the env runners: a "
        "synchronous algorithm's runners sample, then it learns, in turn"),
    PlanReason.MAIN_SHARES_NODE_CORE: lambda f: (
        f"the main process (driver + learner) shares a core of {f['main_node']} with an env "
        "runner: a synchronous algorithm's runners and learner take turns"),
    PlanReason.ENVS_PER_RUNNER_SET: lambda f: (
        f"{f['envs']} env(s) per runner, as set in resources.num_envs_per_env_runner"
        + (" (it wins over resources.num_envs)" if f["over_num_envs"] else "")),
    PlanReason.ENVS_PER_SIMULATOR: lambda f: (
        f"{f['envs']} env(s) per runner, one per simulator connection, as set in "
        "env_config.simulators"),
    PlanReason.ENVS_IN_ALL: _envs_in_all,
    PlanReason.ENVS_DEFAULT: lambda f: (
        f"{f['envs']} env(s) per runner: "
        + ("vectorized sampling for an on-policy algorithm" if f["on_policy"]
           else "off-policy algorithms update often, one env per runner")),
    PlanReason.TORCH_THREADS: lambda f: (
        f"{f['threads']} PyTorch thread per process: the small networks of RL gain nothing "
        "from more, and extra threads fight the other processes for the same cores"),
    PlanReason.NO_GPU: lambda f: "no GPU: the learner runs in the main process on CPU",
    PlanReason.GPU_IN_MAIN: lambda f: (
        f"the learner runs in the main process on {f['gpus']:g} GPU (on {f['node']})"),
    PlanReason.GPU_LEARNERS: lambda f: (
        f"{f['learners']} GPU learners (one process each), data-parallel"),
    PlanReason.BATCH_GROWN: _batch_grown,
    PlanReason.BATCH_CUT_EXPENSIVE: _batch_cut_expensive,
    PlanReason.SWEEP_ALL_CORES: lambda f: (
        f"--num-cpus not given: the sweep uses all {f['cores']} cores Ray sees"
        + (f" on {f['nodes']} nodes" if f["nodes"] > 1 else "")),
    PlanReason.SWEEP_ONE_CORE_PER_TRIAL: lambda f: (
        "1 core per trial (resources.num_cpus not set): each trial samples and learns in its "
        "own process, with no env-runner processes to start or feed, and as many trials run "
        "at once as there are cores"),
    PlanReason.SWEEP_TRIAL_SPANS_NODES: lambda f: (
        f"a trial of {f['trial_cpus']} cores spans nodes (the largest has {f['largest']} "
        "free): its env runners go where there is room"),
    PlanReason.SWEEP_TRIAL_BUNDLES: _sweep_trial_bundles,
    PlanReason.SWEEP_FIT: lambda f: (
        f"{f['cores']} core(s) / {f['trial_cpus']:g} per trial: {f['fit']} trial(s) fit at "
        "once"),
    PlanReason.SWEEP_PACKED: _sweep_packed,
    PlanReason.SWEEP_CONCURRENCY_CAPPED: lambda f: (
        f"--max-concurrent {f['max_concurrent']} capped at {f['fit']}: more trials than fit "
        "would wait PENDING"),
    PlanReason.SWEEP_CONCURRENCY_SET: lambda f: f"--max-concurrent {f['concurrent']}",
}
