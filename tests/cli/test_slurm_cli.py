"""``rlscale slurm`` without a Slurm: the scripts it writes and the errors it gives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml


def test_gpu_learner_node_dry_run_is_a_valid_heterogeneous_job(cli) -> None:
    result = cli("slurm", "--env", "CartPole-v1", "--nodes", "4", "--gpu-learner-node",
                 "--cpus-per-node", "36", "--time", "08:00:00", "--partition", "standard",
                 "--gpu-partition", "gpu", "--account", "proj", "--setup",
                 "module load cuda; source venv/bin/activate", "--name", "g", "--dry-run")
    assert result.exit_code == 0, result.output
    script = result.stdout
    run = cli.cwd / "rlscale_runs" / "g"
    assert (run / "job.sbatch").read_text() == script
    subprocess.run(["bash", "-n", str(run / "job.sbatch")], check=True)
    header = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert header == [
        "#SBATCH --job-name=g",
        f"#SBATCH --output={run}/slurm-%j.out",
        "#SBATCH --open-mode=append",
        "#SBATCH --time=08:00:00",
        "#SBATCH --signal=B:USR1@300",
        "#SBATCH --requeue",
        "#SBATCH --nodes=3", "#SBATCH --ntasks-per-node=1", "#SBATCH --cpus-per-task=36",
        "#SBATCH --partition=standard", "#SBATCH --account=proj",
        "#SBATCH hetjob",
        "#SBATCH --nodes=1", "#SBATCH --ntasks-per-node=1", "#SBATCH --cpus-per-task=36",
        "#SBATCH --gpus-per-node=1", "#SBATCH --partition=gpu", "#SBATCH --account=proj",
    ]
    assert "module load cuda; source venv/bin/activate" in script
    assert "RAY_NODES=4" in script and "--het-group=1" in script
    # The learner gets the GPU node's GPU: the experiment the job trains asks for it.
    experiment = yaml.safe_load((run / "slurm-experiment.yaml").read_text())
    assert experiment["resources"]["num_gpus"] == 1.0
    assert experiment["name"] == "g" and experiment["output"] == str(cli.cwd / "rlscale_runs")


def test_default_job_uses_whole_nodes_and_this_environment(cli) -> None:
    result = cli("slurm", "--env", "CartPole-v1", "--nodes", "2", "--time", "1-00:00:00",
                 "--name", "w")
    assert result.exit_code == 0, result.output
    script = (cli.cwd / "rlscale_runs" / "w" / "job.sbatch").read_text()
    assert "#SBATCH --exclusive" in script and "#SBATCH --time=1-00:00:00" in script
    assert "hetjob" not in script and "export PATH=" in script
    assert result.stdout.startswith(f"Wrote {cli.cwd / 'rlscale_runs' / 'w' / 'job.sbatch'}")
    again = cli("slurm", "--env", "CartPole-v1", "--nodes", "2", "--time", "10", "--name", "w")
    assert again.exit_code == 2
    assert again.stderr == (f"Error: {cli.cwd / 'rlscale_runs' / 'w' / 'job.sbatch'} already "
                            "exists; use --overwrite to replace it\n")
    status = cli("status", str(cli.cwd / "rlscale_runs" / "w"))
    assert status.exit_code == 2 and "its job was written but not submitted" in status.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--nodes", "1", "--gpu-learner-node", "--time", "01:00:00"],
     "--gpu-learner-node needs --nodes 2 or more: CPU nodes for env runners plus one GPU "
     "node for the learner"),
    (["--nodes", "2", "--cpus-per-node", "1", "--num-cpus", "4", "--time", "01:00:00"],
     "--num-cpus 4 is more than the 2 CPUs available"),
    (["--nodes", "2", "--cpus-per-node", "4", "--num-gpus", "1", "--time", "01:00:00"],
     "--num-gpus 1 asked for, but only 0 GPU(s) available"),
    (["--nodes", "2", "--time", "1:00:00:00"],
     "--time must look like HH:MM:SS or D-HH:MM:SS, got '1:00:00:00'"),
    (["--nodes", "2", "--time", "00:01:00"],
     "--signal-lead 300 s must be shorter than --time 00:01:00"),
    (["--nodes", "2", "--time", "01:00:00", "--dry-run", "--submit"],
     "--dry-run and --submit cannot be used together"),
])
def test_bad_requests_are_one_line_errors_and_write_nothing(cli, args, message) -> None:
    result = cli("slurm", "--env", "CartPole-v1", "--name", "bad", *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert not (cli.cwd / "rlscale_runs").exists()


def test_status_of_a_plain_run_and_of_nothing(cli, tmp_path: Path) -> None:
    result = cli("status", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'nope'} is not an rlscale run " \
        "(no summary.json or slurm.json)\n"


EVAL_AND_TRACKING = ("eval_every", "eval_episodes", "mlflow", "wandb")


def test_evaluation_and_tracking_flags_are_the_same_on_train_sweep_and_slurm() -> None:
    import typer.main

    from rlscale.cli.app import app

    group = typer.main.get_command(app)
    params = {name: {p.name: p for p in group.commands[name].params}  # type: ignore[attr-defined]
              for name in ("train", "sweep", "slurm")}
    for key in EVAL_AND_TRACKING:
        train = params["train"][key]
        for other in ("sweep", "slurm"):
            assert (params[other][key].opts, params[other][key].help) == (train.opts, train.help)


def test_slurm_evaluation_and_tracking_flags_reach_the_jobs_experiment(cli) -> None:
    result = cli("slurm", "--env", "CartPole-v1", "--nodes", "2", "--time", "00:10:00",
                 "--name", "ev", "--eval-every", "3", "--eval-episodes", "4",
                 "--mlflow", "mlruns", "--wandb", "proj", "--set", "tracking.wandb.mode=offline")
    assert result.exit_code == 0, result.output
    experiment = yaml.safe_load(
        (cli.cwd / "rlscale_runs" / "ev" / "slurm-experiment.yaml").read_text())
    assert experiment["evaluation"] == {"every": 3, "episodes": 4, "explore": False,
                                        "max_episode_steps": None}
    # A folder store is made absolute: the job finds it whatever folder sbatch runs in.
    assert experiment["tracking"]["mlflow"]["uri"] == (cli.cwd / "mlruns").resolve().as_uri()
    assert experiment["tracking"]["wandb"]["project"] == "proj"
    assert experiment["tracking"]["wandb"]["mode"] == "offline"
