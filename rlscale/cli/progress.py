"""The progress display of a training run (owned by the CLI)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.text import Text

from rlscale.results.summary import Summary
from rlscale.startup_times import process_start

__all__ = ["ProgressPrinter", "process_start"]

_HEADER = f"{'iter':>5} {'env steps':>11} {'return mean':>12} {'steps/s':>9} {'elapsed':>9}"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


class ProgressPrinter:
    """One row per training iteration, then a final summary."""

    def __init__(self, console: Console | None = None, start: float | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.start = start if start is not None else time.monotonic()
        self._header_done = False
        self._evaluated = False

    def row(self, row: dict[str, Any]) -> None:
        """Print one iteration's row (the header before the first)."""
        if not self._header_done:
            self.console.print(f"[bold]{_HEADER}[/bold]")
            self._header_done = True
        elapsed = time.monotonic() - self.start
        # With evaluation: the last evaluation's return, from the first one on.
        last_eval = row.get("eval_return_mean")
        self._evaluated = self._evaluated or last_eval is not None
        tail = f"  eval {_fmt(last_eval, '.1f')}" if self._evaluated else ""
        ret = _fmt(row['episode_return_mean'], '.1f')
        per_step = row.get("reward_per_step_mean")
        if row['episode_return_mean'] is None and per_step is not None:
            ret = f"{per_step:.3g}/step"  # no episode ended yet: a continuing task?
        self.console.print(
            f"{row['iteration']:>5} {row['env_steps']:>11,} "
            f"{ret:>12} "
            f"{_fmt(row['env_steps_per_s'], ',.0f'):>9} {elapsed:>8.1f}s{tail}"
        )
        self._faults(row)

    def _faults(self, row: dict[str, Any]) -> None:
        """A line under an iteration in which envs or env runners were restarted."""
        env, runner = row.get("env_restarts", 0), row.get("env_runner_restarts", 0)
        if not env and not runner:
            return
        parts = []
        if env:
            parts.append(f"{env} env restart(s) ({row.get('total_env_restarts', env)} in all)")
        if runner:
            parts.append(f"{runner} env-runner restart(s) "
                         f"({row.get('total_env_runner_restarts', runner)} in all)")
        first = row.get("first_env_fault")
        suffix = f"; first: {first}" if first else ""
        # Text, not markup: an env's message may hold brackets.
        self.console.print(Text(f"      {', '.join(parts)}{suffix}", style="yellow"))

    def summary(self, summary: Summary, run_dir: str) -> None:
        """The closing block: status, returns, counters, where things are."""
        lines = {
            "status": summary.status,
            "reached_target": str(summary.reached_target).lower()
            if summary.target_reward is not None else "n/a (no --stop-reward)",
            "best_episode_return_mean": _fmt(summary.best_episode_return_mean, ".1f"),
            "last_episode_return_mean": _fmt(summary.last_episode_return_mean, ".1f"),
            **({"last_reward_per_step_mean": f"{summary.last_reward_per_step_mean:.4g} "
                "(no episode ended)"}
               if summary.last_episode_return_mean is None
               and summary.last_reward_per_step_mean is not None else {}),
            **({
                "best_eval_return_mean": f"{summary.best_eval_return_mean:.1f} "
                f"(iteration {summary.best_eval_iteration})",
                "last_eval_return_mean": f"{_fmt(summary.eval_return_mean, '.1f')} "
                f"(iteration {summary.eval_iteration}, {summary.eval_episodes} episodes)",
            } if summary.best_eval_return_mean is not None else {}),
            "timesteps_total": f"{summary.timesteps_total:,}",
            "iterations": str(summary.iterations),
            "time_total_s": f"{summary.time_total_s:.1f}",
            "wall_clock_s": f"{time.monotonic() - self.start:.1f}",
            "run_dir": run_dir,
            "best_checkpoint": summary.best_checkpoint or "-",
        }
        if summary.env_restarts or summary.env_runner_restarts:
            lines["env_restarts"] = f"{summary.env_restarts} ({summary.failed_episodes} " \
                "episode(s) lost)"
            lines["env_runner_restarts"] = str(summary.env_runner_restarts)
            lines["first_env_fault"] = summary.first_env_fault or "-"
        width = max(len(k) for k in lines)
        self.console.print()
        for key, value in lines.items():
            self.console.print(f"{key:<{width}}  {value}")
