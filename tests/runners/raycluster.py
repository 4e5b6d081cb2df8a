"""A real multi-node Ray cluster on one machine, for tests: one ``ray start --block``
process per node, each on its own loopback address (127.0.0.2, 127.0.0.3, ...), with token
authentication. Only the processes started here are stopped, by PID."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.slurm.localslurm import free_port

RAY = str(Path(sys.executable).parent / "ray")


def token_env(token_file: Path, **extra: str) -> dict[str, str]:
    """Environment for a Ray process that authenticates with the token in ``token_file``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file),
               RAY_USAGE_STATS_ENABLED="0", **extra)
    return env


def write_token(path: Path) -> Path:
    """A fresh token in a file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path


class RayCluster:
    """A head on 127.0.0.2 and ``workers`` more nodes on 127.0.0.3, ..."""

    def __init__(self, base: Path, cpus_per_node: int = 2) -> None:
        self.base = base
        self.cpus = cpus_per_node
        self.port = free_port()
        self.head_ip = "127.0.0.2"
        self.address = f"{self.head_ip}:{self.port}"
        self.token = write_token(base / "token")
        self.procs: list[subprocess.Popen[bytes]] = []

    def _start(self, ip: str, *args: str, token: Path | None = None,
               **extra_env: str) -> subprocess.Popen[bytes]:
        log = open(self.base / f"ray-{ip}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [RAY, "start", "--block", f"--node-ip-address={ip}", f"--num-cpus={self.cpus}",
             "--num-gpus=0", "--object-store-memory=200000000", "--disable-usage-stats", *args],
            stdout=log, stderr=subprocess.STDOUT, env=token_env(token or self.token, **extra_env),
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start_head(self, **extra_env: str) -> None:
        self._start(self.head_ip, "--head", f"--port={self.port}", "--include-dashboard=false",
                    **extra_env)
        self.wait_nodes(1)

    def start_worker(self, ip: str, token: Path | None = None) -> subprocess.Popen[bytes]:
        # Few retries: a rejected node gives up in seconds instead of half a minute.
        return self._start(ip, f"--address={self.address}", token=token,
                           RAY_NUM_REDIS_GET_RETRIES="3")

    def alive_nodes(self) -> int:
        code = ("import ray,sys; ray.init(address=sys.argv[1], logging_level='ERROR');"
                "print(sum(1 for n in ray.nodes() if n['Alive']))")
        out = subprocess.run([sys.executable, "-c", code, self.address], capture_output=True,
                             text=True, env=token_env(self.token), timeout=120)
        return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else 0

    def wait_nodes(self, count: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.alive_nodes() < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"fewer than {count} Ray nodes joined; logs in {self.base}")
            time.sleep(1)

    def stop(self) -> None:
        """SIGTERM each ``ray start --block`` (it stops its node), workers first."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def leftover_processes(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker`` (e.g. a node address)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True)
    me = str(os.getpid())
    return [line.strip() for line in out.stdout.splitlines()
            if marker in line and not line.strip().startswith(me + " ") and "ps -eo" not in line]
