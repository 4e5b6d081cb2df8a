"""External simulators: an env whose steps are taken by simulator processes over TCP.

The env spec ``external`` (with its settings in ``env_config``, see :class:`ExternalSettings`)
is an ordinary Gymnasium env to RLlib: each env runner builds a vector env
(:class:`ExternalVectorEnv`) whose sub-environments are *slots*, one per simulator
connection. ``step(actions)`` sends each slot's action to its simulator and then waits for
all of them at once (one ``selectors`` loop), so simulators step in parallel while RLlib's
own EnvRunner does everything else: inference, episodes, connectors, metrics, checkpoints.
The wire format is :mod:`rlscale.external` (the client side, stdlib only).

RLlib 2.60's own external-env runner (``EnvRunnerServerForExternalInference``, the RLlink
protocol) serves one client per env runner, speaks msgpack and expects the client to run the
policy itself (torch on the simulator side): it does not fit a C or Fortran simulator.

Faults cost one slot's episode, never the run: a simulator that disconnects, does not answer
within ``step_timeout_s`` or sends garbage (bad bytes or JSON, a wrong shape, NaN) ends its
episode as truncated with :data:`rlscale.algos.faults.FAULT_INFO` in its info, is counted as
an env restart (:mod:`rlscale.algos.faults`), and its connection is closed; the slot waits
for the next connection (a restarted simulator reconnects). A slot with no simulator blocks
sampling until one connects.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import ipaddress
import logging
import math
import os
import selectors
import socket
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rlscale import external as wire
from rlscale.errors import EnvSpecError, TrainingFailed

log = logging.getLogger(__name__)

SPEC = "external"  # the env spec (a Gymnasium id registered below)
DEFAULT_PORT = 5555
WAIT_LOG_S = 30.0  # how often a run waiting for simulators says so


class SpaceSettings(BaseModel):
    """A space as the experiment declares it (and the handshake sends it)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Box", "Discrete", "MultiDiscrete", "MultiBinary"]
    shape: list[int] | None = Field(None, description="Box: the shape.")
    low: float | list[float] | None = Field(None, description="Box: lower bound(s) "
                                            "(default: unbounded).")
    high: float | list[float] | None = Field(None, description="Box: upper bound(s).")
    dtype: Literal["float32", "float64"] = "float32"
    n: int | None = Field(None, ge=1, description="Discrete / MultiBinary: the size.")
    nvec: list[int] | None = Field(None, description="MultiDiscrete: the sizes.")


class ExternalSettings(BaseModel):
    """``env_config`` of the ``external`` env: where the run listens, and the spaces."""

    model_config = ConfigDict(extra="forbid")

    observation_space: SpaceSettings
    action_space: SpaceSettings
    host: str = Field("127.0.0.1", description="Address to listen on (loopback by default; "
                      "any other needs a token).")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="TCP port of the first env "
                      "runner; env runner k (k >= 1) listens on port + k - 1.")
    simulators: int = Field(1, ge=1, description="Simulator connections per env runner "
                            "(its envs).")
    token_file: str | None = Field(None, description="File (mode 0600) holding the token "
                                   "simulators must send (or $RLSCALE_EXTERNAL_TOKEN).")
    step_timeout_s: float = Field(30.0, gt=0, description="A simulator that does not answer "
                                  "within this long loses its episode and connection.")
    connect_timeout_s: float | None = Field(None, gt=0, description="Fail the run when a slot "
                                            "waits longer for a simulator (null: wait).")

    def space(self, which: str) -> gym.Space:  # type: ignore[type-arg]
        """The observation or action space as a Gymnasium space."""
        return build_space(getattr(self, which), which)


def build_space(spec: SpaceSettings, which: str) -> gym.Space:  # type: ignore[type-arg]
    """A Gymnasium space from its declaration."""
    def need(value: Any, key: str) -> Any:
        if value is None:
            raise EnvSpecError(f"env_config.{which}: a {spec.type} needs '{key}'")
        return value

    if spec.type == "Discrete":
        return gym.spaces.Discrete(need(spec.n, "n"))
    if spec.type == "MultiBinary":
        return gym.spaces.MultiBinary(need(spec.n, "n"))
    if spec.type == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(need(spec.nvec, "nvec"))
    shape = tuple(need(spec.shape, "shape"))
    low = -np.inf if spec.low is None else np.asarray(spec.low, dtype=spec.dtype)
    high = np.inf if spec.high is None else np.asarray(spec.high, dtype=spec.dtype)
    try:
        return gym.spaces.Box(low=low, high=high, shape=shape, dtype=np.dtype(spec.dtype).type)
    except ValueError as exc:
        raise EnvSpecError(f"env_config.{which}: {exc}") from None


