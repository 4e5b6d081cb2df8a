"""The server side of the ``external`` env: :class:`SimulatorPool`, ``n`` slots behind one
listening socket, each served by one simulator connection. :meth:`SimulatorPool.exchange`
sends the slots' actions and waits for all answers at once (one ``selectors`` loop), taking
new connections (handshake, token) while a slot has none.

Faults cost one slot's episode, never the run: a simulator that disconnects, does not answer
within ``step_timeout_s`` or sends garbage ends its episode (an :class:`Outcome` with its
fault line), is counted as an env restart (:mod:`rlscale.algos.faults`), and its connection
is closed; the slot waits for the next connection.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import logging
import math
import selectors
import socket
import time
from collections.abc import Mapping
from typing import Any

from rlscale import external as wire
from rlscale.envs.external_settings import (
    SPEC,
    ExternalSettings,
    listen_ports,
    run_token,
    space_json,
)
from rlscale.envs.simulator_connection import (
    Outcome,
    SimulatorConnection,
    action_json,
    read_outcome,
)
from rlscale.errors import EnvSpecError, TrainingFailed

# The logger of the env (its lines are documented as rlscale.envs.external's).
log = logging.getLogger("rlscale.envs.external")

WAIT_LOG_S = 30.0  # how often a run waiting for simulators says so

_Pending = dict[socket.socket, tuple[SimulatorConnection, float]]  # handshakes, deadlines


class SimulatorsLost(TrainingFailed):
    """No simulator connected to a slot within ``connect_timeout_s``."""


class SimulatorPool:
    """``n`` slots, each served by one simulator connection, behind one listening socket."""

    def __init__(self, settings: ExternalSettings, n: int, worker_index: int = 0) -> None:
        self.settings = settings
        self.n = n
        self.ports = listen_ports(settings, worker_index)
        self.port = self.ports[0]
        self.token = run_token(settings)
        self.observation_space = settings.space("observation_space")
        self.action_space = settings.space("action_space")
        self.conns: list[SimulatorConnection | None] = [None] * n
        self.running = [False] * n  # an episode in progress (an action is owed or sent)
        self.listener: socket.socket | None = None
        self.selector = selectors.DefaultSelector()
        self._welcome = {
            "type": wire.WELCOME,
            "observation_space": space_json(settings.observation_space),
            "action_space": space_json(settings.action_space),
        }

    # -- listening
    def _listen(self) -> socket.socket:
        if self.listener is None:
            family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
            why = ""
            for port in self.ports:  # the first free one (concurrent trials share a block)
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.settings.host, port))
                    break
                except OSError as exc:
                    sock.close()
                    why = "in use" if exc.errno == errno.EADDRINUSE else str(exc.strerror)
            else:
                where = (str(self.ports[0]) if len(self.ports) == 1
                         else f"{self.ports[0]}-{self.ports[-1]}")
                raise EnvSpecError(f"environment '{SPEC}': cannot listen on "
                                   f"{self.settings.host}:{where} ({why})")
            sock.listen(max(self.n, 8))
            sock.setblocking(False)
            self.listener = sock
            self.port = sock.getsockname()[1]
            log.info("external env: listening on %s:%d for %d simulator(s)",
                     self.settings.host, self.port, self.n)
        return self.listener

    def _unregister(self, sock: socket.socket) -> None:
        if sock.fileno() >= 0 and sock in self.selector.get_map():
            self.selector.unregister(sock)

    def _fault(self, slot: int, why: str) -> str:
        from rlscale.envs.env_faults import PROCESS_FAULTS, EnvFault

        conn = self.conns[slot]
        peer = conn.peer if conn is not None else "?"
        fault = EnvFault("SimulatorFault", f"simulator {peer} (slot {slot}): {why}", "")
        PROCESS_FAULTS.add(fault)
        log.warning("external env: %s", fault.line())
        self._drop(slot)
        return fault.line()

    def _drop(self, slot: int) -> None:
        conn = self.conns[slot]
        if conn is not None:
            self._unregister(conn.sock)
            conn.close()
        self.conns[slot] = None
        self.running[slot] = False

    # -- one exchange: send the actions, wait for every wanted slot's answer
    def exchange(self, want: Mapping[int, Any]) -> dict[int, Outcome]:
        """For each slot in ``want``: an action (the slot's episode goes on) or None (the
        slot starts an episode: its simulator's next ``reset``). Returns every slot's
        answer; blocks while a slot has no simulator."""
        out: dict[int, Outcome] = {}
        deadline = self._send_actions(want, out)
        pending: _Pending = {}
        waiting_since = time.monotonic()
        last_log = waiting_since
        self._watch(want, out)
        try:
            while len(out) < len(want):
                last_log = self._listen_while_unconnected(want, out, waiting_since, last_log)
                self._serve(self._wait_s(deadline, pending, out), pending, want, out, deadline)
                self._expire(deadline, pending, out)
        finally:
            self._unwatch(want, pending)
        return out

    def _send_actions(self, want: Mapping[int, Any], out: dict[int, Outcome]
                      ) -> dict[int, float]:
        """Send each wanted slot its action (a failed send: the slot's fault, in ``out``).
        Returns the slots' deadlines for an answer (a slot starting an episode: for its
        ``reset``, when it has a simulator)."""
        now = time.monotonic()
        deadline: dict[int, float] = {}
        for slot, action in want.items():
            conn = self.conns[slot]
            if action is None:
                if self.running[slot] and conn is not None:
                    # RLlib resets mid-episode: the simulator's episode is abandoned.
                    self._fault(slot, "the run reset its episode (reconnect to go on)")
                if self.conns[slot] is not None:
                    deadline[slot] = now + self.settings.step_timeout_s
                continue
            if conn is None or not self.running[slot]:
                raise RuntimeError(f"slot {slot} has no episode in progress")
            try:
                conn.send({"type": wire.ACTION,
                           "action": action_json(action, self.action_space)})
            except wire.ProtocolError as exc:
                out[slot] = Outcome(fault=self._fault(slot, str(exc)))
                continue
            deadline[slot] = now + self.settings.step_timeout_s
        return deadline

    def _watch(self, want: Mapping[int, Any], out: dict[int, Outcome]) -> None:
        """Select the connected slots still owing an answer (an answer already read with
        the last one, e.g. an end and then a reset, is taken now)."""
        for slot in want:
            conn = self.conns[slot]
            if slot not in out and conn is not None:
                self.selector.register(conn.sock, selectors.EVENT_READ, slot)
                if conn.messages:  # read with the last answer (an end, then a reset)
                    self._answer(slot, want, out, read=False)

    def _unwatch(self, want: Mapping[int, Any], pending: _Pending) -> None:
        """After an exchange: no slot selected, handshakes not finished dropped."""
        for slot in want:
            conn = self.conns[slot]
            if conn is not None:
                self._unregister(conn.sock)
        for sock, (conn, _) in pending.items():
            self._unregister(sock)
            conn.close()

    def _listen_while_unconnected(self, want: Mapping[int, Any], out: dict[int, Outcome],
                                  waiting_since: float, last_log: float) -> float:
        """Listen while a wanted slot has no simulator (saying so every ``WAIT_LOG_S``,
        failing after ``connect_timeout_s``); stop listening otherwise. Returns when the
        wait was last logged."""
        unconnected = [s for s in want if s not in out and self.conns[s] is None]
        if not unconnected:
            if self.listener is not None:
                self._unregister(self.listener)
            return last_log
        listener = self._listen()
        if listener not in self.selector.get_map():
            self.selector.register(listener, selectors.EVENT_READ, "listen")
        now = time.monotonic()
        if now - last_log >= WAIT_LOG_S:
            last_log = now
            log.warning("external env: waiting for %d simulator(s) to connect to "
                        "%s:%d", len(unconnected), self.settings.host, self.port)
        limit = self.settings.connect_timeout_s
        if limit is not None and now - waiting_since > limit:
            raise SimulatorsLost(
                f"no simulator connected to {self.settings.host}:{self.port} "
                f"within {limit:g} s (env_config.connect_timeout_s)")
        return last_log

    def _wait_s(self, deadline: dict[int, float], pending: _Pending,
                out: dict[int, Outcome]) -> float:
        """How long to select: until the first deadline, at most 1 s."""
        times = [d for s, d in deadline.items() if s not in out]
        times += [d for _, d in pending.values()]
        wait = min(times, default=math.inf) - time.monotonic()
        return max(min(wait, 1.0), 0.0)

    def _serve(self, wait: float, pending: _Pending, want: Mapping[int, Any],
               out: dict[int, Outcome], deadline: dict[int, float]) -> None:
        """One select: new connections, handshakes and slots' answers, as they come."""
        for key, _ in self.selector.select(wait):
            if key.data == "listen":
                self._accept(pending)
            elif key.data == "pending":
                self._handshake(pending, key.fileobj, want, out, deadline)  # type: ignore[arg-type]
            else:
                self._answer(key.data, want, out)

    def _expire(self, deadline: dict[int, float], pending: _Pending,
                out: dict[int, Outcome]) -> None:
        """Past their deadline: a slot's simulator loses its connection (and its episode,
        in ``out``, when one is running); a handshake is dropped."""
        now = time.monotonic()
        for slot, limit_at in list(deadline.items()):
            if slot not in out and self.conns[slot] is not None and now >= limit_at:
                why = (f"no answer within {self.settings.step_timeout_s:g} s "
                       "(env_config.step_timeout_s)")
                if self.running[slot]:
                    out[slot] = Outcome(fault=self._fault(slot, why))
                else:  # no episode yet: only the connection is lost
                    self._fault(slot, why)
        for sock, (conn, limit_at) in list(pending.items()):
            if now >= limit_at:
                self.selector.unregister(sock)
                del pending[sock]
                conn.close()

    def _accept(self, pending: _Pending) -> None:
        assert self.listener is not None
        try:
            sock, address = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = SimulatorConnection(sock, f"{address[0]}:{address[1]}")
        pending[sock] = (conn, time.monotonic() + self.settings.step_timeout_s)
        self.selector.register(sock, selectors.EVENT_READ, "pending")

    def _handshake(self, pending: _Pending, sock: socket.socket, want: Mapping[int, Any],
                   out: dict[int, Outcome], deadline: dict[int, float]) -> None:
        conn, _ = pending[sock]
        why, reason = None, "protocol"
        try:
            conn.fill()
            if not conn.messages:
                return
            hello = conn.messages.pop(0)
            if hello["type"] != wire.HELLO:
                why = f"expected a hello message, got {hello['type']!r}"
            elif hello.get("version") != wire.PROTOCOL_VERSION:
                why = (f"protocol version {hello.get('version')!r}, this run speaks "
                       f"{wire.PROTOCOL_VERSION}")
            elif self.token is not None and not hmac.compare_digest(
                    str(hello.get("token", "")).encode(), self.token.encode()):
                why, reason = "a wrong or missing token", "token"
        except wire.ProtocolError as exc:
            why = str(exc)
        self.selector.unregister(sock)
        del pending[sock]
        free = [s for s in want if s not in out and self.conns[s] is None]
        if why is None and not free:
            why, reason = f"all {self.n} simulator slot(s) of this port are taken", wire.FULL
        if why is not None:
            from rlscale.envs.env_faults import PROCESS_FAULTS, EnvFault

            with contextlib.suppress(wire.ProtocolError):
                conn.send({"type": wire.ERROR, "reason": reason, "message": why})
            conn.close()
            if reason == wire.FULL:  # no fault: it may try the next env runner's port
                log.info("external env: simulator %s refused: %s", conn.peer, why)
                return
            PROCESS_FAULTS.add(EnvFault("SimulatorFault",
                                         f"simulator {conn.peer} refused: {why}", ""))
            log.warning("external env: simulator %s refused: %s", conn.peer, why)
            return
        try:
            conn.send(self._welcome)
        except wire.ProtocolError:
            conn.close()
            return
        slot = free[0]
        self.conns[slot] = conn
        self.running[slot] = False
        deadline[slot] = time.monotonic() + self.settings.step_timeout_s
        self.selector.register(sock, selectors.EVENT_READ, slot)
        log.info("external env: simulator %s connected (slot %d)", conn.peer, slot)
        if conn.messages:  # sent its reset along with the hello
            self._answer(slot, want, out, read=False)

    def _answer(self, slot: int, want: Mapping[int, Any], out: dict[int, Outcome],
                read: bool = True) -> None:
        conn = self.conns[slot]
        if conn is None or slot in out:
            return
        try:
            if read:
                conn.fill()
            if not conn.messages:
                return
            message = conn.messages.pop(0)
            outcome = read_outcome(message, not self.running[slot], self.observation_space)
        except (wire.ProtocolError, ValueError, TypeError, KeyError) as exc:
            why = str(exc) or type(exc).__name__
            if self.running[slot]:
                out[slot] = Outcome(fault=self._fault(slot, why))
            else:
                self._fault(slot, why)
            return
        if conn.messages and not (outcome.terminated or outcome.truncated):
            out[slot] = Outcome(fault=self._fault(slot, "sent a message before its action"))
            return
        self._unregister(conn.sock)
        self.running[slot] = not (outcome.terminated or outcome.truncated)
        out[slot] = outcome

    def close(self) -> None:
        for slot in range(self.n):
            self._drop(slot)
        if self.listener is not None:
            self._unregister(self.listener)
            self.listener.close()
            self.listener = None
        self.selector.close()
