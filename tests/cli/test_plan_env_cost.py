"""The plan knows what the env costs: ``train --dry-run`` on 2 cores samples an expensive
env on both cores (two env runners, the learner in the driver) and a cheap one in the main
process, and says why with the step time the check before training measured."""

from __future__ import annotations

import re
from pathlib import Path

BUSY = str(Path(__file__).parents[1] / "fixtures" / "busy_cartpole.py") + ":BusyCartPole"


def _dry_run(cli, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = cli("train", "--env", BUSY, "--num-cpus", "2", "--dry-run", *args)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_expensive_env_samples_on_every_core(cli) -> None:
    out = _dry_run(cli, "--env-config", '{"busy_ms": 2}')
    assert "num_env_runners            2" in out
    assert "num_cpus_for_main_process  1" in out
    assert "on node                    local: main process (driver + learner) + 2 env " \
        "runner(s) = 3 CPU" in out
    step = re.search(r"expensive env \(measured (\d+\.\d+) ms a step, at least ", out)
    assert step is not None and float(step.group(1)) >= 2.0
    assert "2 env runner(s) sample on every core" in out


def test_cheap_env_samples_in_the_main_process(cli) -> None:
    out = _dry_run(cli, "--env-config", '{"busy_ms": 0}')
    assert "num_env_runners            0" in out
    assert "num_cpus_for_main_process  2" in out
    assert re.search(r"second core serves Ray and Tune \(the env is cheap: measured "
                     r"[\d.]+ (us|ms) a step, under ", out)


def test_explicit_choices_keep_todays_plan(cli) -> None:
    # An explicit runner count wins over the env's cost ...
    out = _dry_run(cli, "--env-config", '{"busy_ms": 2}', "--set",
                   "resources.num_env_runners=0")
    assert "num_env_runners            0" in out and "expensive" not in out
    # ... and so does one core.
    result = cli("train", "--env", BUSY, "--env-config", '{"busy_ms": 2}', "--num-cpus", "1",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert "num_env_runners            0" in result.stdout
    # Without the check there is no step time: the cheap-env rule.
    out = _dry_run(cli, "--env-config", '{"busy_ms": 2}', "--no-check-env")
    assert "num_env_runners            0" in out and "measured" not in out


def test_no_check_env_keeps_env_runners_set_by_hand(cli) -> None:
    """--no-check-env measures no step time, so the plan cannot tell an expensive env:
    resources.num_env_runners: 2 on 2 cores (the expensive-env plan) is planned, not refused."""
    result = cli("train", "--env", "CartPole-v1", "--num-cpus", "2", "--no-check-env",
                 "--set", "resources.num_env_runners=2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "num_env_runners            2" in result.stdout
