"""The resource plan: how ``--num-cpus`` and ``--num-gpus`` become RLlib settings.

``num_cpus`` is the total number of cores the run may use, driver and learner included:
one core for the main process (the driver, which also runs the learner unless there are
several GPU learners) and one core per remote env runner. The tutorial's "35 + 1 driver
core" arithmetic is done here, once: N cores are 1 main process + N - 1 remote env runners.
Below three cores a synchronous algorithm (PPO, DQN, SAC: the main process waits while the
runners sample) gets no remote runner: one runner would only take turns with the main
process, so the main process samples itself, and start-up is one process shorter (measured
on 2 cores: same steps/s, first iteration about 3.5 s sooner). Every process runs PyTorch
with one thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rlscale.errors import ResourceError


@dataclass(frozen=True)
class ResourcePlan:
    """What the run will ask Ray for."""

    total_cpus: int
    num_env_runners: int
    num_envs_per_env_runner: int
    num_cpus_per_env_runner: int
    num_cpus_for_main_process: int
    num_learners: int
    num_gpus_per_learner: float
    reasons: tuple[str, ...] = field(default=())
    # PyTorch (OpenMP) threads in every Ray process of the run: each process is counted as
    # one core, so more threads would only fight over the same cores.
    torch_threads: int = 1

    @property
    def sampling_processes(self) -> int:
        """Processes that step environments (the main process when there are no runners)."""
        return max(self.num_env_runners, 1)

    @property
    def gpus_to_reserve(self) -> int:
        """Whole GPUs the embedded Ray must offer (a fractional learner still needs one)."""
        return math.ceil(self.num_gpus_per_learner * max(self.num_learners, 1))


def plan_resources(
    *,
    available_cpus: int,
    available_gpus: float,
    num_cpus: int | None = None,
    num_gpus: float = 0.0,
    on_policy: bool = True,
    synchronous: bool = True,
    num_env_runners: int | None = None,
    num_envs_per_env_runner: int | None = None,
    num_envs: int | None = None,
    may_oversubscribe: bool = False,
) -> ResourcePlan:
    """Plan a run from the cores/GPUs asked for and those available. Pure function.

    ``may_oversubscribe`` is true for the embedded local Ray, which can be given more
    logical CPUs than the machine has; on an existing cluster a plan that does not fit
    is an error (it would otherwise wait forever as a PENDING trial).
    """
    reasons: list[str] = []
    if available_cpus < 1:
        raise ResourceError("Ray sees no CPU to run on")
    total = available_cpus if num_cpus is None else num_cpus
    if num_cpus is None:
        reasons.append(f"--num-cpus not given: using all {available_cpus} cores Ray sees")
    if total < 1:
        raise ResourceError(f"--num-cpus must be at least 1, got {total}")
    if total > available_cpus:
        if not may_oversubscribe:
            raise ResourceError(
                f"--num-cpus {total} is more than the {available_cpus} CPUs available"
            )
        reasons.append(
            f"oversubscribed: {total} cores asked for, the machine has {available_cpus}"
        )
    if num_gpus < 0:
        raise ResourceError(f"--num-gpus must be >= 0, got {num_gpus}")
    if num_gpus > available_gpus:
        raise ResourceError(
            f"--num-gpus {num_gpus:g} asked for, but only {available_gpus:g} GPU(s) available"
        )
    if num_gpus > 1 and num_gpus != int(num_gpus):
        raise ResourceError(
            f"--num-gpus {num_gpus:g}: fractions are allowed up to 1; above 1 use whole GPUs"
        )

    if num_env_runners is None:
        runners = total - 1
        if runners == 1 and synchronous:
            runners = 0
            reasons.append(
                "2 cores, synchronous algorithm: the main process samples and learns in "
                "turn (a single remote env runner would only take turns with it); the "
                "second core serves Ray and Tune"
            )
        elif runners:
            reasons.append(
                f"{total} cores = 1 main process (driver + learner) + {runners} env runner(s)"
            )
        else:
            reasons.append("1 core: the main process samples and learns, no remote env runners")
    else:
        runners = num_env_runners
        reasons.append(f"{runners} env runner(s), as set in resources.num_env_runners")
        if runners + 1 > total:
            raise ResourceError(
                f"{runners} env runners + 1 main process need {runners + 1} cores, "
                f"but the run may use {total}"
            )

    if num_envs_per_env_runner is not None:
        envs = num_envs_per_env_runner
        reasons.append(
            f"{envs} env(s) per runner, as set in resources.num_envs_per_env_runner"
            + (" (it wins over resources.num_envs)" if num_envs is not None else "")
        )
    elif num_envs is not None:
        # A total (presets give one): the batch it was tuned with keeps its steps per env
        # whatever the number of sampling processes.
        processes = max(runners, 1)
        envs = math.ceil(num_envs / processes)
        reasons.append(
            f"{num_envs} env(s) in all (resources.num_envs): {envs} per "
            + (f"runner over {runners} runners" if runners > 1 else
               "runner" if runners else "main process")
        )
    else:
        envs = 8 if on_policy else 1
        reasons.append(
            f"{envs} env(s) per runner: "
            + ("vectorized sampling for an on-policy algorithm" if on_policy
               else "off-policy algorithms update often, one env per runner")
        )

    reasons.append(
        "1 PyTorch thread per process: the small networks of RL gain nothing from more, "
        "and extra threads fight the other processes for the same cores"
    )

    if num_gpus == 0:
        learners, gpus_per_learner = 0, 0.0
        reasons.append("no GPU: the learner runs in the main process on CPU")
    elif num_gpus <= 1:
        learners, gpus_per_learner = 0, float(num_gpus)
        reasons.append(f"the learner runs in the main process on {num_gpus:g} GPU")
    else:
        learners, gpus_per_learner = int(num_gpus), 1.0
        reasons.append(f"{learners} GPU learners (one process each), data-parallel")

    return ResourcePlan(
        total_cpus=total,
        num_env_runners=runners,
        num_envs_per_env_runner=envs,
        num_cpus_per_env_runner=1,
        # Without remote runners every core of the run is the main process's.
        num_cpus_for_main_process=1 if runners else total,
        num_learners=learners,
        num_gpus_per_learner=gpus_per_learner,
        reasons=tuple(reasons),
    )
