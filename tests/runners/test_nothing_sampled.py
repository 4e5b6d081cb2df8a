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
    # Until the failure is known: the driver path samples in its main process meanwhile.
    result = cli("train", "--env", "dies.py:DiesInRunner", "--stop-iters", "1000",
                 "--set", "stop.time_s=180", "--num-cpus", "2",
                 "--set", "resources.num_env_runners=1", "--name", "d", "--engine", engine)
    assert result.exit_code == 1, result.output
    run = cli.cwd / "rlscale_runs" / "d"
    why = (f"EnvSpecError: environment '{cli.cwd / 'dies.py'}:DiesInRunner' failed to build: "
           "RuntimeError: licence server unreachable from this process; traceback in "
           f"{run / 'error.txt'}\n")
    summary = read_summary(run)
    assert summary["status"] == "failed"
    if engine == "driver":
        # The main process samples while the env runners start (resources.sample_at_once):
        # the run fails once it knows none of them can, saying what it sampled meanwhile.
        steps = summary["timesteps_total"]
        assert result.stderr == (
            "Error: training failed: NothingSampled: no env runner could start (the main "
            f"process sampled {steps:,} env steps meanwhile): " + why)
    else:
        assert result.stderr == (
            "Error: training failed: NothingSampled: no env runner could sample, 0 env "
            "steps: " + why)
        assert summary["timesteps_total"] == 0
    assert "ERROR" not in result.output and "Traceback" not in result.output
