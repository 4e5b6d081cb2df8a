"""External simulators over TCP: the server side (rlscale.envs.external) against real clients
(rlscale.external.Client in threads, raw sockets for garbage), without Ray."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from rlscale.envs.env_faults import FAULT_INFO, PROCESS_FAULTS
from rlscale.envs.external import ExternalEnv, ExternalVectorEnv
from rlscale.envs.external_settings import parse_settings, run_token
from rlscale.envs.resolve import resolve_env
from rlscale.errors import EnvSpecError
from rlscale.external import Client, ProtocolError, encode

SPACES = {"observation_space": {"type": "Box", "shape": [2]},
          "action_space": {"type": "Discrete", "n": 3}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def counter_sim(port: int, episodes: int = 1000, length: int = 5,
                step: Callable[[Client, list[float], int], Any] | None = None,
                token: str | None = None) -> None:
    """A simulator whose observation is [episode step, last action]; reward: the action."""
    try:
        with Client("127.0.0.1", port, token=token, connect_timeout_s=20) as sim:
            for _ in range(episodes):
                action = sim.reset([0.0, 0.0])
                for t in range(1, length + 1):
                    obs = [float(t), float(action)]
                    if step is not None:
                        step(sim, obs, t)
                    if t == length:
                        sim.end(obs, float(action), terminated=True)
                        break
                    action = sim.step(obs, float(action))
    except (ProtocolError, OSError):
        pass


@pytest.fixture
def sims() -> Iterator[Callable[..., threading.Thread]]:
    threads: list[threading.Thread] = []

    def start(*args: Any, **kwargs: Any) -> threading.Thread:
        thread = threading.Thread(target=counter_sim, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        threads.append(thread)
        return thread

    yield start


def vector(port: int, n: int, **extra: Any) -> ExternalVectorEnv:
    return ExternalVectorEnv(n, **SPACES, port=port, **extra)


def test_the_declared_spaces_are_the_env_spaces_and_nothing_listens_before_reset() -> None:
    port = free_port()
    resolved = resolve_env("external", {**SPACES, "port": port})
    assert resolved.is_external and resolved.native_vector
    assert resolved.observation_space.shape == (2,)
    assert resolved.action_space.n == 3
    with socket.socket() as probe:  # resolving built the env in the driver: no listener
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_bad_settings_are_one_line_errors(tmp_path: Any, monkeypatch: Any) -> None:
    with pytest.raises(EnvSpecError, match=r"env_config.action_space: Field required"):
        parse_settings({"observation_space": {"type": "Box", "shape": [2]}})
    with pytest.raises(EnvSpecError, match=r"a Box needs 'shape'"):
        parse_settings({**SPACES, "observation_space": {"type": "Box"}})
    monkeypatch.delenv("RLSCALE_EXTERNAL_TOKEN", raising=False)
    with pytest.raises(EnvSpecError, match=r"not loopback\) needs a token"):
        run_token(parse_settings({**SPACES, "host": "0.0.0.0"}))
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    with pytest.raises(EnvSpecError, match=r"others may read it \(mode 644\); chmod 600"):
        run_token(parse_settings({**SPACES, "host": "0.0.0.0", "token_file": str(secret)}))
    secret.chmod(0o600)
    assert run_token(parse_settings({**SPACES, "host": "0.0.0.0",
                                     "token_file": str(secret)})) == "s3cret"


def test_concurrent_trials_take_the_first_free_port_of_their_runners_block() -> None:
    from rlscale.envs.external_settings import listen_ports
    from rlscale.envs.simulator_pool import SimulatorPool

    port = free_port()
    settings = parse_settings({**SPACES, "port": port, "concurrent_trials": 2})
    # env runner k (0 and 1 alike) has block k - 1 of 2 ports
    assert [listen_ports(settings, k) for k in (0, 1, 3)] == [
        [port, port + 1], [port, port + 1], [port + 4, port + 5]]
    pools = [SimulatorPool(settings, 1, 1) for _ in range(3)]
    try:
        assert [pools[0]._listen().getsockname()[1],
                pools[1]._listen().getsockname()[1]] == [port, port + 1]
        with pytest.raises(EnvSpecError, match=rf"^environment 'external': cannot listen on "
                           rf"127.0.0.1:{port}-{port + 1} \(in use\)$"):
            pools[2]._listen()
    finally:
        for pool in pools:
            pool.close()


def test_slots_step_their_simulators_and_autoreset(sims: Any) -> None:
    port = free_port()
    env = vector(port, 2)
    for _ in range(2):
        sims(port, length=3)
    try:
        obs, _ = env.reset()
        assert obs.shape == (2, 2) and obs.dtype == np.float32
        returns = np.zeros(2)
        for t in range(1, 4):
            obs, rewards, terminated, truncated, infos = env.step(np.array([2, 1]))
            returns += rewards
            assert obs[:, 0].tolist() == [t, t]
            assert obs[:, 1].tolist() == [2, 1]
        assert terminated.tolist() == [True, True] and not truncated.any()
        assert returns.tolist() == [6.0, 3.0]  # the last action's reward comes with end()
        obs, rewards, terminated, _, _ = env.step(np.array([0, 0]))  # next-step autoreset
        assert obs.tolist() == [[0, 0], [0, 0]] and rewards.tolist() == [0, 0]
    finally:
        env.close()


def fault_lines() -> list[str]:
    return [] if (drained := PROCESS_FAULTS.drain())[1] is None else [drained[1].line()]


@pytest.mark.parametrize(("fault", "message"), [
    ("shape", r"observation of shape \[3\], the experiment declares \[2\]"),
    ("nan", "not a JSON message"),
    ("bytes", "not a JSON message"),
    ("die", "the simulator disconnected"),
    ("hang", r"no answer within 0.5 s \(env_config.step_timeout_s\)"),
])
def test_a_faulty_simulator_costs_its_episode_and_a_new_one_takes_its_slot(
    sims: Any, fault: str, message: str
) -> None:
    port = free_port()
    env = vector(port, 2, step_timeout_s=0.5)

    def misbehave(sim: Client, obs: list[float], t: int) -> None:
        if t != 2:
            return
        if fault == "shape":
            sim.step([1.0, 2.0, 3.0], 0.0)
        elif fault == "nan":  # Client refuses NaN: what a C simulator's printf would send
            body = b'{"type":"step","obs":[NaN,1],"reward":0}'
            sim.sock.sendall(len(body).to_bytes(4, "big") + body)
            sim.sock.recv(1)
        elif fault == "bytes":
            sim.sock.sendall(b"\x00\x00\x00\x04\xff\xfe\x00\x01")
            sim.sock.recv(1)
        elif fault == "die":
            sim.sock.shutdown(socket.SHUT_RDWR)
            raise OSError("died")
        else:
            time.sleep(3)
            raise OSError("woke up")

    sims(port, length=4)
    sims(port, length=4, step=misbehave)
    fault_lines()
    try:
        env.reset()
        env.step(np.array([1, 1]))
        obs, _, terminated, truncated, infos = env.step(np.array([1, 1]))
        # One slot's episode goes on; the faulty one's ends, truncated, with its last obs.
        bad = int(np.flatnonzero(truncated)[0])
        assert truncated.sum() == 1 and not terminated.any()
        assert obs[bad].tolist() == [1.0, 1.0]
        assert infos[FAULT_INFO][bad].startswith("SimulatorFault: simulator 127.0.0.1:")
        assert infos[f"_{FAULT_INFO}"].tolist() == [i == bad for i in range(2)]
        lines = fault_lines()
        assert len(lines) == 1 and __import__("re").search(message, lines[0]), lines
        sims(port, length=4)  # a restarted simulator reconnects and takes the slot
        obs, _, _, truncated, _ = env.step(np.array([1, 1]))
        assert obs[bad].tolist() == [0.0, 0.0] and not truncated.any()
    finally:
        env.close()


def test_a_wrong_token_is_refused_and_the_right_one_accepted(sims: Any,
                                                              monkeypatch: Any) -> None:
    monkeypatch.setenv("RLSCALE_EXTERNAL_TOKEN", "right")
    port = free_port()
    env = vector(port, 1)
    env.pool  # the run's token is read when the env is first used  # noqa: B018
    monkeypatch.delenv("RLSCALE_EXTERNAL_TOKEN")
    errors: list[str] = []

    def wrong() -> None:
        try:
            Client("127.0.0.1", port, token="wrong", connect_timeout_s=20)
        except ProtocolError as exc:
            errors.append(str(exc))

    threading.Thread(target=wrong, daemon=True).start()

    def right() -> None:
        while not errors:
            time.sleep(0.05)
        counter_sim(port, token="right")

    threading.Thread(target=right, daemon=True).start()
    try:
        obs, _ = env.reset()
        assert obs.tolist() == [[0.0, 0.0]]
        assert errors == ["a wrong or missing token"]
    finally:
        env.close()


def test_one_env_plays_a_connected_simulator(sims: Any) -> None:
    port = free_port()
    env = ExternalEnv(**SPACES, port=port)
    sims(port, length=2)
    try:
        obs, _ = env.reset()
        obs, reward, terminated, _, _ = env.step(2)
        assert obs.tolist() == [1.0, 2.0] and reward == 2.0 and not terminated
        obs, reward, terminated, _, _ = env.step(1)
        assert obs.tolist() == [2.0, 1.0] and reward == 1.0 and terminated
    finally:
        env.close()


def test_garbage_before_the_hello_does_not_take_a_slot(sims: Any) -> None:
    port = free_port()
    env = vector(port, 1, step_timeout_s=5)
    fault_lines()

    def garbage() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(encode({"type": "reset", "obs": [0, 0]}))
            sock.recv(100)

    threading.Thread(target=lambda: (time.sleep(0.1), garbage()), daemon=True).start()
    env.pool._listen()
    time.sleep(0.5)
    sims(port)
    try:
        obs, _ = env.reset()
        assert obs.tolist() == [[0.0, 0.0]]
        lines = fault_lines()
        assert lines and "refused: expected a hello message, got 'reset'" in lines[0]
    finally:
        env.close()


if os.name != "posix":  # pragma: no cover
    pytestmark = pytest.mark.skip("TCP simulators are tested on POSIX")


def test_a_cluster_host_without_token_is_refused_by_the_cli(cli: Any, monkeypatch: Any) -> None:
    from tests.conftest import assert_error

    monkeypatch.delenv("RLSCALE_EXTERNAL_TOKEN", raising=False)
    (cli.cwd / "ext.yaml").write_text(
        "env: external\nenv_config:\n  host: 0.0.0.0\n"
        "  observation_space: {type: Box, shape: [4]}\n"
        "  action_space: {type: Discrete, n: 2}\n")
    result = cli("train", "ext.yaml", "--dry-run")
    assert_error(result, "environment 'external': listening on 0.0.0.0 (not loopback) needs a "
                 "token: set env_config.token_file (a 0600 file) or $RLSCALE_EXTERNAL_TOKEN",
                 cli.cwd)
    # Evaluation listens on a port of its own: the one after the training ports.
    result = cli("train", "ext.yaml", "--dry-run", "--set", "env_config.host=127.0.0.1",
                 "--set", "resources.num_env_runners=2", "--num-cpus", "3",
                 "--eval-every", "5")
    assert result.exit_code == 0, result.output
    assert ("listens on 127.0.0.1:5555-5556 for 2 simulator(s) (1 per port); a simulator "
            "connects with rlscale.external.Client('127.0.0.1', 5555, ports=2) or the protocol "
            "in docs/external.md; evaluation listens on 127.0.0.1:5557 for 1 simulator of its "
            "own") in " ".join(result.stdout.split())
