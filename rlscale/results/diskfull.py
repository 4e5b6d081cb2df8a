"""A full output file system: told apart by the error number, or by the space left.

A checkpoint or a result file that cannot be written because the disk (or the user's
quota) is full stops the run with one line. Files a user relies on are written under a
temporary name and renamed (:mod:`rlscale.results.files`, the driver's checkpoints), so
the earlier checkpoints and ``summary.json`` stay as they were, and ``--resume`` continues
from the latest checkpoint once there is space again.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from rlscale.errors import DiskFull

# Less free space than this after a failed write: the write failed for want of space
# (PyTorch and others report ENOSPC in errors of their own types).
NEARLY_FULL_BYTES = 1 << 20
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException, path: Path) -> bool:
    """True when ``exc``, raised while writing under ``path``, means no space was left."""
    for error in (exc, exc.__cause__, exc.__context__):
        if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
            return True
    try:
        return shutil.disk_usage(path).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def disk_full(run_dir: Path, what: str) -> DiskFull:
    """The one-line error for a run that stopped because ``what`` could not be written."""
    config = run_dir / "config.yaml"
    return DiskFull(
        f"no space left on the file system of {run_dir} while writing {what}: the run "
        f"stopped; its earlier checkpoints and summary.json are intact. Free some space, "
        f"then continue with: rlscale train {config} --resume"
    )
