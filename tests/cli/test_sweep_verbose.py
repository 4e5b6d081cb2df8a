"""``rlscale sweep -v`` shows Ray's logs: nothing on the way pins the quiet environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from rlscale.runners import launch
from rlscale.runners.sweep import SweepOptions

RAY_LOGGERS = ("ray", "ray.rllib", "ray.tune", "ray.train")
BACKEND = "RAY_BACKEND_LOG_LEVEL"


@pytest.fixture
def ray_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start without Ray's quiet settings; put them back afterwards."""
    monkeypatch.setenv(BACKEND, "")  # records the value to restore ...
    monkeypatch.delenv(BACKEND)  # ... then starts from none
    levels = {name: logging.getLogger(name).level for name in RAY_LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _assert_loud() -> None:
    assert os.environ.get(BACKEND) != "fatal"
    assert logging.getLogger("ray").level == logging.INFO
    assert logging.getLogger("ray.tune").level == logging.INFO


def test_dry_run_verbose_keeps_rays_logs(cli, ray_logging) -> None:
    result = cli("sweep", "--env", "CartPole-v1", "--stop-iters", "1", "--search", "seeds=2",
                 "--num-cpus", "1", "--no-check-env", "-v", "--dry-run")
    assert result.exit_code == 0, result.output
    _assert_loud()


class _Started(Exception):
    """Raised once Ray is up: the sweep goes no further."""


def test_sweep_verbose_keeps_rays_logs_when_ray_starts(tmp_path, ray_logging) -> None:
    # The sweep's own path (plan, then Ray's start): -v reaches Ray's processes.
    seen: dict[str, Any] = {}

    def on_start(job: Any) -> None:
        seen["backend"] = os.environ.get(BACKEND)
        seen["level"] = logging.getLogger("ray").level
        raise _Started

    with pytest.raises(_Started):
        launch.sweep(
            {"env": "CartPole-v1", "stop": {"iters": 1}, "output": str(tmp_path)},
            search={"seeds": 2}, options=SweepOptions(num_cpus=1), check_env=False,
            verbose=True, on_start=on_start,
        )
    assert seen["backend"] != "fatal"
    assert seen["level"] == logging.INFO
    _assert_loud()
