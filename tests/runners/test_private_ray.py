"""A local run's Ray on a shared node: loopback only, a per-run token nobody else can read,
and none of the head processes a local run never uses."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from rlscale.runners.private_ray import TOKEN_FILE, user_temp_root
from rlscale.runners.session import start_local_ray, stop_ray
from tests.processes import descendants

LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def _listening(pids: set[int]) -> list[tuple[int, str]]:
    """(pid, local address in /proc/net hex) of each listening TCP socket of ``pids``."""
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes[link[8:-1]] = pid
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                found.append((inodes[cols[9]], cols[1].split(":")[0]))
    return found


UNUSED = ("dashboard/dashboard.py", "autoscaler/_private/monitor.py", "log_monitor.py")


def _unused_head_processes(pids: set[int]) -> list[str]:
    """The command lines among ``pids`` of the API server, the autoscaler's monitor or the
    log monitor."""
    found = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        found += [cmdline[:200] for script in UNUSED if script in cmdline]
    return found


_CLIENT = """
import sys, ray
try:
    ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
except Exception as exc:
    print("refused:", type(exc).__name__)
    sys.exit(3)
print("joined")
"""


def _client(address: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    return subprocess.run(
        [sys.executable, "-c", _CLIENT, address],
        env={**clean, **env, "RAY_NUM_REDIS_GET_RETRIES": "3"},
        capture_output=True, text=True, timeout=120,
    )


def test_local_ray_listens_on_loopback_only_and_refuses_clients_without_the_token(
    tmp_path: Path,
) -> None:
    import ray

    start_local_ray(num_cpus=1, num_gpus=0)
    try:
        token_path = Path(os.environ["RAY_AUTH_TOKEN_PATH"])
        token = token_path.read_text()

        @ray.remote
        def pid() -> int:
            return os.getpid()

        worker = ray.get(pid.remote())
        ray_pids = set(descendants(os.getpid())) | {os.getpid()}
        assert worker in ray_pids
        sockets = _listening(ray_pids)
        assert len({p for p, _ in sockets}) >= 3, sockets  # gcs_server, raylet, a worker...
        assert [s for s in sockets if s[1] not in LOOPBACK] == []
        # None of the head's processes a local run never uses (rlscale.runners.lean_ray).
        assert _unused_head_processes(ray_pids) == []

        # The token: 0600 in a 0700 folder of the run's own, under the user's temp folder.
        assert token_path.name == TOKEN_FILE and len(token) == 64
        assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_path.parent.stat().st_mode) == 0o700
        assert token_path.parent.parent == user_temp_root()
        node = ray._private.worker._global_node
        assert Path(node.get_temp_dir_path()).is_relative_to(user_temp_root())
        # Never on a command line.
        for p in ray_pids:
            try:
                assert token not in Path(f"/proc/{p}/cmdline").read_text()
            except FileNotFoundError:
                continue

        address = node.address
        wrong = _client(address, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64})
        assert wrong.returncode == 3, wrong.stdout + wrong.stderr[-2000:]
        right = _client(address, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_path)})
        assert right.returncode == 0 and "joined" in right.stdout, right.stderr[-2000:]
    finally:
        stop_ray()
    assert not token_path.exists()
    assert "RAY_AUTH_TOKEN_PATH" not in os.environ
