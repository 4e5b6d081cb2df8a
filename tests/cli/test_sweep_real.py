"""``rlscale sweep`` for real: RLlib trials through Tune on the embedded local Ray."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import interrupt_rlscale, read_summary

pytestmark = pytest.mark.training

GRID = """\
env: CartPole-v1
seed: 0
stop: {iters: 2}
checkpoint: {every: 1}
search:
  algo_config.lr: {grid: [1e-3, 1e-5]}
  seeds: 2
"""


def test_grid_of_two_lrs_by_two_seeds_and_train_reruns_the_best(cli) -> None:
    (cli.cwd / "grid.yaml").write_text(GRID)
    result = cli("sweep", "grid.yaml", "--name", "g", "--num-cpus", "2")
    assert result.exit_code == 0, result.output
    assert "4 trial(s), 1 core(s) each, 2 at once on 2 core(s)" in result.stdout
    sweep = cli.cwd / "rlscale_runs" / "g"
    report = json.loads((sweep / "sweep.json").read_text())
    trials = report["trials"]
    assert len(trials) == 4
    assert sorted((t["values"]["algo_config.lr"], t["seed"]) for t in trials) == [
        (1e-5, 0), (1e-5, 1), (1e-3, 0), (1e-3, 1)]
    for trial in trials:  # every trial is a run directory, as train writes it
        run = Path(trial["path"])
        summary = read_summary(run)
        assert summary["status"] == "completed" and summary["iterations"] == 2
        assert (run / summary["best_checkpoint"]).is_dir()
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["algo_config"]["lr"] == trial["values"]["algo_config.lr"]
        assert config["seed"] == trial["seed"] and config["search"] == {}
        assert (run / "progress.csv").is_file() and (run / "versions.json").is_file()
    ranking = report["ranking"]
    assert [len(p["seeds"]) for p in ranking] == [2, 2]
    # 100x the learning rate learns more in 2 iterations, on both seeds.
    assert ranking[0]["values"] == {"algo_config.lr": 1e-3}
    assert ranking[0]["best_return_mean"] > ranking[1]["best_return_mean"]
    table = [ln.split() for ln in result.stdout.splitlines() if ln[:4].strip() in ("1", "2")]
    assert [row[:3] for row in table] == [["1", "0.001", "2"], ["2", "1e-05", "2"]]

    # runs, plot and evaluate read trials as runs; plot pools the seeds of each point.
    listed = cli("runs", str(sweep / "trials"))
    assert listed.exit_code == 0, listed.output
    assert sorted(ln.split()[0] for ln in listed.stdout.splitlines()[1:]) == [
        t["name"] for t in sorted(trials, key=lambda t: t["name"])]
    plotted = cli("plot", str(sweep / "trials"), "-o", "curves.png")
    assert plotted.exit_code == 0, plotted.output
    assert "4 run(s) in 2 curve(s)" in plotted.stdout
    assert "trial_00000, trial_00002 (mean of 2 seeds" in plotted.stdout

    best = yaml.safe_load((sweep / "best.yaml").read_text())
    assert best["algo_config"]["lr"] == 1e-3 and best["seed"] == 0 and "search" not in best
    rerun = cli("train", str(sweep / "best.yaml"), "--stop-iters", "1")
    assert rerun.exit_code == 0, rerun.output
    assert read_summary(cli.cwd / "rlscale_runs" / "g-best")["status"] == "completed"


def test_interrupted_sweep_resumes_without_rerunning_finished_trials(tmp_path: Path,
                                                                      cli) -> None:
    (tmp_path / "two.yaml").write_text(
        "env: CartPole-v1\nseed: 0\nstop: {iters: 3}\ncheckpoint: {every: 1}\n"
        "search:\n  algo_config.lr: {grid: [1e-3, 3e-4, 1e-4]}\n")
    returncode, output = interrupt_rlscale(
        "sweep", "two.yaml", "--name", "r", "--max-concurrent", "1", cwd=tmp_path,
        # The second trial's second iteration: its first checkpoint is on disk.
        when=lambda line: (line.split()[:1] == ["trial_00001"]
                           and line.split()[-4:-3] == ["2"]),
        timeout=180,
    )
    assert returncode == 130, output
    sweep = tmp_path / "rlscale_runs" / "r"
    assert f"rlscale sweep {sweep / 'sweep.yaml'} --resume" in output
    first, second = sweep / "trials" / "trial_00000", sweep / "trials" / "trial_00001"
    assert read_summary(first)["status"] == "completed"
    assert read_summary(second)["status"] == "interrupted"
    finished_at = (first / "summary.json").stat().st_mtime_ns

    cli.cwd = tmp_path
    resumed = cli("sweep", str(sweep / "sweep.yaml"), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "trial_00000" not in resumed.stdout.split("\n\n")[0], "finished trial re-ran"
    assert (first / "summary.json").stat().st_mtime_ns == finished_at
    after = read_summary(second)
    assert after["status"] == "completed" and after["iterations"] == 3
    assert after["segments"] == 2
    rows = [ln.split() for ln in resumed.stdout.splitlines()
            if ln.startswith("trial_00001") and ln.split()[2].isdigit()]
    assert rows and int(rows[0][2]) >= 2, "the trial goes on from its checkpoint"
    report = json.loads((sweep / "sweep.json").read_text())
    # The trial that had not started when the sweep was stopped ran after the resume.
    assert [t["status"] for t in report["trials"]] == ["completed"] * 3


EVAL_SWEEP = """\
env: CartPole-v1
seed: 0
stop: {iters: 2}
algo_config: {train_batch_size_per_learner: 1000, minibatch_size: 250, num_epochs: 4}
evaluation: {every: 1, episodes: 3}
tracking:
  mlflow: {uri: mlruns}
  wandb: {project: sweeps, mode: offline}
