"""A run whose ``summary.json`` or ``config.yaml`` is truncated or corrupt is listed by
``rlscale runs`` as ``unreadable (<file>: <reason>)``, never hidden; ``--resume``,
``status`` and ``evaluate`` on it are one-line errors that leave its files as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlscale.results.rundir import UnreadableFile, read_summary
from rlscale.results.summary import COMPLETED, CheckpointRecord, Summary
from tests.conftest import Cli


def _run(root: Path, name: str) -> Path:
    """A finished run with one checkpoint (its files only: no training needed here)."""
    run = root / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(
        f"env: CartPole-v1\nalgo: PPO\nname: {name}\noutput: {root}\n"
    )
    summary = Summary(env="CartPole-v1", algo="PPO", status=COMPLETED, iterations=2,
                      timesteps_total=2048, best_episode_return_mean=30.5,
                      checkpoints=[CheckpointRecord("t/checkpoint_000001", 2, 2048, 3.0, 30.5)])
    summary.write(run)
    return run


def _files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir())}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "rlscale_runs"
    _run(root, "good")
    truncated = _run(root, "truncated")
    text = (truncated / "summary.json").read_text()
    # Cut inside the first value (line 2), wherever the summary's later keys fall.
    (truncated / "summary.json").write_text(text[: text.index('"CartPole') + 5])
    corrupt = _run(root, "corrupt-config")
    (corrupt / "config.yaml").write_text("env: CartPole-v1\nalgo: [PPO\n")
    binary = _run(root, "binary-summary")
    (binary / "summary.json").write_bytes(b"\x00\xff\xfe\x01")
    wrong = _run(root, "wrong-types")
    (wrong / "summary.json").write_text(json.dumps({"env": "CartPole-v1", "algo": "PPO",
                                                    "iterations": "many"}))
    return root


def test_runs_lists_every_run_with_the_reason(cli: Cli, runs: Path) -> None:
    result = cli("runs")
    assert result.exit_code == 0, result.output
    status = {r["name"]: r["status"] for r in json.loads(cli("runs", "--json").stdout)}
    assert status == {
        "good": "completed",
        "truncated": "unreadable (summary.json: truncated: Unterminated string starting at "
                     "(line 2))",
        "corrupt-config": "unreadable (config.yaml: not valid YAML at line 3)",
        "binary-summary": "unreadable (summary.json: not UTF-8 text at byte 1)",
        "wrong-types": "unreadable (summary.json: wrong type of iterations)",
    }
    table = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert set(table) == set(status)
    assert "unreadable (summary.json: truncated" in table["truncated"]
    # The readable summary of a run with a corrupt config.yaml still gives its figures.
    assert "30.5" in table["corrupt-config"]


@pytest.mark.parametrize(("name", "args", "message"), [
    ("truncated", ["RUN/config.yaml"],
     "cannot resume RUN: its summary.json is unreadable (truncated: Unterminated string "
     "starting at (line 2))"),
    ("binary-summary", ["RUN/config.yaml"],
     "cannot resume RUN: its summary.json is unreadable (not UTF-8 text at byte 1)"),
    ("corrupt-config", ["--env", "CartPole-v1", "--name", "corrupt-config"],
     "cannot resume RUN: its config.yaml is unreadable (not valid YAML at line 3)"),
    ("corrupt-config", ["RUN/config.yaml"],
     "RUN/config.yaml: malformed YAML (line 3): expected ',' or ']', but got '<stream end>'"),
])
def test_resume_is_one_line_and_changes_nothing(
    cli: Cli, runs: Path, name: str, args: list[str], message: str
) -> None:
    run = runs / name
    before = _files(run)
    result = cli("train", *[a.replace("RUN", str(run)) for a in args], "--resume")
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message.replace('RUN', str(run))}\n"
    assert result.stdout == ""
    assert _files(run) == before


def test_status_and_evaluate_are_one_line(cli: Cli, runs: Path) -> None:
    run = runs / "truncated"
    reason = "truncated: Unterminated string starting at (line 2)"
    for command in ("status", "evaluate"):
        result = cli(command, str(run))
        assert result.exit_code == 2, result.output
        assert result.stderr == f"Error: {run / 'summary.json'}: unreadable ({reason})\n"
        assert "Traceback" not in result.output


def test_read_summary_names_the_reason(tmp_path: Path) -> None:
    run = _run(tmp_path, "r")
    assert read_summary(run).best_episode_return_mean == 30.5
    for text, reason in [("", "truncated: Expecting value (line 1)"),
                         ("[1, 2]", "not a JSON object: a list"),
                         ('{"env": "x"}', "no algo"),
                         ('{"env": "x", "algo": "PPO", "checkpoints": [1]}',
                          "not a run summary: TypeError")]:
        (run / "summary.json").write_text(text)
        with pytest.raises(UnreadableFile) as caught:
            read_summary(run)
        assert caught.value.reason == reason
