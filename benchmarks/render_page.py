"""Render docs/benchmarks-current.md from the JSON results of benchmarks/goals.py, and the
validation table of docs/scaling.md (the newest result's scaling prediction against the
measured steps/s, between its ``<!-- benchmarks:scaling-validation -->`` markers).

How to run: python benchmarks/render_page.py [--check]
What to expect: docs/benchmarks-current.md rewritten: the newest result as the current
table (each goal's figure, its limit, met or not; the time-to-target runs; the scaling
prediction against the measured steps/s), then one history row per older result; the
table in docs/scaling.md rewritten. With --check it writes nothing and exits 1 when a page
is not what the results render to (tests/benchmarks/test_benchmarks_page.py does the same).
Only the scaling validation (1 against 2 cores on the 0.5 ms simulator, a few minutes):
python benchmarks/goals.py --envs "" --step-costs "" then this.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PAGE = HERE.parent / "docs" / "benchmarks-current.md"
PATTERN = "goals-*.json"
SCALING_PAGE = HERE.parent / "docs" / "scaling.md"
SCALING_MARKERS = ("<!-- benchmarks:scaling-validation -->\n",
                   "<!-- /benchmarks:scaling-validation -->")


def load_results(folder: Path = RESULTS) -> list[dict[str, Any]]:
    """Every result in ``folder``, newest first."""
    found = [json.loads(p.read_text()) for p in sorted(folder.glob(PATTERN))]
    return sorted(found, key=lambda r: r["date"], reverse=True)


def _num(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _met(goal: dict[str, Any]) -> str:
    return {True: "met", False: "**not met**", None: "-"}[goal.get("met")]


def _current(result: dict[str, Any]) -> list[str]:
    machine = result["machine"]
    lines = [
        f"## Current: {result['date']}",
        "",
        f"`{result['command']}` on {machine['cores']} cores ({machine['cpu']}), "
        f"{result['seeds']} seed(s); load averages (1, 5, 15 min) {machine['load_at_start']} "
        f"at the start, {machine.get('load_at_end', '-')} at the end.",
        "",
        "| goal | figure | limit | |",
        "|---|---|---|---|",
    ]
    for goal in result.get("goals", []):
        what = goal["what"].replace("|", "\\|")  # a Markdown cell holds no bare "|"
        lines.append(f"| {what} | {_num(goal['figure'], '.3g')} | "
                     f"{_num(goal['limit'], 'g')} | {_met(goal)} |")
    lines += ["", "### Time to target", "",
              "| env | contestant | runs | reached | median s (missed: the cap) | "
              "median start-up s | median env steps |", "|---|---|---|---|---|---|---|"]
    for env, contestants in result.get("time_to_target", {}).items():
        cap = result.get("caps", {}).get(env)
        for name, runs in contestants.items():
            if not runs:
                lines.append(f"| {env} | {name} | 0 | | not run | | |")
                continue
            secs = [r["seconds"] if r["seconds"] is not None else cap for r in runs]
            starts = [r["startup"] for r in runs if r["startup"] is not None]
            reached = sum(r["seconds"] is not None for r in runs)
            lines.append(
                f"| {env} | {name} | {len(runs)} | {reached} | "
                f"{_num(statistics.median(secs), '.1f')} | "
                f"{_num(statistics.median(starts) if starts else None, '.1f')} | "
                f"{statistics.median(r['steps'] for r in runs):,.0f} |")
    scaling = result.get("scaling", [])
    if scaling:
        lines += ["", "### Scaling prediction against measured env steps/s", "",
                  *_scaling_table(scaling)]
    return lines


def _scaling_table(scaling: list[dict[str, Any]]) -> list[str]:
    lines = ["| env | pilot run's cores | cores | predicted steps/s | measured steps/s | "
             "error | bound |", "|---|---|---|---|---|---|---|"]
    for row in scaling:
        lines.append(f"| {row['env']} | {row['pilot_cores']} | {row['cores']} | "
                     f"{_num(row['predicted'], ',.0f')} | {_num(row['measured'], ',.0f')} | "
                     f"{_num(None if row['error'] is None else 100 * row['error'], '+.0f')}% "
                     f"| {row['bound']} |")
    return lines


def scaling_validation(results: list[dict[str, Any]]) -> str:
    """The block of docs/scaling.md: the newest result's scaling rows, with where and under
    what load they were measured."""
    result = next((r for r in results if r.get("scaling")), None)
    if result is None:
        return "No measurement yet: run `python benchmarks/goals.py`.\n"
    machine = result["machine"]
    lines = [f"Measured by `{result['command']}` on {result['date']}, {machine['cores']} "
             f"cores ({machine['cpu']}); load averages (1, 5, 15 min) "
             f"{machine['load_at_start']} at the start, {machine.get('load_at_end', '-')} at "
             "the end (other work on the machine slows the runs, not always both alike). "
             "Each run is the pilot that predicts the other:", "",
             *_scaling_table(result["scaling"])]
    return "\n".join(lines) + "\n"


def render_scaling_page(text: str, results: list[dict[str, Any]]) -> str:
    """``text`` (docs/scaling.md) with its validation block rendered from ``results``."""
    start, end = SCALING_MARKERS
    head, found, rest = text.partition(start)
    if not found or end not in rest:
        raise SystemExit(f"{SCALING_PAGE} has no {start.strip()} ... {end} block")
    return head + start + scaling_validation(results) + end + rest.split(end, 1)[1]


def _history(results: list[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for result in results:
        for goal in result.get("goals", []):
            if goal["goal"] not in keys:
                keys.append(goal["goal"])
    lines = ["## History", "", "Every result, newest first: each goal's figure.", "",
             "| date | cores | seeds | load at start | " + " | ".join(keys) + " |",
             "|---|---|---|---|" + "---|" * len(keys)]
    for result in results:
        figures = {g["goal"]: g["figure"] for g in result.get("goals", [])}
        lines.append(f"| {result['date']} | {result['machine']['cores']} | {result['seeds']} | "
                     f"{result['machine']['load_at_start']} | "
                     + " | ".join(_num(figures.get(k), ".3g") for k in keys) + " |")
    return lines


def render(results: list[dict[str, Any]]) -> str:
    """The page for ``results`` (newest first)."""
    lines = ["# Benchmarks: current figures", "",
             "Generated by `python benchmarks/render_page.py` from "
             "`benchmarks/results/goals-*.json` (written by `python benchmarks/goals.py`); "
             "do not edit by hand. How each figure is measured: `benchmarks/goals.py`'s "
             "docstring; the older hand-written runs: [benchmarks.md](benchmarks.md).", ""]
    if not results:
        lines.append("No result yet: run `python benchmarks/goals.py`.")
    else:
        lines += _current(results[0]) + [""] + _history(results)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when the page is not current")
    args = parser.parse_args()
    results = load_results()
    pages = {PAGE: render(results),
             SCALING_PAGE: render_scaling_page(SCALING_PAGE.read_text(), results)}
    for page, text in pages.items():
        current = page.read_text() if page.exists() else ""
        if args.check:
            if current != text:
                print(f"{page} is not current: run python benchmarks/render_page.py")
                sys.exit(1)
            continue
        tmp = page.with_suffix(".md.tmp")
        tmp.write_text(text)
        tmp.replace(page)
        print(f"written {page}")


if __name__ == "__main__":
    main()
