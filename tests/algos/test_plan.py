"""The resource plan: a table of inputs and the plan they must give."""

from __future__ import annotations

import pytest

from rlscale.algos.plan import plan_resources
from rlscale.errors import ResourceError

# (kwargs, expected: runners, envs/runner, learners, gpus/learner, total cpus)
PLANS = [
    # Every core by default: 1 main process (driver + learner) + the rest as env runners.
    (dict(available_cpus=36, available_gpus=0), (35, 8, 0, 0.0, 36)),
    # 2 cores, synchronous algorithm (PPO, DQN, SAC): the main process samples between its
    # updates; one remote runner would only take turns with it.
    (dict(available_cpus=2, available_gpus=0), (0, 8, 0, 0.0, 2)),
    # 2 cores, asynchronous algorithm (APPO, IMPALA): the runner samples while it learns.
    (dict(available_cpus=2, available_gpus=0, synchronous=False), (1, 8, 0, 0.0, 2)),
    (dict(available_cpus=3, available_gpus=0), (2, 8, 0, 0.0, 3)),
    # One core: the main process samples and learns.
    (dict(available_cpus=8, available_gpus=0, num_cpus=1), (0, 8, 0, 0.0, 1)),
    (dict(available_cpus=8, available_gpus=0, num_cpus=4), (3, 8, 0, 0.0, 4)),
    # Off-policy algorithms sample one env per runner.
    (dict(available_cpus=4, available_gpus=0, on_policy=False), (3, 1, 0, 0.0, 4)),
    # A GPU (or part of one) goes to the learner in the main process.
    (dict(available_cpus=36, available_gpus=1, num_gpus=1), (35, 8, 0, 1.0, 36)),
    (dict(available_cpus=4, available_gpus=1, num_gpus=0.5), (3, 8, 0, 0.5, 4)),
    # Several GPUs: one learner process per GPU.
    (dict(available_cpus=16, available_gpus=4, num_gpus=2), (15, 8, 2, 1.0, 16)),
    # Explicit overrides win.
    (dict(available_cpus=8, available_gpus=0, num_env_runners=2, num_envs_per_env_runner=3),
     (2, 3, 0, 0.0, 8)),
    # Envs in all (presets give one): spread over the sampling processes.
    (dict(available_cpus=2, available_gpus=0, num_envs=32), (0, 32, 0, 0.0, 2)),
    (dict(available_cpus=4, available_gpus=0, num_envs=32), (3, 11, 0, 0.0, 4)),
    (dict(available_cpus=36, available_gpus=0, num_envs=32), (35, 1, 0, 0.0, 36)),
    (dict(available_cpus=4, available_gpus=0, num_envs=32, num_envs_per_env_runner=5),
     (3, 5, 0, 0.0, 4)),
    # The embedded local Ray may be given more logical CPUs than the machine has.
    (dict(available_cpus=2, available_gpus=0, num_cpus=4, may_oversubscribe=True),
     (3, 8, 0, 0.0, 4)),
]


@pytest.mark.parametrize(("kwargs", "expected"), PLANS)
def test_plan_table(kwargs: dict, expected: tuple) -> None:
    plan = plan_resources(**kwargs)
    got = (plan.num_env_runners, plan.num_envs_per_env_runner, plan.num_learners,
           plan.num_gpus_per_learner, plan.total_cpus)
    assert got == expected
    if plan.num_env_runners == 0 and plan.total_cpus == 2:
        assert plan.num_cpus_for_main_process == 2
    # The plan never asks for more cores than the run may use.
    assert plan.num_env_runners * plan.num_cpus_per_env_runner + \
        plan.num_cpus_for_main_process <= plan.total_cpus


IMPOSSIBLE = [
    (dict(available_cpus=2, available_gpus=0, num_cpus=4),
     "--num-cpus 4 is more than the 2 CPUs available"),
    (dict(available_cpus=2, available_gpus=0, num_cpus=0), "--num-cpus must be at least 1, got 0"),
    (dict(available_cpus=2, available_gpus=0, num_gpus=1),
     "--num-gpus 1 asked for, but only 0 GPU(s) available"),
    (dict(available_cpus=8, available_gpus=4, num_gpus=1.5),
     "--num-gpus 1.5: fractions are allowed up to 1; above 1 use whole GPUs"),
    (dict(available_cpus=4, available_gpus=0, num_cpus=2, num_env_runners=3),
     "3 env runners + 1 main process need 4 cores, but the run may use 2"),
]


@pytest.mark.parametrize(("kwargs", "message"), IMPOSSIBLE)
def test_impossible_plans_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ResourceError) as err:
        plan_resources(**kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(("kwargs", "expected"), PLANS)
def test_every_process_runs_torch_with_one_thread(kwargs: dict, expected: tuple) -> None:
    plan = plan_resources(**kwargs)
    assert plan.torch_threads == 1
    assert any("1 PyTorch thread per process" in r for r in plan.reasons)
