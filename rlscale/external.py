"""The simulator side of an external env: a tiny client that needs only Python's stdlib.

A simulator Python cannot import (or one that owns its main loop) trains with rlscale by
connecting to the run over TCP and asking for actions::

    from rlscale.external import Client

    with Client("127.0.0.1", 5555) as sim:          # waits for the run to listen
        while True:
            obs = my_sim.reset()
            action = sim.reset(obs)                  # an episode starts: the first action
            while True:
                obs, reward, done = my_sim.step(action)
                if done:
                    sim.end(obs, reward, terminated=True)
                    break
                action = sim.step(obs, reward)       # the reward of the last action

The wire protocol (docs/external.md) is small enough to speak from C, C++, Fortran or Java:
every message is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON, an
object with a ``type``:

- client ``{"type": "hello", "version": 1, "token": "..."}``, server
  ``{"type": "welcome", "observation_space": {...}, "action_space": {...}}`` (or
  ``{"type": "error", "message": "..."}`` and the connection closes);
- client ``{"type": "reset", "obs": ...}``: an episode starts, server ``{"type": "action",
  "action": ...}``;
- client ``{"type": "step", "obs": ..., "reward": r, "terminated": false, "truncated":
  false}``: server ``{"type": "action", ...}`` while the episode goes on, and no reply once
  ``terminated`` or ``truncated`` is true (the client sends its next ``reset``).

This module imports nothing outside the standard library (no NumPy, Ray or torch), so it
can be copied next to a simulator on a machine without rlscale.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from types import TracebackType
from typing import Any

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024  # a larger length prefix is garbage, not a message
WELCOME_TIMEOUT_S = 2.0  # with several ports to try: how long one may take to answer
TOKEN_ENV = "RLSCALE_EXTERNAL_TOKEN"  # the run's token, for a non-loopback listener
TOKEN_FILE_ENV = "RLSCALE_EXTERNAL_TOKEN_FILE"  # or a file that holds it

HELLO, WELCOME, ERROR = "hello", "welcome", "error"
RESET, STEP, ACTION = "reset", "step", "action"


class ProtocolError(Exception):
    """The other side sent something that is not a protocol message, or closed."""


FULL = "full"  # the reason of a refusal: every slot of that port has its simulator


class Refused(ProtocolError):
    """The run refused the connection: ``reason`` is ``full``, ``token`` or ``protocol``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def encode(message: dict[str, Any]) -> bytes:
    """One message on the wire: its length, then its JSON (NaN refused)."""
    body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict[str, Any]:
    """A message's JSON body as a dict with a ``type`` (ProtocolError otherwise)."""
    try:
        message = json.loads(body.decode(), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"not a JSON message ({exc})") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("a message is a JSON object with a 'type'")
    return message


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ProtocolError("the connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> dict[str, Any]:
    """Read one message from a blocking socket."""
    (size,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"a message of {size} bytes (at most {MAX_MESSAGE})")
    return decode(_recv_exactly(sock, size))


def read_token(token: str | None = None) -> str | None:
    """The token given, else ``$RLSCALE_EXTERNAL_TOKEN``, else the file named by
    ``$RLSCALE_EXTERNAL_TOKEN_FILE`` (None: no token)."""
    if token:
        return token
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV]
    path = os.environ.get(TOKEN_FILE_ENV)
    if path:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    return None


class Client:
    """One simulator's connection to a run: one episode at a time.

    ``connect_timeout_s``: how long to keep trying while the run is not listening yet;
    ``ports``: try ``port``, ``port + 1``, ... ``port + ports - 1`` in turn (env runner k of a
    run listens on ``port + k - 1``) until one has a free slot.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 5555, token: str | None = None,
                 connect_timeout_s: float = 60.0, ports: int = 1) -> None:
        deadline = time.monotonic() + connect_timeout_s
        attempt = 0
        while True:
            try:
                self._connect(host, port + attempt % max(ports, 1), token, connect_timeout_s,
                              WELCOME_TIMEOUT_S if ports > 1 else None)
                self.sock.settimeout(None)
                return
            except (OSError, Refused) as exc:
                if isinstance(exc, Refused) and exc.reason != FULL:
                    raise
                if time.monotonic() >= deadline:
                    raise
                attempt += 1
                if attempt % max(ports, 1) == 0:
                    time.sleep(0.2)

    def _connect(self, host: str, port: int, token: str | None, timeout: float,
                 welcome_timeout: float | None) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.address = (host, port)  # where the run took this simulator
        # Trying several ports: an env runner whose slots are all taken may be busy (not
        # sampling) and answer late; the next port is tried instead of waiting for it.
        self.sock.settimeout(welcome_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        hello: dict[str, Any] = {"type": HELLO, "version": PROTOCOL_VERSION}
        secret = read_token(token)
        if secret:
            hello["token"] = secret
        try:
            self.sock.sendall(encode(hello))
            reply = receive(self.sock)
        except BaseException:
            self.sock.close()
            raise
        if reply["type"] != WELCOME:
            self.sock.close()
            raise Refused(str(reply.get("message", reply)), str(reply.get("reason", "")))
        self.observation_space: dict[str, Any] = reply.get("observation_space", {})
        self.action_space: dict[str, Any] = reply.get("action_space", {})

    def _ask(self, message: dict[str, Any]) -> Any:
        self.sock.sendall(encode(message))
        reply = receive(self.sock)
        if reply["type"] != ACTION:
            raise ProtocolError(str(reply.get("message", reply)))
        return reply["action"]

    def reset(self, obs: Any) -> Any:
        """An episode starts at ``obs``: returns the first action."""
        return self._ask({"type": RESET, "obs": obs})

    def step(self, obs: Any, reward: float) -> Any:
        """The last action earned ``reward`` and led to ``obs``: returns the next action."""
        return self._ask({"type": STEP, "obs": obs, "reward": float(reward),
                          "terminated": False, "truncated": False})

    def end(self, obs: Any, reward: float, terminated: bool = True) -> None:
        """The episode ends at ``obs`` after the last action earned ``reward``:
        ``terminated`` (a terminal state) or not (truncated, e.g. a time limit)."""
        self.sock.sendall(encode({"type": STEP, "obs": obs, "reward": float(reward),
                                  "terminated": bool(terminated),
                                  "truncated": not terminated}))

    def close(self) -> None:
        """Disconnect (an episode in progress is lost, and counted as a fault)."""
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
