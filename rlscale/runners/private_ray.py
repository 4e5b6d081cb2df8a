"""A local Ray of the run's own, safe on a node shared with other users.

Left to itself, a local Ray 2.60 listens on every interface (gcs_server, raylet, each
worker), takes the user's one token from ``~/.ray/auth_token`` (written 0644) and keeps its
sockets and logs in ``/tmp/ray``, shared by every user of the machine. A run started here
instead:

- listens on 127.0.0.1 only: Ray's processes bind to loopback when their node address is
  127.0.0.1, which Ray replaces by the machine's address unless it runs as a one-machine
  "cluster" (the mode Ray uses on macOS and Windows);
- accepts only clients holding a token of this run's own, 256 random bits in a 0600 file
  inside a 0700 directory made for the run; Ray's processes read it through
  ``RAY_AUTH_TOKEN_PATH`` (a path, never the token, is in their environment), and it is
  removed when the run stops;
- keeps Ray's temp files under ``/tmp/rlscale-<uid>/ray`` (0700), short enough for the
  ~107-byte limit on Unix socket paths, so two users never collide on ``/tmp/ray``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rlscale.errors import ResourceError

TOKEN_FILE = "ray_token"


def user_temp_root() -> Path:
    """``/tmp/rlscale-<uid>``: the user's own folder for Ray's files and the run tokens.

    ``/tmp`` rather than ``$TMPDIR``: a job's temp folder on a cluster is often a long path,
    and Ray's socket paths under it would pass the Unix limit.
    """
    base = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
    return base / f"rlscale-{os.getuid()}"


def own_private_dir(path: Path) -> Path:
    """Create ``path`` (0700) or check that it is a folder of this user's that nobody else
    can read: a folder another user made there first is refused, never used."""
    try:
        path.mkdir(mode=0o700, parents=False, exist_ok=True)
        info = os.lstat(path)
    except OSError as exc:
        raise ResourceError(f"cannot create Ray's private folder {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise ResourceError(f"{path} is not a folder of this user's: refusing to start Ray in it")
    if info.st_mode & 0o077:
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            raise ResourceError(f"cannot make {path} private: {exc.strerror}") from None
    return path


@dataclass
class PrivateRay:
    """The settings of one private local Ray; :meth:`close` undoes them."""

    temp_dir: str
    secret_dir: Path
    token_path: Path
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _saved_cluster_mode: bool = True

    def close(self) -> None:
        """Remove the run's token and put the environment back as it was."""
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _set_cluster_mode(self._saved_cluster_mode)
        shutil.rmtree(self.secret_dir, ignore_errors=True)
        _reload_auth_settings()


def _set_cluster_mode(enabled: bool) -> bool:
    """Ray's switch (read from ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` when Ray is imported)
    that makes it replace a 127.0.0.1 node address by the machine's; returns the old value."""
    from ray._private import ray_constants

    old = bool(ray_constants.ENABLE_RAY_CLUSTER)
    ray_constants.ENABLE_RAY_CLUSTER = enabled
    return old


def _reload_auth_settings() -> None:
    """Make this process's Ray core read the auth mode and token from the environment again
    (it caches both: a second run in one process has a new token)."""
    from ray._raylet import (  # type: ignore[attr-defined]  # not in its stubs
        AuthenticationTokenLoader,
        Config,
    )

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def private_local_ray() -> PrivateRay:
    """Prepare this process (and the Ray processes it starts next) for a private local Ray."""
    root = own_private_dir(user_temp_root())
    temp_dir = own_private_dir(root / "ray")
    secret_dir = Path(tempfile.mkdtemp(prefix="run-", dir=root))  # 0700, the run's own
    token_path = secret_dir / TOKEN_FILE
    fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    env: dict[str, str | None] = {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token_path),
        "RAY_AUTH_TOKEN": None,  # it would win over the file
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # Ray's worker processes: loopback too
    }
    saved = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    private = PrivateRay(str(temp_dir), secret_dir, token_path, saved, _set_cluster_mode(False))
    _reload_auth_settings()
    return private
