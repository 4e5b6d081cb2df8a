"""A run whose env runners cannot start fails in one line naming the env's own error, and
never ends ``completed`` with 0 env steps (docs/time-limits.md, "A run that samples
nothing")."""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import read_summary

pytestmark = pytest.mark.training

DIES_IN_RUNNER = textwrap.dedent('''
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    class DiesInRunner(CartPoleEnv):
        """Builds in the driver (the check, the main process), never in an env runner."""

        def __init__(self, config=None):
            if getattr(config, "worker_index", 0) > 0:
                raise RuntimeError("licence server unreachable from this process")
            super().__init__()
''')


@pytest.mark.parametrize("engine", ["driver", "tune"])
def test_env_runners_that_cannot_start_fail_the_run_with_the_envs_error(cli,
                                                                        engine: str) -> None:
    (cli.cwd / "dies.py").write_text(DIES_IN_RUNNER)
    result = cli("train", "--env", "dies.py:DiesInRunner", "--stop-iters", "2", "--num-cpus",
                 "2", "--set", "resources.num_env_runners=1", "--name", "d", "--engine", engine)
    assert result.exit_code == 1, result.output
    run = cli.cwd / "rlscale_runs" / "d"
    assert result.stderr == (
        "Error: training failed: NothingSampled: no env runner could sample, 0 env steps: "
        f"EnvSpecError: environment '{cli.cwd / 'dies.py'}:DiesInRunner' failed to build: "
        "RuntimeError: licence server unreachable from this process; traceback in "
        f"{run / 'error.txt'}\n"
    )
    assert "ERROR" not in result.output and "Traceback" not in result.output
    summary = read_summary(run)
    assert summary["status"] == "failed" and summary["timesteps_total"] == 0
