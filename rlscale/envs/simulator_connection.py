"""The server side of the wire format (:mod:`rlscale.external`): one simulator's connection
(buffered non-blocking reads, whole-message writes), what a simulator answered
(:class:`Outcome`), and the checks that turn its messages into outcomes and actions into
JSON (a message that fails them raises :class:`rlscale.external.ProtocolError`)."""

from __future__ import annotations

import contextlib
import math
import socket
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale import external as wire


@dataclass
class SimulatorConnection:
    """One simulator's socket, with what it sent that is not yet read as messages."""

    sock: socket.socket
    peer: str
    buffer: bytearray = field(default_factory=bytearray)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def fill(self) -> None:
        """Read what is there; complete messages go to ``messages``."""
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            raise wire.ProtocolError(f"the connection failed ({exc.strerror})") from None
        if not data:
            raise wire.ProtocolError("the simulator disconnected")
        self.buffer += data
        while len(self.buffer) >= wire.HEADER.size:
            (size,) = wire.HEADER.unpack_from(self.buffer)
            if size > wire.MAX_MESSAGE:
                raise wire.ProtocolError(f"a length prefix of {size} bytes: not a message")
            if len(self.buffer) < wire.HEADER.size + size:
                return
            body = bytes(self.buffer[wire.HEADER.size:wire.HEADER.size + size])
            del self.buffer[:wire.HEADER.size + size]
            self.messages.append(wire.decode(body))

    def send(self, message: dict[str, Any]) -> None:
        data = wire.encode(message)
        try:
            try:
                sent = self.sock.send(data)  # a small message: the socket buffer takes it
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                self.sock.setblocking(True)
                try:
                    self.sock.sendall(data[sent:])
                finally:
                    self.sock.setblocking(False)
        except OSError as exc:
            raise wire.ProtocolError(f"the simulator disconnected ({exc.strerror})") from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass
class Outcome:
    """What a slot's simulator answered: a reset, a step, or a fault."""

    obs: Any = None
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    fault: str | None = None  # the fault's one line


def read_outcome(message: dict[str, Any], expect_reset: bool,
             observation_space: gym.Space) -> Outcome:  # type: ignore[type-arg]
    """A ``reset`` (``expect_reset``) or ``step`` message checked against the declared
    observation space."""
    kind = message["type"]
    expected = wire.RESET if expect_reset else wire.STEP
    if kind != expected:
        raise wire.ProtocolError(f"expected a {expected!r} message, got {kind!r}")
    obs = check_observation(message.get("obs"), observation_space)
    if expect_reset:
        return Outcome(obs=obs)
    reward = message.get("reward")
    if isinstance(reward, bool) or not isinstance(reward, int | float) \
            or not math.isfinite(reward):
        raise wire.ProtocolError(f"reward {reward!r} is not a finite number")
    flags = [message.get("terminated", False), message.get("truncated", False)]
    if not all(isinstance(f, bool) for f in flags):
        raise wire.ProtocolError("terminated and truncated are true or false")
    return Outcome(obs=obs, reward=float(reward), terminated=flags[0], truncated=flags[1])


def check_observation(value: Any, space: gym.Space) -> Any:  # type: ignore[type-arg]
    """An observation as the declared space holds it (a Discrete's int, else an array of
    exactly its shape, finite)."""
    if isinstance(space, gym.spaces.Discrete):
        if isinstance(value, bool) or not isinstance(value, int) \
                or not space.contains(np.int64(value)):
            raise wire.ProtocolError(f"observation {value!r} is not in {space}")
        return np.int64(value)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise wire.ProtocolError("the observation is not an array of numbers") from None
    if array.shape != space.shape:
        raise wire.ProtocolError(
            f"observation of shape {list(array.shape)}, the experiment declares "
            f"{list(space.shape or ())}")
    if not np.all(np.isfinite(array)):
        raise wire.ProtocolError("the observation holds NaN or infinity")
    return array.astype(space.dtype)


def action_json(action: Any, space: gym.Space) -> Any:  # type: ignore[type-arg]
    """An action as the ``action`` message sends it."""
    if isinstance(space, gym.spaces.Discrete):
        return int(action)
    array = np.asarray(action)
    if isinstance(space, gym.spaces.Box):
        return [float(a) for a in array.ravel()] if array.ndim <= 1 else array.tolist()
    return array.astype(int).tolist()
