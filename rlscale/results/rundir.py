"""The run directory: layout, creation, and refusing to clobber an existing run."""

from __future__ import annotations

import platform
import re
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import yaml

from rlscale.errors import RunDirError
from rlscale.results.files import atomic_write_json, atomic_write_text
from rlscale.results.summary import SUMMARY_FILE

CONFIG_FILE = "config.yaml"
COMMAND_FILE = "command.txt"
VERSIONS_FILE = "versions.json"

NEW, RESUME, OVERWRITE = "new", "resume", "overwrite"


# Files ``rlscale slurm`` writes into a run directory before its job trains there.
JOB_FILE_PREFIXES = ("job.sbatch", "slurm", ".job-")


def has_training_files(path: Path) -> bool:
    """True when ``path`` holds anything besides the files of a submitted Slurm job."""
    return path.is_dir() and any(
        not p.name.startswith(JOB_FILE_PREFIXES) for p in path.iterdir()
    )


def is_run_dir(path: Path) -> bool:
    """True when ``path`` holds an rlscale run."""
    return (path / CONFIG_FILE).is_file() or (path / SUMMARY_FILE).is_file()


def versions() -> dict[str, Any]:
    """Versions of the software that produced a run, and where it ran."""
    out: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in ("rlscale", "ray", "torch", "gymnasium", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    out["host"] = socket.gethostname()
    return out


@dataclass(frozen=True)
class OutputDir:
    """What a run's and a sweep's directory share: the default name, the file that reruns
    it, and refusing a mode that would clobber (or miss) an existing one."""

    path: Path

    KIND: ClassVar[str] = "run"  # in messages
    COMMAND: ClassVar[str] = "train"  # the command that writes and resumes it
    RERUN_FILE: ClassVar[str] = CONFIG_FILE  # the experiment file that reruns it
    NAME_TAG: ClassVar[str | None] = None  # in the default name, before the time stamp

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def default_name(cls, env: str, algo: str, now: float | None = None) -> str:
        """``<env>-<algo>[-<tag>]-<YYYYmmdd-HHMMSS>``, the env spec reduced to a safe name."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        short = env.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        short = re.sub(r"[^A-Za-z0-9_.-]+", "_", short).strip("_.") or "env"
        return "-".join(p for p in (short, algo, cls.NAME_TAG, stamp) if p)

    def has_files(self) -> bool:
        """True when something is in the directory that a new run must not clobber."""
        raise NotImplementedError

    def is_ours(self) -> bool:
        """True when the directory holds one of ours (it may be resumed or replaced)."""
        raise NotImplementedError

    def check_mode(self, mode: str) -> None:
        """Refuse before anything is written: an existing one needs --resume/--overwrite."""
        exists = self.has_files()
        if mode == NEW and exists:
            raise RunDirError(
                f"{self.KIND} directory {self.path} already exists; "
                "use --resume to continue it or --overwrite to replace it"
            )
        if mode == RESUME and not self.is_ours():
            raise RunDirError(f"nothing to resume: {self.path} is not an rlscale {self.KIND}")
        if mode == OVERWRITE and exists and not self.is_ours():
            raise RunDirError(
                f"{self.path} exists and is not an rlscale {self.KIND}; refusing to delete it"
            )


@dataclass(frozen=True)
class RunDir(OutputDir):
    """One run's directory."""

    def has_files(self) -> bool:
        return has_training_files(self.path)

    def is_ours(self) -> bool:
        return is_run_dir(self.path)

    def prepare(self, mode: str, config: dict[str, Any], command: str) -> None:
        """Create (or clear, for --overwrite) the directory and write the run manifests."""
        if mode == OVERWRITE and self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / CONFIG_FILE, yaml.safe_dump(config, sort_keys=False))
        if mode == RESUME:
            with open(self.path / COMMAND_FILE, "a") as handle:
                handle.write(command + "\n")
        else:
            atomic_write_text(self.path / COMMAND_FILE, command + "\n")
        atomic_write_json(self.path / VERSIONS_FILE, versions())

    def read_config(self) -> dict[str, Any]:
        """The resolved experiment stored in the run; {} when it has no readable one."""
        try:
            data = yaml.safe_load((self.path / CONFIG_FILE).read_text())
        except (OSError, yaml.YAMLError):
            return {}
        return data if isinstance(data, dict) else {}


