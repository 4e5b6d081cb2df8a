"""The generated benchmarks page is current with the JSON results (pure: no Ray, no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import goals  # noqa: E402
import render_page  # noqa: E402


def test_the_page_is_current_with_the_results() -> None:
    results = render_page.load_results()
    text = render_page.render(results)
    assert render_page.PAGE.read_text() == text, (
        "docs/benchmarks-current.md is stale: run python benchmarks/render_page.py")
    scaling = render_page.SCALING_PAGE.read_text()
    assert render_page.render_scaling_page(scaling, results) == scaling, (
        "docs/scaling.md's validation table is stale: run python benchmarks/render_page.py")


def _run(seconds: float | None, startup: float) -> dict:
    return {"seed": 0, "seconds": seconds, "steps": 1000, "startup": startup, "best": None}


def test_goals_compare_against_the_better_sb3_and_render() -> None:
    env = "SlowCartPole-0.5ms-v0"
    result = {
        "date": "2026-12-06T20:00:00Z", "command": "python benchmarks/goals.py",
        "machine": {"cores": 2, "cpu": "x86_64", "load_at_start": "1.0 1.0 1.0",
                    "load_at_end": "1.0 1.0 1.0"},
        "seeds": 1, "caps": {env: 60.0},
        "time_to_target": {env: {
            "rlscale": [_run(30.0, 6.0)], "rlscale async": [_run(None, 6.0)],
            "SB3 1 process": [_run(20.0, 2.0)], "SB3 per core": [_run(25.0, 3.0)]}},
        "scaling": [{"env": env, "pilot_cores": 1, "cores": 2, "predicted": 1100.0,
                     "measured": 1000.0, "error": 0.1, "bound": "env"}],
    }
    found = {g["goal"]: g for g in goals.goals_of(result)}
    # SB3's better (one process, 20 s) is the peer: 30 / 20; a miss counts as the cap.
    assert found["slow_0.5ms rlscale"]["figure"] == 1.5
    assert found["slow_0.5ms rlscale"]["met"] is False
    # rlscale async missed the target: the cap over SB3's time is no figure.
    assert found["slow_0.5ms rlscale async"]["figure"] is None
    assert found["slow_0.5ms rlscale async"]["met"] is None
    assert found["startup_two_runners"]["figure"] == 3.0
    assert found["scaling_error"] == {**found["scaling_error"], "figure": 0.1, "met": True}
    result["goals"] = list(found.values())
    page = render_page.render([result])
    assert "| SlowCartPole-0.5ms-v0 to 150: rlscale / SB3 better of 1 process / per core " \
        "| 1.5 | 1 | **not met** |" in page
    assert "| SlowCartPole-0.5ms-v0 | 1 | 2 | 1,100 | 1,000 | +10% | env |" in page
