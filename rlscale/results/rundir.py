"""The run directory: layout, creation, and refusing to clobber an existing run."""

from __future__ import annotations

import json
import os
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
from rlscale.results.files import atomic_append_text, atomic_write_json, atomic_write_text
from rlscale.results.summary import SUMMARY_FILE, Summary

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
        try:
            if mode == OVERWRITE and self.path.exists():
                shutil.rmtree(self.path)
            self.path.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path / CONFIG_FILE, yaml.safe_dump(config, sort_keys=False))
            if mode == RESUME:
                atomic_append_text(self.path / COMMAND_FILE, command + "\n")
            else:
                atomic_write_text(self.path / COMMAND_FILE, command + "\n")
            atomic_write_json(self.path / VERSIONS_FILE, versions())
        except OSError as exc:  # checked before, but the disk may have changed since
            raise RunDirError(
                f"cannot write the run directory {self.path}: {exc.strerror or exc}"
            ) from None

    def read_config(self) -> dict[str, Any]:
        """The resolved experiment stored in the run; {} when it has no readable one."""
        try:
            return read_config_file(self.path)
        except UnreadableFile:
            return {}


class UnreadableFile(RunDirError):
    """A file of a run directory is there but cannot be read (truncated, corrupt)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: unreadable ({reason})")
        self.path = path
        self.reason = reason


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(path, f"not UTF-8 text at byte {exc.start}") from None
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from None


def read_config_file(run_dir: Path) -> dict[str, Any]:
    """A run's ``config.yaml``; raises :class:`UnreadableFile` (with the reason) when it
    is missing, not YAML or not a mapping."""
    path = run_dir / CONFIG_FILE
    try:
        data = yaml.safe_load(_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UnreadableFile(path, f"not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise UnreadableFile(path, f"not a mapping: a {type(data).__name__}")
    return data


# Fields of summary.json that are shown as numbers or strings: their types are checked.
_NUMBERS = ("timesteps_total", "iterations", "time_total_s", "segments", "updated_at")
_OPTIONAL_NUMBERS = ("target_reward", "best_episode_return_mean", "last_episode_return_mean")
_STRINGS = ("env", "algo", "status")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_summary(run_dir: Path) -> Summary:
    """A run's ``summary.json``; raises :class:`UnreadableFile` (with the reason) when it is
    missing, truncated, not JSON or does not hold a summary."""
    path = run_dir / SUMMARY_FILE
    text = _text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated")
        what = "truncated" if cut else "not valid JSON"
        raise UnreadableFile(path, f"{what}: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise UnreadableFile(path, f"not a JSON object: a {type(data).__name__}")
    missing = [k for k in _STRINGS[:2] if k not in data]
    if missing:
        raise UnreadableFile(path, f"no {', '.join(missing)}")
    bad = [k for k in _STRINGS if k in data and not isinstance(data[k], str)]
    bad += [k for k in _NUMBERS if k in data and not _number(data[k])]
    bad += [k for k in _OPTIONAL_NUMBERS if data.get(k) is not None and not _number(data[k])]
    if bad:
        raise UnreadableFile(path, f"wrong type of {', '.join(bad)}")
    try:
        return Summary.read(run_dir)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise UnreadableFile(path, f"not a run summary: {type(exc).__name__}") from None


# File systems of the kernel (no place for results) and where a read-only one is mounted.
PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
    "securityfs", "configfs", "pstore", "bpf", "mqueue", "fusectl", "efivarfs",
    "binfmt_misc", "autofs", "nsfs", "rpc_pipefs", "hugetlbfs",
})


def _mount_of(path: Path) -> tuple[str, str] | None:
    """(mount point, file system type) that holds ``path``, from the Linux mount table."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    best: tuple[str, str] | None = None
    text = str(path)
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ").replace("\\011", "\t")
        inside = text == point or text.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fields[2])
    return best


def check_output_folder(folder: Path) -> None:
    """Refuse, before anything is written, an output folder that cannot hold runs: under a
    file, on a kernel file system (/proc, /sys), read-only or not writable by this user.
    ``folder`` is absolute; it need not exist yet."""
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        kind = "a file" if existing.exists() else "a broken link"
        raise RunDirError(
            f"output folder {folder} cannot be created: {existing} is {kind}, not a folder"
        )
    mount = _mount_of(existing)
    if mount is not None and mount[1] in PSEUDO_FILESYSTEMS:
        raise RunDirError(
            f"output folder {folder} is on {mount[0]}, a {mount[1]} file system of the "
            "kernel, not a place for files; choose another --output"
        )
    try:
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise RunDirError(f"output folder {folder}: {existing} is on a read-only file system")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunDirError(f"output folder {folder}: {existing} is not writable by this user")


