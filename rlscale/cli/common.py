"""What the commands share: logging set-up, clean stops on Ctrl-C, the plan table, the
command line as typed. Commands import this module, never ``cli/app.py``."""

from __future__ import annotations

import logging
import math
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console


def command_line() -> str:
    """The command line as typed (for ``command.txt``)."""
    return shlex.join(["rlscale", *sys.argv[1:]])


def print_plan_table(console: Console, plan: Any) -> None:
    """The resource plan's settings, then the reasons for them."""
    for key in ("total_cpus", "num_env_runners", "num_envs_per_env_runner",
                "num_cpus_per_env_runner", "num_cpus_for_main_process", "num_learners",
                "num_gpus_per_learner", "torch_threads"):
        console.print(f"  {key:<26} {getattr(plan, key)}")
    for where in getattr(plan, "placement", ()):
        console.print(f"  {'on node':<26} {where.describe()}", markup=False)
    print_reasons(console, plan.reasons)
    if getattr(plan, "sampling", None) is not None:
        from rlscale.algos.sampling import describe

        console.print(f"  {'sampling':<26} {describe(plan.sampling)}", markup=False)


def print_reasons(console: Console, reasons: Any) -> None:
    """The plan's reasons, one line each, as the plan renders them."""
    from rlscale.algos.plan import describe_reason

    for reason in reasons:
        console.print(f"  - {describe_reason(reason)}", markup=False)


def print_how_to_connect(console: Console, job: Any, env_config: Any) -> None:
    """An external env's dry-run line: where the run listens and how a simulator connects
    (``env_config``: the run's, or a sweep's with its trials' ports)."""
    if not job.env.is_external:
        return
    from rlscale.envs.external_settings import how_to_connect, parse_settings

    line = how_to_connect(parse_settings(env_config), job.plan.num_env_runners,
                          job.exp.evaluation.every > 0)
    console.print(f"         {line}", markup=False)


def print_policy_settings(console: Console, exp: Any) -> None:
    """rlscale's own settings of the policy that RLlib's config does not show as such."""
    parts = []
    if exp.normalize.obs:
        parts.append("observations normalized (RLlib's MeanStdFilter)")
    log_std = exp.exploration.log_std_init
    if log_std is not None:
        parts.append(f"actions' log-std starts at {log_std:g} (std {math.exp(log_std):.3g})")
    if parts:
        console.print("[bold]Policy[/bold]   ", end="")
        console.print("; ".join(parts), markup=False)


def setup_logging(verbose: bool) -> None:
    """rlscale's own log lines on stderr; more of them with --verbose."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from rlscale.startup_times import show_if_asked

    show_if_asked()


# After SIGTERM, how long the clean stop may take before the work is aborted (as by a second
# Ctrl-C), so that a SIGTERM ends any run within seconds whatever its env does: a scheduler
# sends SIGKILL soon after (Slurm's KillWait, 30 s by default).
TERM_GRACE_S = 4.0


@contextmanager
def stop_cleanly_on_signals(
    console: Any, message: str, request_stop: Callable[[], None]
) -> Iterator[Callable[[], None]]:
    """While inside: the first Ctrl-C (or SIGTERM) prints ``message`` and calls
    ``request_stop``, which ends the work cleanly; a second one aborts as usual. After a
    SIGTERM, the work is aborted when the clean stop has not ended it within
    :data:`TERM_GRACE_S`. The previous handlers are back on exit.

    Yields a function that takes the signals again: Ray's core worker installs a SIGTERM
    handler of its own when this process starts or joins Ray, so call it once Ray is up
    (a Slurm job's time limit arrives as SIGTERM)."""
    state = {"inside": True, "abort": False}
    main_thread = threading.main_thread().ident

    def abort_if_still_running() -> None:
        if state["inside"] and main_thread is not None:
            state["abort"] = True
            signal.pthread_kill(main_thread, signal.SIGINT)

    def on_signal(signum: int, frame: Any) -> None:
        if state["abort"]:
            console.print(f"\n[yellow]Still running {TERM_GRACE_S:g} s after SIGTERM: "
                          "aborting (the run resumes from its latest checkpoint)[/yellow]")
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        console.print(f"\n[yellow]{message} (press Ctrl-C again to abort)...[/yellow]")
        request_stop()
        if signum == signal.SIGTERM:
            timer = threading.Timer(TERM_GRACE_S, abort_if_still_running)
            timer.daemon = True
            timer.start()

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in signals}

    def take() -> None:
        for sig in signals:
            signal.signal(sig, on_signal)

    take()
    try:
        yield take
    finally:
        state["inside"] = False
        for sig, handler in previous.items():
            signal.signal(sig, handler)


