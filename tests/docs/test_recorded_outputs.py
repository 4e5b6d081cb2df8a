"""Outputs of real training runs in the docs are recorded, not generated (their times and
returns differ run by run); their shape is checked here: the progress table's header and the
summary's labels are the ones ``rlscale train`` prints today."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from rlscale.cli.progress import _HEADER, ProgressPrinter
from rlscale.results.summary import Summary

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_LABEL = re.compile(r"^([a-z_]+) {2,}\S")


def _summary_labels() -> set[str]:
    """Every label of the closing summary, from a summary with every part filled in."""
    out = io.StringIO()
    printer = ProgressPrinter(Console(file=out, width=200, highlight=False))
    summary = Summary(env="CartPole-v1", algo="PPO", status="completed", target_reward=1.0,
                      best_episode_return_mean=1.0, last_episode_return_mean=1.0,
                      best_eval_return_mean=1.0, best_eval_iteration=1, eval_return_mean=1.0,
                      eval_iteration=1, eval_episodes=1, env_restarts=1,
                      env_runner_restarts=1, first_env_fault="x")
    printer.summary(summary, "run")
    return {m[1] for line in out.getvalue().splitlines() if (m := _LABEL.match(line))}


def _training_logs() -> list[tuple[str, str]]:
    """(page, block) for every recorded block that shows a training's progress table."""
    logs = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for block in _FENCE.findall(page.read_text()):
            if "env steps" in block and "return mean" in block:
                logs.append((str(page.relative_to(ROOT)), block))
    return logs


def test_recorded_training_logs_have_todays_shape() -> None:
    labels = _summary_labels()
    logs = _training_logs()
    assert len(logs) >= 5  # the guide shows real runs
    for page, block in logs:
        lines = block.splitlines()
        headers = [line for line in lines if "env steps" in line and "return mean" in line
                   and line.lstrip().startswith("iter")]
        assert headers == [_HEADER] * len(headers), (page, headers)
        after_table = lines[lines.index(headers[0]) + 1:] if headers else []
        for line in after_table:
            if line.startswith(("$ ", "[")):  # the next command, or a job's own log lines
                break
            match = _LABEL.match(line)
            if match and not line.startswith(("rank", "trial")):
                assert match[1] in labels, (page, line)
