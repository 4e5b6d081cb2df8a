"""The start-up phase lines (rlscale.startup_times): shown only when asked for."""

from __future__ import annotations

import logging
import re

import pytest

from rlscale.startup_times import ENV_VAR, LOGGER, mark, show_if_asked


def test_phase_lines_count_from_the_process_start_and_only_when_asked(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    logger = logging.getLogger(LOGGER)
    saved = logger.level
    logger.setLevel(logging.INFO)  # as the CLI leaves it without the variable
    monkeypatch.setenv(ENV_VAR, "0")
    try:
        _shown_when_asked(caplog, monkeypatch)
    finally:
        logger.setLevel(saved)


def _shown_when_asked(caplog: pytest.LogCaptureFixture,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    show_if_asked()
    mark("not shown")
    assert caplog.records == []
    monkeypatch.setenv(ENV_VAR, "1")
    show_if_asked()
    mark("experiment resolved")
    mark("first iteration")
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert [re.sub(r"^[\d.]+ s \(CPU [\d.]+ s\): ", "", line) for line in lines] == [
        "experiment resolved", "first iteration"]
    first, second = (float(line.split(" s ")[0]) for line in lines)
    assert 0.0 <= first <= second
    cpu_first, cpu_second = (float(line.split("CPU ")[1].split(" s)")[0]) for line in lines)
    assert 0.0 < cpu_first <= cpu_second
