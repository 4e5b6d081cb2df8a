"""The step watchdog of ``faults.step_timeout_s``: an env's ``step()`` or ``reset()`` that
outlives its deadline is interrupted with :class:`StepTimeout` (see rlscale.algos.faults)."""

from __future__ import annotations

import contextlib
import ctypes
import math
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any


class StepTimeout(Exception):
    """An env's ``step()`` or ``reset()`` ran past ``faults.step_timeout_s``."""


class Watchdog:
    """Interrupts a step that outlives its deadline: one thread per process, polling."""

    def __init__(self) -> None:
        self.deadline = math.inf
        self.timeout = math.inf
        self.thread_id = 0
        self._started = False
        self._use_signal = False
        self._lock = threading.Lock()

    def start(self, timeout: float) -> None:
        with self._lock:
            self.timeout = min(self.timeout, timeout)
            if self._started:
                return
            self._started = True
            if threading.current_thread() is threading.main_thread():
                with contextlib.suppress(ValueError, OSError):
                    if signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None):
                        signal.signal(signal.SIGALRM, self._on_alarm)
                        self._use_signal = True
            threading.Thread(target=self._watch, name="rlscale-step-watchdog",
                             daemon=True).start()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        self.thread_id = threading.get_ident()
        self.deadline = time.monotonic() + self.timeout
        try:
            yield
        finally:
            self.deadline = math.inf

    def _expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self._expired() and threading.get_ident() == self.thread_id:
            self.deadline = math.inf
            raise StepTimeout(self._message())

    def _message(self) -> str:
        return f"the env did not return within {self.timeout:g} s (faults.step_timeout_s)"

    def _watch(self) -> None:
        while True:
            time.sleep(min(max(self.timeout / 10, 0.05), 1.0))
            if not self._expired():
                continue
            ours = signal.getsignal(signal.SIGALRM) == self._on_alarm  # not replaced since
            if ours and self._use_signal and self.thread_id == threading.main_thread().ident:
                signal.pthread_kill(self.thread_id, signal.SIGALRM)
            else:  # another thread: an exception at its next bytecode (not inside C code)
                self.deadline = math.inf
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread_id), ctypes.py_object(StepTimeout)
                )
            time.sleep(0.05)


WATCHDOG = Watchdog()  # one per process
