"""A run whose output file system fills up during a checkpoint: one line, the earlier
checkpoints and summary.json intact, and --resume works once space is back
(docs/time-limits.md, "A full disk"). Needs to mount a small tmpfs: root only."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rlscale
from rlscale.errors import DiskFull

pytestmark = pytest.mark.training


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs of its own (skipped where mounting is not allowed)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s file system."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("engine", ["driver", "tune"])
def test_a_full_disk_stops_the_run_in_one_line_and_resume_continues(small_fs: Path,
                                                                      engine: str) -> None:
    experiment: dict[str, Any] = {
        "env": "CartPole-v1", "seed": 0, "output": str(small_fs), "name": "full",
        "resources.num_cpus": 1, "stop.iters": 3, "checkpoint.every": 1,
    }
    filler: list[Path] = []

    def fill_at_iteration_2(row: dict[str, Any]) -> None:
        if row["iteration"] == 2:  # its checkpoint comes next
            filler.append(_fill(small_fs))

    with pytest.raises(DiskFull) as err:
        rlscale.train(overrides=experiment, on_result=fill_at_iteration_2, engine=engine)
    run = small_fs / "full"
    # The driver knows what it was writing; through Tune the trial's error says less.
    what = "checkpoint_000001" if engine == "driver" else \
        "a checkpoint or the iteration's results"
    assert str(err.value) == (
        f"no space left on the file system of {run} while writing {what}: the run "
        "stopped; its earlier checkpoints and summary.json are intact. Free some space, then "
        f"continue with: rlscale train {run / 'config.yaml'} --resume"
    )
    assert "\n" not in str(err.value)
    summary = json.loads((run / "summary.json").read_text())  # whole, readable
    (checkpoint,) = summary["checkpoints"]
    assert (run / checkpoint["path"]).is_dir()
    assert not list(run.rglob(".checkpoint_*.partial"))
    if engine == "driver":  # written under a temporary name: nothing left of it
        assert not list(run.rglob("checkpoint_000001"))
    # (Tune writes its checkpoints in place: a partial one may be left, never recorded.)

    filler[0].unlink()  # space is back
    resumed = rlscale.train(run / "config.yaml", resume=True)
    assert resumed.status == "completed" and resumed.iterations == 3
