"""The scaling prediction (rlscale.algos.scaling) and ``train --dry-run --predict``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from rlscale.algos.plan import Node, ResourcePlan, plan_resources, scale_batch
from rlscale.algos.scaling import (
    REMOTE_VECTOR_COST,
    Bound,
    Pilot,
    Point,
    core_counts,
    knee,
    pilot_from_throughput,
    predict_cores,
    predict_nodes,
    size_job,
)
from tests.conftest import assert_error

# A throughput record as summary.json holds it: 2 runners, 4 timed iterations.
THROUGHPUT = {
    "total": {"iterations": 4, "iteration_s": 8.0, "sampling_s": 6.0, "learning_s": 1.6,
              "waiting_s": 0.4},
    "last": {"nodes": [{"node": "10.0.0.1", "sampling_processes": 2, "env_steps": 3000,
                        "env_steps_per_s": 2000.0}]},
}


def _planner(synchronous: bool = True, step_us: float | None = 500.0):
    def plan(nodes: Sequence[Node], cores: int) -> tuple[ResourcePlan, int]:
        p = plan_resources(nodes=nodes, num_cpus=cores, synchronous=synchronous,
                           num_envs=8, may_oversubscribe=len(nodes) == 1,
                           env_step_time_us=step_us)
        return p, scale_batch(p, 3000, explicit=True)[0]  # the batch stays 3,000
    return plan


def test_pilot_from_a_runs_throughput() -> None:
    pilot = pilot_from_throughput(THROUGHPUT)
    assert pilot is not None
    # 1,500 steps per process in 1.5 s of sampling per iteration.
    assert pilot.steps_per_process_s == pytest.approx(1000.0)
    assert pilot.learning_s_per_step == pytest.approx(0.4 / 3000)
    assert pilot.overhead_s == pytest.approx(0.1)
    # The model gives the pilot's own rate back: 3,000 steps in 1.5 + 0.4 + 0.1 s.
    assert pilot.steps_per_s == pytest.approx(1500.0)
    assert pilot_from_throughput(None) is None
    assert pilot_from_throughput({"total": {"iterations": 0}}) is None


def test_fewer_envs_per_runner_and_remote_runners_make_a_step_dearer() -> None:
    # A 1-core pilot: the main process sampled 8 envs at 1,600 steps/s (0.625 ms a step),
    # of which the env's own step is 0.5 ms: a step of the vector env costs 1 ms besides.
    plan = _planner()([Node(name="node", cpus=1)], 1)[0]
    assert (plan.num_env_runners, plan.num_envs_per_env_runner) == (0, 8)
    throughput = {"total": {"iterations": 2, "iteration_s": 4.0, "sampling_s": 3.75,
                            "learning_s": 0.2, "waiting_s": 0.05},
                  "last": {"nodes": [{"node": "n", "sampling_processes": 1,
                                      "env_steps": 3000}]}}
    pilot = pilot_from_throughput(throughput, plan)
    assert pilot is not None
    assert (pilot.env_step_s, pilot.envs_per_process, pilot.remote) == (0.0005, 8, False)
    assert pilot.step_s(8, remote=False) == pytest.approx(0.625e-3)
    # 2 cores: 2 remote runners of 4 envs each, each step 0.5 ms + the remote runner's
    # dearer vector step over 4 envs: 1,500 steps each in 1.2375 s, not the 0.9375 s of
    # the pilot's rate.
    assert REMOTE_VECTOR_COST == 1.3
    (two,) = predict_cores(pilot, _planner(), [2], synchronous=True, bytes_per_step=20.0)
    assert (two.env_runners, two.batch) == (2, 3000)
    assert two.sampling_s == pytest.approx(1500 * (0.5e-3 + 1.3 * 1e-3 / 4))
    # The other way round: that run's figures give the pilot's step back.
    plan2 = _planner()([Node(name="node", cpus=2)], 2)[0]
    sampled = two.sampling_s * 2
    back = pilot_from_throughput(
        {"total": {**throughput["total"], "sampling_s": sampled},
         "last": {"nodes": [{"node": "n", "sampling_processes": 2, "env_steps": 3000}]}},
        plan2)
    assert back is not None and back.remote is True
    assert back.step_s(8, remote=False) == pytest.approx(0.625e-3)
    # A loaded machine stretched the pilot's wall-clock step to 1.25 ms while its CPU per
    # step stayed 0.625 ms: the terms come from the CPU (not 6 ms of vector step), the pace
    # from the wall clock: (0.5 + 1.3 x 1 / 4) x 1.25 / 0.625 ms.
    loaded = pilot_from_throughput(
        {"total": {**throughput["total"], "sampling_s": 7.5, "sampling_cpu_s": 3.75},
         "last": throughput["last"]}, plan)
    assert loaded is not None and loaded.cpu_step_s == pytest.approx(0.625e-3)
    assert loaded.step_s(4, remote=True) == pytest.approx((0.5e-3 + 1.3e-3 / 4) * 2)
    assert loaded.step_s(8, remote=False) == pytest.approx(1.25e-3)
    # An env check slower than the whole step (a loaded machine): no vector term.
    slow = Pilot(steps_per_process_s=1000.0, learning_s_per_step=0.0, overhead_s=0.0,
                 batch=1000, processes=1, iterations=1, env_step_s=0.002,
                 envs_per_process=8, remote=False)
    assert slow.step_s(1, remote=False) == pytest.approx(1e-3)


def test_more_cores_sample_faster_until_the_learner_bounds() -> None:
    pilot = pilot_from_throughput(THROUGHPUT)
    assert pilot is not None
    points = predict_cores(pilot, _planner(), core_counts(64), synchronous=True,
                           bytes_per_step=20.0)
    assert [p.cores for p in points] == [1, 2, 4, 8, 16, 32, 64]
    # An expensive env on 2 cores: 2 runners sample (the plan's rule), twice one's rate.
    one, two = points[0], points[1]
    assert (one.env_runners, two.env_runners) == (0, 2)
    assert one.steps_per_s == pytest.approx(3000 / (3.0 + 0.4 + 0.1))
    assert two.steps_per_s == pytest.approx(1500.0)
    assert one.bound is Bound.ENV
    rates = [p.steps_per_s for p in points]
    assert rates == sorted(rates)
    # Sampling takes ever less; the learner (and the driver's rest) stays: it bounds.
    assert points[-1].bound is Bound.LEARNER
    assert points[-1].steps_per_s < 3000 / 0.5
    # 3,000 / (3 / n + 0.5) steps/s: 64 to 128 cores adds 4.5%, 32 to 64 8.6%.
    assert knee(pilot, _planner(), synchronous=True, bytes_per_step=20.0) == 64


def test_asynchronous_sampling_overlaps_the_learner() -> None:
    pilot = pilot_from_throughput(THROUGHPUT)
    assert pilot is not None
    sync = predict_cores(pilot, _planner(True), [4], synchronous=True, bytes_per_step=20.0)
    done = predict_cores(pilot, _planner(False), [4], synchronous=False, bytes_per_step=20.0)
    # Synchronous, an expensive env samples on all 4 cores: 0.75 s, then 0.5 s of learning
    # and the rest. Asynchronous, 3 runners (the learner keeps a core): 1 s of sampling
    # while the learner's 0.5 s go on.
    assert (sync[0].env_runners, done[0].env_runners) == (4, 3)
    assert sync[0].iteration_s == pytest.approx(1.25)
    assert done[0].iteration_s == pytest.approx(1.0)
    # On 1 core no runner: the main process samples (3 s), then learns, async or not.
    (alone,) = predict_cores(pilot, _planner(False), [1], synchronous=False,
                             bytes_per_step=20.0)
    assert alone.env_runners == 0
    assert alone.iteration_s == pytest.approx(3.5)


def test_nodes_pay_the_network_for_remote_samples() -> None:
    pilot = Pilot(steps_per_process_s=1000.0, learning_s_per_step=1e-5, overhead_s=0.0,
                  batch=4000, processes=1, iterations=3)
    slow = predict_nodes(pilot, _planner(), 4, [1, 2], synchronous=True,
                         bytes_per_step=1e6, bandwidth=1e9)
    assert slow[0].network_s == 0.0  # every sampler beside the learner
    assert slow[1].network_s > 0.0 and slow[1].bound is Bound.NETWORK
    assert slow[1].steps_per_s < slow[0].steps_per_s  # "two nodes slower than one"


def test_predict_goes_with_dry_run(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--predict")
    assert_error(result, "--predict goes with --dry-run (it trains only a short pilot)",
                 cli.cwd)


@pytest.mark.training
def test_predict_from_a_trained_runs_figures(trained_run: Path, cli) -> None:
    # A run that trained is its own pilot: nothing is trained, nothing written.
    before = sorted(p.name for p in trained_run.iterdir())
    result = cli("train", str(trained_run / "config.yaml"), "--resume", "--dry-run",
                 "--predict")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"from the figures of {trained_run} (1 iterations)" in out
    assert "Scaling prediction (synchronous sampling)" in out
    assert "More cores buy nothing past " in out
    assert "on one node (doubling them adds less than 5% to the predicted steps/s" in out
    assert sorted(p.name for p in trained_run.iterdir()) == before


def _node_point(nodes: int, steps_per_s: float, bound: Bound = Bound.ENV) -> Point:
    return Point(cores=16 * nodes, nodes=nodes, env_runners=15 * nodes, batch=4096,
                 sampling_s=1.0, learning_s=0.5, overhead_s=0.1, network_s=0.05,
                 iteration_s=1.65, steps_per_s=steps_per_s, bound=bound)


def test_a_job_is_sized_at_the_knee() -> None:
    # The knee fits in one node: that node, and only the cores that buy something.
    size = size_job(8, [_node_point(1, 1000.0), _node_point(2, 1900.0)], node_cpus=16)
    assert (size.nodes, size.cpus_per_node) == (1, 8)
    assert size.reason == ("more cores buy nothing past 8 on one node (doubling them adds "
                           "less than 5% to the predicted env steps/s)")
    # Past one node: the node count from which doubling adds less than 5%.
    points = [_node_point(1, 1000.0), _node_point(2, 1900.0), _node_point(4, 1950.0),
              _node_point(8, 1960.0)]
    size = size_job(64, points, node_cpus=16)
    assert (size.nodes, size.cpus_per_node) == (2, 16)
    assert size.reason == ("4 nodes would add less than 5% to the predicted 1,900 env steps/s "
                           "of 2 (env-bound)")
    # Capped by the bound: at the first count that is learner-bound and within 10% of the
    # 4,096 / (0.5 + 0.1 + 0.05) s the learner, driver and network allow, however much more
    # a growing batch would add.
    bound = [_node_point(1, 1000.0), _node_point(2, 5000.0, Bound.LEARNER),
             _node_point(4, 6000.0, Bound.LEARNER), _node_point(8, 9000.0, Bound.NETWORK)]
    size = size_job(64, bound, node_cpus=16)
    assert (size.nodes, size.cpus_per_node) == (4, 16)
    assert size.reason == ("at 4 node(s) the run is predicted learner-bound (6,000 env "
                           "steps/s): no more nodes could add 10% (the learner allows 6,302)")
    # Every doubling still pays: the largest count predicted.
    size = size_job(64, points[:2], node_cpus=16)
    assert (size.nodes, size.cpus_per_node) == (2, 16)
    assert size.reason.startswith("every node up to 2 still adds 5% or more")


@pytest.mark.parametrize(("args", "message"), [
    (["--predict", "--time", "01:00:00"], "--predict needs --cpus-per-node (the cores of one "
     "node)"),
    (["--predict", "--nodes", "2", "--cpus-per-node", "4", "--time", "01:00:00"],
     "--predict sizes the job: leave out --nodes"),
    (["--time", "01:00:00"], "--nodes is required (or --predict, with --cpus-per-node, to "
     "size the job from the scaling prediction)"),
])
def test_slurm_predict_needs_the_node_size_and_decides_the_nodes(cli, args, message) -> None:
    result = cli("slurm", "--env", "CartPole-v1", "--name", "p", *args)
    assert_error(result, message, cli.cwd)


@pytest.mark.training
def test_slurm_sizes_a_job_from_a_pilot(cli) -> None:
    result = cli("slurm", "--env", "CartPole-v1", "--name", "p", "--num-cpus", "1",
                 "--predict", "--cpus-per-node", "64", "--time", "01:00:00", "--dry-run")
    assert result.exit_code == 0, result.output
    sized = next(line for line in result.stdout.splitlines() if line.startswith("Sized"))
    # A cheap env's pilot on 1 core: its knee fits in one node of 64 cores.
    knee_cores = int(sized.split(" x ")[1].split()[0])
    assert sized == (f"Sized from the prediction (a pilot of 4 iterations): 1 node(s) x "
                     f"{knee_cores} cores: more cores buy nothing past {knee_cores} on one "
                     "node (doubling them adds less than 5% to the predicted env steps/s)")
    assert "#SBATCH --nodes=1\n" in result.stdout
    assert f"#SBATCH --cpus-per-task={knee_cores}\n" in result.stdout
