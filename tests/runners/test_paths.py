"""The path contract: a local run trained in the driver (the default) and the same run
trained through Tune's trial actor (``--engine tune``) write the same run directory: the
same files, summary keys, CSV columns, TensorBoard tags and checkpoint layout; and a run
started on one path resumes on the other."""

from __future__ import annotations

import csv
import json
import re
import struct
from pathlib import Path

import pytest

import rlscale
from tests.conftest import read_summary

pytestmark = pytest.mark.training

EXPERIMENT = {"env": "CartPole-v1", "seed": 0, "resources": {"num_cpus": 1},
              "stop": {"iters": 2}, "checkpoint": {"every": 1}}
# Tune's own experiment state (its searcher and controller): not part of the contract.
TUNE_STATE = re.compile(r"^(tuner\.pkl|experiment_state-.*|basic-variant-state-.*|"
                        r"\.validate_storage_marker)$")


def _trial_dirs(run: Path) -> list[Path]:
    """The run's trial folders, oldest first (by the date that ends their names)."""
    trials = [p for p in run.iterdir() if p.is_dir() and p.name.startswith("PPO_")]
    return sorted(trials, key=lambda p: p.name[-19:])


def _files(run: Path) -> set[str]:
    """Every file of the run, trial folders named by their order (their names hold a
    random id and a date), events files by kind, Tune's state left out."""
    names = {p.name: f"trial{i}" for i, p in enumerate(_trial_dirs(run))}
    out = set()
    for path in run.rglob("*"):
        if path.is_dir() or TUNE_STATE.match(path.name):
            continue
        parts = [names.get(part, part) for part in path.relative_to(run).parts]
        if parts[-1].startswith("events.out.tfevents."):
            parts[-1] = "events.out.tfevents"
        out.add("/".join(parts))
    return out


def _columns(trial: Path) -> list[str]:
    with open(trial / "progress.csv") as handle:
        return next(csv.reader(handle))


def _tags(trial: Path) -> set[str]:
    """The scalar tags of a TensorBoard events file (TFRecord frames of Event protos)."""
    from tensorboardX.proto import event_pb2

    (events,) = trial.glob("events.out.tfevents.*")
    data, tags, i = events.read_bytes(), set(), 0
    while i < len(data):
        (length,) = struct.unpack("<Q", data[i:i + 8])
        event = event_pb2.Event()
        event.ParseFromString(data[i + 12:i + 12 + length])
        tags |= {value.tag for value in event.summary.value}
        i += 12 + length + 4
    return tags


def test_both_paths_write_the_same_run_and_resume_on_each_other(cli, tmp_path: Path) -> None:
    output = str(tmp_path / "rlscale_runs")
    rows: list[dict] = []
    # The driver path, from Python as a notebook would call it.
    summary = rlscale.train(EXPERIMENT, overrides={"name": "driver", "output": output},
                            on_result=rows.append)
    assert summary.status == "completed" and summary.iterations == 2
    assert [row["iteration"] for row in rows] == [1, 2]
    tune = cli("train", "--env", "CartPole-v1", "--seed", "0", "--num-cpus", "1",
               "--stop-iters", "2", "--checkpoint-every", "1", "--name", "tune",
               "--engine", "tune")
    assert tune.exit_code == 0, tune.output
    driver_run, tune_run = Path(summary.run_dir or ""), tmp_path / "rlscale_runs" / "tune"
    assert driver_run == tmp_path / "rlscale_runs" / "driver"

    assert _files(driver_run) == _files(tune_run)
    assert "trial0/checkpoint_000001/learner_group/learner/rl_module/default_policy/" \
           "module_state.pkl" in _files(driver_run)
    driver_summary, tune_summary = read_summary(driver_run), read_summary(tune_run)
    assert driver_summary.keys() == tune_summary.keys()
    (driver_trial,), (tune_trial,) = _trial_dirs(driver_run), _trial_dirs(tune_run)
    # (their order follows the order RLlib first logs each metric in, not a contract)
    assert sorted(_columns(driver_trial)) == sorted(_columns(tune_trial))
    assert _tags(driver_trial) == _tags(tune_trial)
    first = [json.loads(line) for line in (driver_trial / "result.json").read_text().splitlines()]
    tune_first = [json.loads(line)
                  for line in (tune_trial / "result.json").read_text().splitlines()]
    assert first[0].keys() == tune_first[0].keys()
    # The same seed samples the same first episodes on both paths.
    assert first[0]["env_runners"]["episode_return_mean"] == pytest.approx(
        tune_first[0]["env_runners"]["episode_return_mean"])
    assert driver_summary["checkpoints"][-1]["path"].startswith(driver_trial.name)

    # Each run resumes on the other path: counters go on, one more trial folder each.
    to_tune = cli("train", str(driver_run / "config.yaml"), "--resume", "--stop-iters", "3",
                  "--engine", "tune")
    assert to_tune.exit_code == 0, to_tune.output
    to_driver = cli("train", str(tune_run / "config.yaml"), "--resume", "--stop-iters", "3")
    assert to_driver.exit_code == 0, to_driver.output
    for run, before in ((driver_run, driver_summary), (tune_run, tune_summary)):
        after = read_summary(run)
        assert (after["iterations"], after["segments"]) == (3, 2)
        assert after["timesteps_total"] > before["timesteps_total"]
        assert after["time_total_s"] > before["time_total_s"]
        assert len(_trial_dirs(run)) == 2
    assert _files(driver_run) == _files(tune_run)
    for output_text in (to_tune.stdout, to_driver.stdout):
        rows_shown = [ln.split() for ln in output_text.splitlines() if ln.strip()[:1].isdigit()]
        assert [int(r[0]) for r in rows_shown] == [3]


def test_the_driver_path_refuses_a_cluster(cli) -> None:
    result = cli("train", "--env", "CartPole-v1", "--address", "127.0.0.1:1",
                 "--engine", "driver")
    assert result.exit_code == 2
    assert result.stderr == ("Error: engine 'driver' trains local runs only; a run on a Ray "
                             "cluster (--address) trains through Tune\n")
    result = cli("train", "--env", "CartPole-v1", "--engine", "drivr")
    assert result.stderr == ("Error: unknown engine 'drivr' (did you mean 'driver'?); use one "
                             "of auto, driver, tune\n")
