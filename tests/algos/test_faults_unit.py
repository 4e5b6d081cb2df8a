"""The fault-tolerant env wrapper and the failure report, without Ray."""

from __future__ import annotations

import pickle
import re
import time
from pathlib import Path

import pytest

from rlscale.algos.faults import (
    FAULT_INFO,
    EnvFault,
    FaultTolerantEnv,
    SimulatorFaults,
    StepTimeout,
    drain_faults,
)
from rlscale.envs.resolve import make_env
from rlscale.results.failure import describe_failure, training_failed
from tests.algos.test_faults import FAULTY


def _wrapped(config: dict, timeout: float | None = 30.0) -> FaultTolerantEnv:
    return FaultTolerantEnv(lambda: make_env(FAULTY, config, ()), timeout)


class _Metrics:
    def __init__(self) -> None:
        self.logged: dict[str, object] = {}

    def log_value(self, key: str, value: object, **_: object) -> None:
        self.logged[key] = value


def test_a_raising_step_ends_the_episode_truncated_and_rebuilds_the_env() -> None:
    env = _wrapped({"p_raise": 1.0})
    drain_faults(metrics_logger=_Metrics())  # forget faults of earlier tests
    first = env.env
    obs, _ = env.reset(seed=0)
    out_obs, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated) == (0.0, False, True)
    assert (out_obs == obs).all()  # the last good observation
    assert re.fullmatch(r"SimulatorDiverged: solver diverged at step 1 \(faulty\.py:\d+\)",
                        info[FAULT_INFO])
    assert env.env is not first  # rebuilt
    metrics = _Metrics()
    drain_faults(metrics_logger=metrics)
    assert metrics.logged["rlscale_env_restarts"] == 1
    assert metrics.logged["rlscale_env_fault_detail"]["type"] == "SimulatorDiverged"


def test_a_hanging_step_is_cut_at_the_timeout() -> None:
    env = _wrapped({"hang_at_step": 1, "hang_s": 60, "hang_key": "unit"}, timeout=0.5)
    env.reset(seed=0)
    start = time.monotonic()
    *_, truncated, info = env.step(0)
    assert time.monotonic() - start < 5
    assert truncated and info[FAULT_INFO].startswith(
        "StepTimeout: the env did not return within 0.5 s (faults.step_timeout_s) (faulty.py:")
    env.reset(seed=1)
    assert env.step(0)[3] is False  # the rebuilt env steps on


def _diverge() -> None:
    raise ValueError("matrix not positive definite")


def test_a_failure_names_the_root_error_where_it_was_raised(tmp_path: Path) -> None:
    try:
        try:
            _diverge()
        except ValueError as exc:
            raise RuntimeError("sampling failed") from exc
    except RuntimeError as exc:
        failure = describe_failure(exc)
        error = training_failed(tmp_path, exc)
    line = _diverge.__code__.co_firstlineno + 1
    assert failure.line() == (f"ValueError: matrix not positive definite "
                              f"(test_faults_unit.py:{line})")
    assert str(error) == (f"training failed: {failure.line()}; traceback in "
                          f"{tmp_path / 'error.txt'}")
    text = (tmp_path / "error.txt").read_text()
    assert text.startswith(failure.line()) and "RuntimeError: sampling failed" in text


def test_simulator_faults_cross_processes_with_the_envs_fault() -> None:
    fault = EnvFault("SimulatorDiverged", "solver diverged", "faulty.py:50", "Traceback ...")
    again = pickle.loads(pickle.dumps(SimulatorFaults(fault, "too many")))
    assert again.fault == fault and str(again) == "SimulatorDiverged: solver diverged " \
        "(faulty.py:50); too many"
    assert describe_failure(again).line() == str(again)
    with pytest.raises(StepTimeout):
        raise StepTimeout("x")
