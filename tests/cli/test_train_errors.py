"""``rlscale train`` with bad input: one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import pytest

from rlscale.runners.session import local_capacity
from tests.conftest import assert_error


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "CartPole-v2"],
         "unknown environment 'CartPole-v2' (did you mean 'CartPole-v1'?)"),
        (["--env", "CartPole-v1", "--algo", "PPOO"],
         "unknown algorithm 'PPOO' (did you mean 'PPO'?); available: PPO, APPO, IMPALA, DQN, "
         "SAC, TQC"),
        (["--env", "CartPole-v1", "--algo", "BC"],
         "algorithm 'BC' learns from offline data; rlscale trains online (use one of PPO, APPO, "
         "IMPALA, DQN, SAC, TQC)"),
        (["--env", "Pendulum-v1", "--algo", "DQN"],
         "DQN cannot handle the action space Box(-2.0, 2.0, (1,), float32) (DQN supports "
         "Discrete actions); use SAC (continuous or discrete) or PPO (any) instead"),
        (["--env", "CartPole-v1", "--set", "algo_config.lrr=0.1"],
         "unknown key 'algo_config.lrr' for PPO (did you mean 'lr'?)"),
        (["--env", "CartPole-v1", "--set", "algo_config.lr=fast"],
         "algo_config.lr: expected a number (or a [[timestep, value], ...] schedule), got 'fast'"),
        (["--env", "CartPole-v1", "--set", "algo_config.rollout_fragment_length=long"],
         "algo_config.rollout_fragment_length: expected a number or \"auto\", got 'long'"),
        (["--env", "CartPole-v1", "--set", "algo_config.num_workers=4"],
         "algo_config.num_workers is set by rlscale: use resources.num_cpus (--num-cpus) or "
         "resources.num_env_runners"),
        (["--env", "CartPole-v1", "--set", "algo_config.model.fcnet_hidens=[8]"],
         "unknown key 'algo_config.model.fcnet_hidens' (did you mean 'fcnet_hiddens'?)"),
        # 2 cores: on more the plan grows the preset's batch of 1,024 with the env runners.
        (["--env", "CartPole-v1", "--num-cpus", "2", "--set", "algo_config.minibatch_size=5000"],
         "invalid PPO settings: `minibatch_size` (5000) must be <= `train_batch_size_per_learner`"
         " (1024). In PPO, the train batch will be split into 5000 chunks, each of which is "
         "iterated over (used for updating the policy) 10 times."),
        (["--env", "CartPole-v1", "--num-cpus", "0"],
         "resources.num_cpus (--num-cpus): input should be greater than or equal to 1 (got 0)"),
        (["--env", "CartPole-v1", "--resume"],
         "--resume needs the run to continue: pass its config.yaml (rlscale train "
         "RUN_DIR/config.yaml --resume) or --name NAME"),
        (["--env", "CartPole-v1", "--resume", "--overwrite"],
         "--resume and --overwrite cannot be used together"),
        (["--env", "CartPole-v1", "--stop-iters", "0"],
         "stop.iters (--stop-iters): input should be greater than or equal to 1 (got 0)"),
        (["missing.yaml"], "experiment file not found: missing.yaml"),
    ],
)
def test_bad_input(cli, args: list[str], message: str) -> None:
    assert_error(cli("train", *args), message, cli.cwd)


def test_unknown_key_in_experiment_file(cli) -> None:
    (cli.cwd / "exp.yaml").write_text("env: CartPole-v1\nalgo: PPO\nstop:\n  reward: 10\n"
                                      "checkpont: {every: 2}\n")
    assert_error(cli("train", "exp.yaml"),
                 "unknown key 'checkpont' (did you mean 'checkpoint'?)", cli.cwd)


@pytest.mark.skipif(local_capacity().gpus > 0, reason="this machine has a GPU")
def test_missing_gpu(cli) -> None:
    assert_error(cli("train", "--env", "CartPole-v1", "--num-gpus", "1"),
                 "--num-gpus 1 asked for, but only 0 GPU(s) available", cli.cwd)


@pytest.mark.parametrize(("name", "files", "args", "message"), [
    ("mine", {"config.yaml": "env: CartPole-v1\n", "summary.json": "{}"}, ["--stop-iters", "1"],
     "run directory {run} already exists; use --resume to continue it or --overwrite to "
     "replace it"),
    ("data", {"thesis.tex": "years of work"}, ["--overwrite"],
     "{run} exists and is not an rlscale run; refusing to delete it"),
    ("ghost", {}, ["--resume"], "nothing to resume: {run} is not an rlscale run"),
    ("bare", {"summary.json": "{}"}, ["--resume"],
     "cannot resume {run}: its config.yaml is missing"),
], ids=["existing-run-not-clobbered", "overwrite-of-a-folder-not-a-run", "resume-of-a-missing-run",
        "resume-of-a-run-without-its-config"])
def test_a_run_directory_is_refused_and_left_as_it_was(
    cli, name: str, files: dict[str, str], args: list[str], message: str
) -> None:
    run = cli.cwd / "rlscale_runs" / name
    for file, text in files.items():
        run.mkdir(parents=True, exist_ok=True)
        (run / file).write_text(text)
    result = cli("train", "--env", "CartPole-v1", "--name", name, *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message.format(run=run)}\n"
    if files:
        assert {p.name: p.read_text() for p in run.iterdir()} == files
    else:
        assert not run.exists()
