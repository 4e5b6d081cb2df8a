"""``rlscale sweep`` with bad input, and ``--dry-run``: nothing starts, nothing is written.

The one-line refusals of bad flags and keys are in test_bad_input.py's table, with every
other command's."""

from __future__ import annotations

import importlib.util

from tests.cli.test_bad_input import SWEEP_GRID
from tests.conftest import assert_error


def test_a_sweep_needs_a_budget_per_trial(cli) -> None:
    assert_error(cli("sweep", "--env", "CartPole-v1", "--search", "seeds=2"),
                 "a sweep needs a budget per trial: set stop.iters, stop.timesteps or "
                 "stop.time_s (--stop-iters, --stop-timesteps, --stop-time)", cli.cwd)


def test_missing_searcher_names_the_extra(cli, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    assert_error(cli("sweep", *SWEEP_GRID, "--search", "algo_config.lr={uniform: [0.001, 0.01]}",
                     "--search-alg", "optuna"),
                 "--search-alg optuna needs the optional extra: pip install 'rlscale[optuna]'",
                 cli.cwd)


def test_train_refuses_an_experiment_with_a_search_block(cli) -> None:
    (cli.cwd / "exp.yaml").write_text("env: CartPole-v1\nsearch:\n  seeds: 2\n")
    assert_error(cli("train", "exp.yaml"),
                 "the experiment has a search block: run it with rlscale sweep (train trains "
                 "one configuration)", cli.cwd)


def test_existing_sweep_is_not_clobbered(cli) -> None:
    sweep = cli.cwd / "rlscale_runs" / "mine"
    sweep.mkdir(parents=True)
    (sweep / "sweep.yaml").write_text("env: CartPole-v1\n")
    result = cli("sweep", *SWEEP_GRID, "--search", "seeds=2", "--name", "mine")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: sweep directory {sweep} already exists; use --resume to "
                             "continue it or --overwrite to replace it\n")
    assert [p.name for p in sweep.iterdir()] == ["sweep.yaml"]


def test_dry_run_counts_trials_and_fits_them_on_the_cores(cli) -> None:
    from rlscale.algos.plan import PlanReason, Reason, trial_bundles_reason
    from tests.plan_reasons import said

    (cli.cwd / "grid.yaml").write_text(
        "env: CartPole-v1\nseed: 3\nstop: {iters: 2}\nsearch:\n"
        "  algo_config.lr: {grid: [1e-3, 3e-4]}\n  algo_config.num_epochs: {choice: [2, 4]}\n"
        "  seeds: 2\n")
    result = cli("sweep", "grid.yaml", "--num-cpus", "2", "--samples", "3",
                 "--max-concurrent", "8", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Trials   12 (2 grid point(s) x 2 seed(s) x 3 sample(s))" in out
    assert "  algo_config.lr                   grid [0.001, 0.0003]" in out
    assert "  seeds                            2 (seed 3..4)" in out
    assert "At once  2 trial(s) of 1 core(s) on 2 core(s)" in out
    assert said(trial_bundles_reason({"CPU": 1.0})) in out
    assert said(Reason(PlanReason.SWEEP_CONCURRENCY_CAPPED, {"max_concurrent": 8, "fit": 2})) \
        in out
    assert not (cli.cwd / "rlscale_runs").exists()


def test_dry_run_two_cores_per_trial(cli) -> None:
    from rlscale.algos.plan import trial_bundles_reason
    from tests.plan_reasons import said

    result = cli("sweep", "--env", "CartPole-v1", "--stop-iters", "2", "--search", "seeds=4",
                 "--num-cpus", "5", "--cpus-per-trial", "2", "--dry-run")
    assert result.exit_code == 0, result.output
    # 2 cores, PPO: the main process samples itself, on both cores of its bundle.
    assert "  num_env_runners            0" in result.stdout
    assert "  num_cpus_for_main_process  2" in result.stdout
    assert said(trial_bundles_reason({"CPU": 2.0})) in result.stdout
    assert "At once  2 trial(s) of 2 core(s) on 5 core(s)" in result.stdout
