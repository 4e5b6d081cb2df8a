"""The ``external`` env's settings: its ``env_config`` checked (:class:`ExternalSettings`),
the spaces built from their JSON form, the run's token, the port each env runner listens
on, and the ``--dry-run`` line saying how a simulator connects (see docs/external.md)."""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Mapping
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rlscale import external as wire
from rlscale.errors import EnvSpecError

SPEC = "external"  # the env spec (a Gymnasium id, registered by rlscale.envs.external)
DEFAULT_PORT = 5555


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
    concurrent_trials: int = Field(1, ge=1, description="Runs sharing the ports (a sweep "
                                   "sets it to its trials at once): env runner k takes the "
                                   "first free port of its block of this many.")
    evaluation_port: int | None = Field(None, ge=1, le=65535, description="Port of "
                                        "evaluation's env runner (evaluation.every); default: "
                                        "the port after the training ports.")
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


def listen_ports(settings: ExternalSettings, worker_index: int) -> list[int]:
    """The ports env runner ``worker_index`` may listen on, in order (0 and 1: the first
    block): block k - 1 of ``concurrent_trials`` ports from ``port``; it takes the first
    free one, so concurrent trials of a sweep never share a port."""
    if settings.port == 0:
        return [0]
    block = settings.concurrent_trials
    first = settings.port + max(worker_index - 1, 0) * block
    return [p for p in range(first, first + block) if p <= 65535]


def port_range(settings: ExternalSettings, num_env_runners: int) -> tuple[int, int]:
    """The first and last port a run's (or a sweep's) env runners listen on."""
    if settings.port == 0:
        return 0, 0
    runners = max(num_env_runners, 1)
    return settings.port, settings.port + runners * settings.concurrent_trials - 1


def evaluation_port(settings: ExternalSettings, num_env_runners: int) -> int:
    """The first port evaluation listens on (its block of ``concurrent_trials``): the one
    set, else the port after the training ports."""
    if settings.evaluation_port is not None:
        return settings.evaluation_port
    if settings.port == 0:
        return 0
    return port_range(settings, num_env_runners)[1] + 1


def evaluation_env_config(env_config: Mapping[str, Any], num_env_runners: int
                          ) -> dict[str, Any]:
    """The ``env_config`` of evaluation's env runner: it listens on the evaluation port, so
    that its simulators never take a training slot (nor training's simulators its one)."""
    settings = parse_settings(env_config)
    return {**env_config, "port": evaluation_port(settings, num_env_runners)}


def how_to_connect(settings: ExternalSettings, num_env_runners: int,
                   evaluates: bool = False) -> str:
    """One line for ``--dry-run``: where the run listens and how a simulator connects
    (``evaluates``: and where evaluation's simulators connect)."""
    runners = max(num_env_runners, 1)
    first, last = port_range(settings, num_env_runners)
    ports = str(first) if last == first else f"{first}-{last}"
    count = last - first + 1
    token = ("; simulators send the run's token (env_config.token_file or "
             f"${wire.TOKEN_ENV})") if not is_loopback(settings.host) else ""
    trials = settings.concurrent_trials
    who = (f"{settings.simulators * runners * trials} simulator(s) ({trials} trial(s) at "
           f"once, {settings.simulators} per port)" if trials > 1 else
           f"{settings.simulators * runners} simulator(s) ({settings.simulators} per port)")
    ports_arg = f", ports={count}" if count > 1 else ""
    if evaluates:
        first_eval = evaluation_port(settings, num_env_runners)
        last_eval = first_eval + (trials - 1 if first_eval else 0)
        where = str(first_eval) if last_eval == first_eval else f"{first_eval}-{last_eval}"
        token += (f"; evaluation listens on {settings.host}:{where} for 1 simulator"
                  f"{' per trial' if trials > 1 else ''} of its own")
    return (f"listens on {settings.host}:{ports} for {who}; a simulator connects with "
            f"rlscale.external.Client('{settings.host}', {settings.port}{ports_arg}) or the "
            f"protocol in docs/external.md{token}")