def space_json(spec: SpaceSettings) -> dict[str, Any]:
    """A declared space as the welcome message sends it (infinite bounds left out)."""
    out = {k: v for k, v in spec.model_dump().items() if v is not None}
    for key in ("low", "high"):
        values = np.asarray(out.get(key, np.inf))
        if not np.all(np.isfinite(values)):
            out.pop(key, None)
    if spec.type != "Box":
        out.pop("dtype", None)
    return out


def parse_settings(config: Mapping[str, Any]) -> ExternalSettings:
    """``env_config`` checked: one line per problem, as an :class:`EnvSpecError`."""
    try:
        settings = ExternalSettings(**dict(config))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise EnvSpecError(f"environment '{SPEC}': env_config.{where}: {err['msg']}") from None
    settings.space("observation_space")
    settings.space("action_space")
    run_token(settings)  # a non-loopback host without a token is refused before any run
    return settings


def is_loopback(host: str) -> bool:
    """True when ``host`` is a loopback address (or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_token(settings: ExternalSettings) -> str | None:
    """The token simulators must send: from ``token_file`` (refused unless only its owner
    can read it) or ``$RLSCALE_EXTERNAL_TOKEN``. Required on a non-loopback host."""
    token = None
    if settings.token_file:
        path = os.path.expanduser(settings.token_file)
        try:
            mode = os.stat(path).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise EnvSpecError(f"env_config.token_file {path}: others may read it "
                                   f"(mode {stat.S_IMODE(mode):o}); chmod 600 it")
            with open(path, encoding="utf-8") as file:
                token = file.read().strip()
        except OSError as exc:
            raise EnvSpecError(f"env_config.token_file {path}: {exc.strerror}") from None
        if not token:
            raise EnvSpecError(f"env_config.token_file {path} is empty")
    token = token or os.environ.get(wire.TOKEN_ENV) or None
    if token is None and not is_loopback(settings.host):
        raise EnvSpecError(
            f"environment '{SPEC}': listening on {settings.host} (not loopback) needs a token: "
            f"set env_config.token_file (a 0600 file) or ${wire.TOKEN_ENV}"
        )
    return token


def listen_port(settings: ExternalSettings, worker_index: int) -> int:
    """The port env runner ``worker_index`` listens on (0 and 1: ``port``)."""
    if settings.port == 0:
        return 0
    return settings.port + max(worker_index - 1, 0)


def how_to_connect(settings: ExternalSettings, num_env_runners: int) -> str:
    """One line for ``--dry-run``: where the run listens and how a simulator connects."""
    runners = max(num_env_runners, 1)
    last = listen_port(settings, runners)
    ports = str(settings.port) if last == settings.port else f"{settings.port}-{last}"
    token = ("; simulators send the run's token (env_config.token_file or "
             f"${wire.TOKEN_ENV})") if not is_loopback(settings.host) else ""
    return (f"listens on {settings.host}:{ports} for {settings.simulators * runners} "
            f"simulator(s) ({settings.simulators} per port); a simulator connects with "
            f"rlscale.external.Client('{settings.host}', {settings.port}) or the protocol "
            f"in docs/external.md{token}")


class SimulatorsLost(TrainingFailed):
    """No simulator connected to a slot within ``connect_timeout_s``."""


# --- the server side ----------------------------------------------------------------------

@dataclass
class _Conn:
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


class SimulatorPool:
    """``n`` slots, each served by one simulator connection, behind one listening socket."""

    def __init__(self, settings: ExternalSettings, n: int, worker_index: int = 0) -> None:
        self.settings = settings
        self.n = n
        self.port = listen_port(settings, worker_index)
        self.token = run_token(settings)
        self.observation_space = settings.space("observation_space")
        self.action_space = settings.space("action_space")
        self.conns: list[_Conn | None] = [None] * n
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
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.settings.host, self.port))
            except OSError as exc:
                sock.close()
                why = ("in use" if exc.errno == errno.EADDRINUSE else exc.strerror)
                raise EnvSpecError(f"environment '{SPEC}': cannot listen on "
                                   f"{self.settings.host}:{self.port} ({why})") from None
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
        from rlscale.algos.faults import _PROCESS_FAULTS, EnvFault

        conn = self.conns[slot]
        peer = conn.peer if conn is not None else "?"
        fault = EnvFault("SimulatorFault", f"simulator {peer} (slot {slot}): {why}", "")
        _PROCESS_FAULTS.add(fault)
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
                conn.send({"type": wire.ACTION, "action": self._action_json(action)})
            except wire.ProtocolError as exc:
                out[slot] = Outcome(fault=self._fault(slot, str(exc)))
                continue
            deadline[slot] = now + self.settings.step_timeout_s
        pending: dict[socket.socket, tuple[_Conn, float]] = {}
        waiting_since = time.monotonic()
        last_log = waiting_since
        for slot in want:
            conn = self.conns[slot]
            if slot not in out and conn is not None:
                self.selector.register(conn.sock, selectors.EVENT_READ, slot)
                if conn.messages:  # read with the last answer (an end, then a reset)
                    self._answer(slot, want, out, read=False)
        try:
            while len(out) < len(want):
                unconnected = [s for s in want if s not in out and self.conns[s] is None]
                if unconnected:
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
                elif self.listener is not None:
                    self._unregister(self.listener)
                times = [d for s, d in deadline.items() if s not in out]
                times += [d for _, d in pending.values()]
                wait = min(times, default=math.inf) - time.monotonic()
                wait = max(min(wait, 1.0), 0.0)
                for key, _ in self.selector.select(wait):
                    if key.data == "listen":
                        self._accept(pending)
                    elif key.data == "pending":
                        self._handshake(pending, key.fileobj, want, out, deadline)  # type: ignore[arg-type]
                    else:
                        self._answer(key.data, want, out)
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
        finally:
            for slot in want:
                conn = self.conns[slot]
                if conn is not None:
                    self._unregister(conn.sock)
            for sock, (conn, _) in pending.items():
                self._unregister(sock)
                conn.close()
        return out

    def _accept(self, pending: dict[socket.socket, tuple[_Conn, float]]) -> None:
        assert self.listener is not None
        try:
            sock, address = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(sock, f"{address[0]}:{address[1]}")
        pending[sock] = (conn, time.monotonic() + self.settings.step_timeout_s)
        self.selector.register(sock, selectors.EVENT_READ, "pending")

    def _handshake(self, pending: dict[socket.socket, tuple[_Conn, float]],
                   sock: socket.socket, want: Mapping[int, Any], out: dict[int, Outcome],
                   deadline: dict[int, float]) -> None:
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
            from rlscale.algos.faults import _PROCESS_FAULTS, EnvFault

            with contextlib.suppress(wire.ProtocolError):
                conn.send({"type": wire.ERROR, "reason": reason, "message": why})
            conn.close()
            if reason == wire.FULL:  # no fault: it may try the next env runner's port
                log.info("external env: simulator %s refused: %s", conn.peer, why)
                return
            _PROCESS_FAULTS.add(EnvFault("SimulatorFault",
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
            outcome = self._parse(message, expect_reset=not self.running[slot])
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

    def _parse(self, message: dict[str, Any], expect_reset: bool) -> Outcome:
        kind = message["type"]
        expected = wire.RESET if expect_reset else wire.STEP
        if kind != expected:
            raise wire.ProtocolError(f"expected a {expected!r} message, got {kind!r}")
        obs = self._observation(message.get("obs"))
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

    def _observation(self, value: Any) -> Any:
        space = self.observation_space
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

    def _action_json(self, action: Any) -> Any:
        if isinstance(self.action_space, gym.spaces.Discrete):
            return int(action)
        array = np.asarray(action)
        if isinstance(self.action_space, gym.spaces.Box):
            return [float(a) for a in array.ravel()] if array.ndim <= 1 else array.tolist()
        return array.astype(int).tolist()

    def close(self) -> None:
        for slot in range(self.n):
            self._drop(slot)
        if self.listener is not None:
            self._unregister(self.listener)
            self.listener.close()
            self.listener = None
        self.selector.close()


def _fault_info(line: str) -> dict[str, Any]:
    from rlscale.algos.faults import FAULT_INFO

    return {FAULT_INFO: line}


class ExternalEnv(gym.Env):  # type: ignore[type-arg]
    """One slot: a Gymnasium env whose episodes a connected simulator plays
    (``evaluate``, ``check-env``). Listens only once reset."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, worker_index: int = 0, **config: Any) -> None:
        self.settings = parse_settings(config)
        self.observation_space = self.settings.space("observation_space")
        self.action_space = self.settings.space("action_space")
        self.worker_index = worker_index
        self._pool: SimulatorPool | None = None
        self._last_obs: Any = None

    @property
    def pool(self) -> SimulatorPool:
        """The connections (made on first use)."""
        if self._pool is None:
            self._pool = SimulatorPool(self.settings, 1, self.worker_index)
        return self._pool

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        outcome = self.pool.exchange({0: None})[0]
        self._last_obs = outcome.obs
        return outcome.obs, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        outcome = self.pool.exchange({0: action})[0]
        if outcome.fault is not None:
            return self._last_obs, 0.0, False, True, _fault_info(outcome.fault)
        self._last_obs = outcome.obs
        return outcome.obs, outcome.reward, outcome.terminated, outcome.truncated, {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class ExternalVectorEnv(gym.vector.VectorEnv):  # type: ignore[type-arg]
    """An env runner's slots stepped together (Gymnasium's next-step autoreset: the step
    after an episode ends returns the simulator's next ``reset``, its action unused)."""

    metadata: dict[str, Any] = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, worker_index: int = 0, **config: Any) -> None:
        self.settings = parse_settings(config)
        self.num_envs = num_envs
        self.single_observation_space = self.settings.space("observation_space")
        self.single_action_space = self.settings.space("action_space")
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.worker_index = worker_index
        self._pool: SimulatorPool | None = None
        self._ended = [False] * num_envs
        self._last_obs: list[Any] = [None] * num_envs

    @property
    def pool(self) -> SimulatorPool:
        """The connections (made on first use: an env runner that never samples never
        listens)."""
        if self._pool is None:
            self._pool = SimulatorPool(self.settings, self.num_envs, self.worker_index)
        return self._pool

    def reset(self, *, seed: int | list[int] | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        answers = self.pool.exchange(dict.fromkeys(range(self.num_envs)))
        self._ended = [False] * self.num_envs
        self._last_obs = [answers[i].obs for i in range(self.num_envs)]
        return self._batch(self._last_obs), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        want = {i: (None if self._ended[i] else actions[i]) for i in range(self.num_envs)}
        answers = self.pool.exchange(want)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        faults: list[tuple[int, str]] = []
        for i in range(self.num_envs):
            answer = answers[i]
            if self._ended[i]:  # the next episode's first observation
                self._ended[i] = False
                self._last_obs[i] = answer.obs
                continue
            if answer.fault is not None:
                truncated[i] = True
                faults.append((i, answer.fault))
            else:
                self._last_obs[i] = answer.obs
                rewards[i], terminated[i], truncated[i] = (answer.reward, answer.terminated,
                                                           answer.truncated)
            self._ended[i] = bool(terminated[i] or truncated[i])
        infos: dict[str, Any] = {}
        for i, line in faults:
            infos = self._add_info(infos, _fault_info(line), i)
        return self._batch(self._last_obs), rewards, terminated, truncated, infos

    def _batch(self, observations: list[Any]) -> Any:
        return np.stack([np.asarray(o) for o in observations])

    def close_extras(self, **kwargs: Any) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def on_environment_created(*, env_runner: Any = None, env: Any = None, **_: Any) -> None:
    """RLlib's ``on_environment_created``: the env runner's index picks its port (RLlib
    builds a vector env from a plain dict, without the runner's ``EnvContext``)."""
    index = int(getattr(env_runner, "worker_index", 0) or 0)
    for candidate in (env, getattr(env, "unwrapped", None)):
        if isinstance(candidate, ExternalVectorEnv | ExternalEnv):
            candidate.worker_index = index


if SPEC not in gym.registry:
    gym.register(SPEC, entry_point=f"{__name__}:ExternalEnv",
                 vector_entry_point=f"{__name__}:ExternalVectorEnv",
                 disable_env_checker=True)
