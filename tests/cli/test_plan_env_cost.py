"""The plan knows what the env costs: on 2 cores an expensive env samples on both cores (two
env runners, the learner in the driver) and a cheap one in the main process, and the plan says
why with the step time the check before training measured (``rlscale.plan``, what
``train --dry-run`` prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlscale.algos.plan import EXPENSIVE_STEP_US, PlanReason
from tests.plan_reasons import said

BUSY = str(Path(__file__).parents[1] / "fixtures" / "busy_cartpole.py") + ":BusyCartPole"


def _dry_run(cli, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = cli("train", "--env", BUSY, "--num-cpus", "2", "--dry-run", *args)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def _plan(busy_ms: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The plan ``train --dry-run`` would print for the busy env on 2 cores."""
    import rlscale

    monkeypatch.chdir(tmp_path)
    job = rlscale.plan({"env": BUSY, "env_config": {"busy_ms": busy_ms}},
                       overrides={"resources.num_cpus": 2})
    return job.plan


def test_expensive_env_samples_on_every_core(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(2, tmp_path, monkeypatch)
    assert (plan.num_env_runners, plan.num_cpus_for_main_process) == (2, 1)
    assert [p.describe() for p in plan.placement] == [
        "local: main process (driver + learner) + 2 env runner(s) = 3 CPU"]
    why = [r for r in plan.reasons if r.code is PlanReason.EXPENSIVE_ENV_EVERY_CORE]
    assert len(why) == 1 and why[0].facts["runners"] == 2
    assert why[0].facts["step_us"] >= 2000.0 and why[0].facts["step_us"] == \
        plan.env_step_time_us


def test_expensive_env_updates_every_128_steps_per_env(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """PPO/default's 2,048-step batch over the expensive env's 2 x 4 envs is cut to 1,024
    (MAX_STEPS_PER_ENV_EXPENSIVE per env), and the dry-run says so; a cheap env keeps it."""
    plan = _plan(2, tmp_path, monkeypatch)
    why = [r for r in plan.reasons if r.code is PlanReason.BATCH_CUT_EXPENSIVE]
    assert len(why) == 1
    assert (why[0].facts["batch"], why[0].facts["cut"], why[0].facts["envs"]) == (2048, 1024, 8)
    out = _dry_run(cli, "--env-config", '{"busy_ms": 2}')
    assert "train_batch_size_per_learner: 1024" in out
    assert said(why[0]).split("(")[0] in out
    # The learner's minibatch must fit: a minibatch of 2,048 keeps the batch whole.
    out = _dry_run(cli, "--env-config", '{"busy_ms": 2}', "--set",
                   "algo_config.minibatch_size=2048")
    assert "train_batch_size_per_learner: 2048" in out
    out = _dry_run(cli, "--env-config", '{"busy_ms": 0}')
    assert "train_batch_size_per_learner: 2048" in out


def test_cheap_env_samples_in_the_main_process(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(0, tmp_path, monkeypatch)
    assert (plan.num_env_runners, plan.num_cpus_for_main_process) == (0, 2)
    why = [r for r in plan.reasons if r.code is PlanReason.MAIN_SAMPLES_ON_TWO_CORES]
    assert len(why) == 1
    assert why[0].facts["step_us"] is not None
    assert why[0].facts["step_us"] < why[0].facts["threshold_us"] == EXPENSIVE_STEP_US


def test_explicit_choices_keep_todays_plan(cli) -> None:
    # An explicit runner count wins over the env's cost ...
    out = _dry_run(cli, "--env-config", '{"busy_ms": 2}', "--set",
                   "resources.num_env_runners=0")
    assert "num_env_runners            0" in out
    assert said(PlanReason.RUNNERS_SET, runners=0) in out
    # ... and so does one core.
    result = cli("train", "--env", BUSY, "--env-config", '{"busy_ms": 2}', "--num-cpus", "1",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert "num_env_runners            0" in result.stdout
    # Without the check there is no step time: the cheap-env rule, no env cost said.
    out = _dry_run(cli, "--env-config", '{"busy_ms": 2}', "--no-check-env")
    assert "num_env_runners            0" in out
    assert said(PlanReason.MAIN_SAMPLES_ON_TWO_CORES, cores=2, step_us=None,
                threshold_us=EXPENSIVE_STEP_US, expensive=False) in out


def test_no_check_env_keeps_env_runners_set_by_hand(cli) -> None:
    """--no-check-env measures no step time, so the plan cannot tell an expensive env:
    resources.num_env_runners: 2 on 2 cores (the expensive-env plan) is planned, not refused."""
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "2", "--no-check-env",
                 "--set", "resources.num_env_runners=2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "num_env_runners            2" in result.stdout
