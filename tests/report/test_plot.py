"""``rlscale plot``: curves from progress.csv, seeds of one configuration grouped."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from rlscale.report.curves import expand_run_dirs, group_by_config, load_curve, mean_band

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_run(root: Path, name: str, seed: int, lr: float, returns: list[float],
              steps_per_iter: int = 1000) -> Path:
    """A run directory as `rlscale train` leaves it: config.yaml and a trial's progress.csv."""
    run = root / name
    trial = run / "PPO_CartPole-v1_00000"
    trial.mkdir(parents=True)
    config = {"env": "CartPole-v1", "algo": "PPO", "algo_config": {"lr": lr}, "seed": seed,
              "name": name, "output": str(root), "stop": {"reward": 450.0 + seed}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with open(trial / "progress.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["env_runners/episode_return_mean", "training_iteration",
                         "num_env_steps_sampled_lifetime", "time_total_s"])
        for i, ret in enumerate(returns, start=1):
            writer.writerow([ret, i, i * steps_per_iter + seed, 2.0 * i])
    return run


@pytest.fixture
def four_runs(tmp_path: Path) -> list[Path]:
    """Three seeds of one configuration and one run of another."""
    root = tmp_path / "runs"
    return [
        write_run(root, "ppo-s0", 0, 3e-4, [10, 20, 40, 80]),
        write_run(root, "ppo-s1", 1, 3e-4, [12, 30, 50, 90]),
        write_run(root, "ppo-s2", 2, 3e-4, [8, 16, 30, 70]),
        write_run(root, "ppo-lr1e-3", 0, 1e-3, [15, 50, 150, 300]),
    ]


def test_runs_that_differ_only_in_seed_are_grouped(four_runs: list[Path]) -> None:
    curves = [load_curve(r, "env_runners/episode_return_mean", "iterations")
              for r in four_runs]
    groups = group_by_config(curves)
    assert [g.names for g in groups] == [["ppo-s0", "ppo-s1", "ppo-s2"], ["ppo-lr1e-3"]]
    grid, mean, low, high = mean_band(groups[0], "minmax", points=4)
    assert grid.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert mean.tolist() == pytest.approx([10, 22, 40, 80])
    assert low.tolist() == [8, 16, 30, 70] and high.tolist() == [12, 30, 50, 90]
    _, mean, low, high = mean_band(groups[0], "std", points=4)
    assert high - mean == pytest.approx(np.std([[10, 20, 40, 80], [12, 30, 50, 90],
                                                 [8, 16, 30, 70]], axis=0))


def test_plot_png_and_svg(cli, four_runs: list[Path]) -> None:
    result = cli("plot", *map(str, four_runs), "-o", "curves.png", "--x", "iterations")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Wrote curves.png: 4 run(s) in 2 curve(s)",
        "  ppo-s0, ppo-s1, ppo-s2 (mean of 3 seeds, min-max): last 80.0",
        "  ppo-lr1e-3: last 300.0",
    ]
    assert (cli.cwd / "curves.png").read_bytes()[:8] == PNG_MAGIC
    # A folder of runs stands for all of them; SVG by suffix; std band.
    result = cli("plot", str(four_runs[0].parent), "-o", "curves.svg", "--band", "std",
                 "--x", "time")
    assert result.exit_code == 0, result.output
    assert "Wrote curves.svg: 4 run(s) in 2 curve(s)" in result.stdout
    assert "<svg" in (cli.cwd / "curves.svg").read_text()[:1000]


def test_plot_errors(cli, four_runs: list[Path]) -> None:
    run = str(four_runs[0])
    result = cli("plot", run, "-o", "c.png", "--metric", "env_runners/episode_return_maen")
    assert (result.exit_code, result.stderr) == (
        2, "Error: run ppo-s0 has no metric 'env_runners/episode_return_maen' "
           "(did you mean 'env_runners/episode_return_mean'?)\n")
    result = cli("plot", run, "-o", "c.jpg")
    assert (result.exit_code, result.stderr) == (
        2, "Error: -o c.jpg: the file name must end in .png or .svg\n")
    result = cli("plot", run, "-o", "c.png", "--x", "episodes")
    assert (result.exit_code, result.stderr) == (
        2, "Error: --x must be one of timesteps, time, iterations, not 'episodes'\n")
    (cli.cwd / "empty").mkdir()
    result = cli("plot", "empty", "-o", "c.png")
    assert (result.exit_code, result.stderr) == (
        2, "Error: empty is not an rlscale run directory (nor a folder of runs)\n")
    assert not (cli.cwd / "c.png").exists()


@pytest.mark.training
def test_plot_of_a_real_run(cli, trained_run: Path) -> None:
    result = cli("plot", str(trained_run), "-o", "real.png")
    assert result.exit_code == 0, result.output
    curve = load_curve(expand_run_dirs([trained_run])[0], "env_runners/episode_return_mean",
                       "timesteps")
    assert len(curve.x) == 2 and curve.x[0] > 0 and np.all(np.diff(curve.x) > 0)
    assert (cli.cwd / "real.png").read_bytes()[:8] == PNG_MAGIC


def test_missing_extra_is_named(cli, four_runs: list[Path], monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # as if not installed
    result = cli("plot", str(four_runs[0]), "-o", "c.png")
    assert (result.exit_code, result.stderr) == (
        2, "Error: rlscale plot needs optional packages that are not installed; "
           "install them with: pip install 'rlscale[report]'\n")
