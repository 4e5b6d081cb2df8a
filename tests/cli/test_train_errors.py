"""``rlscale train`` with bad input: one line on stderr, exit code 2, nothing written.

The one-line refusals of bad flags and keys are in test_bad_input.py's table, with every
other command's."""

from __future__ import annotations

import pytest

from rlscale.runners.session import local_capacity
from tests.conftest import assert_error


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
