"""A throw-away Slurm cluster on this machine, for tests: munge, slurmctld and several slurmd.

Debian's slurm-wlm is built to run several slurmd on one host: each node gets its own
loopback address (127.0.0.2, 127.0.0.3, ...) and port. Everything (config, state, logs,
the munge key and socket) lives in one temporary folder; only the processes started here
are stopped, by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")


def missing_reason() -> str | None:
    """Why this machine cannot run the local Slurm, or None when it can."""
    if os.geteuid() != 0:
        return "the local Slurm needs root (slurmd runs jobs as any user)"
    absent = [d for d in DAEMONS if shutil.which(d) is None]
    if absent:
        return (f"Slurm is not installed ({', '.join(absent)} missing): "
                "apt-get install slurm-wlm slurmctld slurmd slurm-client munge")
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalSlurm:
    """``nodes`` Slurm nodes of ``cpus`` CPUs each on loopback addresses."""

    def __init__(self, base: Path, nodes: int = 2, cpus: int = 2, mem_mb: int = 8000) -> None:
        self.base = base
        self.nodes = [f"n{i}" for i in range(1, nodes + 1)]
        self.addrs = {n: f"127.0.0.{i + 1}" for i, n in enumerate(self.nodes, start=1)}
        self.cpus = cpus
        self.mem_mb = mem_mb
        self.conf = base / "etc" / "slurm.conf"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    # -- configuration -------------------------------------------------------------------
    def _write_conf(self) -> None:
        b = self.base
        for sub in ("etc", "state", "spool", "log", "run", "munge/etc", "munge/run", "munge/lib"):
            (b / sub).mkdir(parents=True, exist_ok=True)
        (b / "munge").chmod(0o755)
        (b / "munge/run").chmod(0o755)
        for sub in ("munge/etc", "munge/lib"):
            (b / sub).chmod(0o700)
        host = socket.gethostname().split(".")[0]
        lines = [
            "ClusterName=rlscaletest",
            f"SlurmctldHost={host}",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={b}/munge/run/munge.socket",
            f"StateSaveLocation={b}/state",
            f"SlurmdSpoolDir={b}/spool/slurmd-%n",
            f"SlurmctldPidFile={b}/run/slurmctld.pid",
            f"SlurmdPidFile={b}/run/slurmd-%n.pid",
            f"SlurmctldLogFile={b}/log/slurmctld.log",
            f"SlurmdLogFile={b}/log/slurmd-%n.log",
            f"PlugStackConfig={b}/etc/plugstack.conf",
            "MailProg=/bin/true",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "DefMemPerCPU=1024",
            "MpiDefault=none",
            "ReturnToService=2",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "MinJobAge=600",
            "KillWait=30",
            "Waittime=0",
            "SlurmdParameters=config_overrides",
        ]
        for node in self.nodes:
            lines.append(
                f"NodeName={node} NodeHostname={host} NodeAddr={self.addrs[node]} "
                f"Port={free_port()} CPUs={self.cpus} RealMemory={self.mem_mb} State=UNKNOWN"
            )
        lines.append(
            f"PartitionName=debug Nodes={','.join(self.nodes)} Default=YES "
            "MaxTime=INFINITE State=UP"
        )
        self.conf.write_text("\n".join(lines) + "\n")
        (b / "etc" / "plugstack.conf").write_text("")
        key = b / "munge/etc/munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)

    # -- processes -----------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.base / "log" / f"{name}.fg", "wb")  # noqa: SIM115
        self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                           env=self.env, start_new_session=True))

    def _wait(self, what: str, check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited ({proc.returncode}) "
                                       f"waiting for {what}; logs in {self.base / 'log'}")
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}; logs in {self.base / 'log'}")

    def start(self) -> LocalSlurm:
        self._write_conf()
        m = self.base / "munge"
        sock = str(m / "run/munge.socket")
        self._spawn("munged", [
            "munged", "-F", f"--key-file={m}/etc/munge.key", f"--socket={sock}",
            f"--pid-file={m}/run/munged.pid", f"--log-file={self.base}/log/munged.log",
            f"--seed-file={m}/lib/munged.seed"])

        def munge_ok() -> bool:
            enc = subprocess.run(["munge", "-n", "-S", sock], capture_output=True)
            return enc.returncode == 0 and subprocess.run(
                ["unmunge", "-S", sock], input=enc.stdout, capture_output=True).returncode == 0

        self._wait("munged", munge_ok)
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        for node in self.nodes:
            self._spawn(f"slurmd-{node}", ["slurmd", "-D", "-N", node, "-f", str(self.conf)])
        self._wait("idle nodes", lambda: self.idle_nodes() == len(self.nodes))
        return self

    def idle_nodes(self) -> int:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True,
                             text=True, env=self.env)
        return sum(1 for line in out.stdout.split() if line.strip() == "idle")

    def ctld_log(self) -> str:
        """slurmctld's log, for a failure message."""
        return (self.base / "log" / "slurmctld.log").read_text(errors="replace")

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        """Stop the daemons started here (slurmd first), by PID; SIGKILL what lingers."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