search:
  algo_config.lr: {grid: [1e-3, 1e-5]}
"""


def test_sweep_with_evaluation_ranks_by_it_and_groups_its_trials_in_tracking(
        cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    (cli.cwd / "ev.yaml").write_text(EVAL_SWEEP)
    result = cli("sweep", "ev.yaml", "--name", "evsweep-group", "--num-cpus", "2")
    assert result.exit_code == 0, result.output
    sweep = cli.cwd / "rlscale_runs" / "evsweep-group"
    report = json.loads((sweep / "sweep.json").read_text())
    for trial in report["trials"]:
        summary = read_summary(Path(trial["path"]))
        assert summary["eval_episodes"] == 3 and summary["eval_iteration"] == 2
        assert trial["best_eval_return_mean"] == summary["best_eval_return_mean"]
    # Ranked by the evaluation return, best first, and the table says so.
    ranking = report["ranking"]
    assert [p["ranked_by"] for p in ranking] == ["eval_return_mean"] * 2
    evals = [p["best_eval_return_mean"] for p in ranking]
    assert evals == sorted(evals, reverse=True) and None not in evals
    assert "best eval return" in result.stdout
    assert report["best"]["values"] == ranking[0]["values"]

    # The trials are grouped: one MLflow experiment, one W&B group, named for the sweep.
    tracking = json.loads((sweep / "tracking.json").read_text())
    assert tracking["mlflow"]["experiment"] == "evsweep-group"
    assert tracking["wandb"]["group"] == "evsweep-group"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3: folder stores opt in
    client = mlflow.MlflowClient(tracking_uri=tracking["mlflow"]["uri"])
    runs = client.search_runs([client.get_experiment_by_name("evsweep-group").experiment_id])
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    assert sorted(tracking["mlflow"]["runs"].values()) == sorted(r.info.run_id for r in runs)
    for run in runs:
        history = client.get_metric_history(run.info.run_id,
                                            "evaluation/env_runners/episode_return_mean")
        assert len(history) == 2
    offline = sorted(sweep.glob("trials/*/wandb/offline-run-*"))
    assert len(offline) == 2
    for path in offline:
        (events,) = path.glob("run-*.wandb")
        assert b"evsweep-group" in events.read_bytes()
    # The sync command recorded for the sweep names both offline runs.
    pattern = "trials/*/wandb/offline-run-*"
    assert tracking["wandb"]["sync"] == f"wandb sync {sweep}/{pattern}"
    assert sorted(sweep.glob(pattern)) == offline
