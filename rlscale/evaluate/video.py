"""Recording rendered episodes to ``.mp4`` or ``.gif``, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from rlscale.errors import ConfigError, MissingExtraError, RunDirError
from rlscale.results.files import publish_file

VIDEO_SUFFIXES = (".mp4", ".gif")


def check_output_file(path: Path, suffixes: tuple[str, ...], flag: str, overwrite: bool) -> None:
    """Refuse a wrong suffix, a missing folder, or an existing file (unless ``overwrite``)."""
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}")
    if not path.parent.is_dir():
        raise ConfigError(f"{flag} {path}: folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise RunDirError(f"{path} already exists; pass --overwrite to replace it")


def check_video_path(path: Path, overwrite: bool = False) -> None:
    """Validate ``--video PATH`` before anything runs."""
    check_output_file(path, VIDEO_SUFFIXES, "--video", overwrite)
    _imageio()
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise MissingExtraError("--video .mp4", "video") from None


def _imageio() -> Any:
    try:
        import imageio.v2 as iio
    except ImportError:
        raise MissingExtraError("--video", "video") from None
    return iio


class VideoRecorder:
    """Append frames; the file appears at ``path`` only when recording succeeded."""

    def __init__(self, path: Path, fps: int = 50) -> None:
        self.path = path
        self.fps = fps
        self.frames = 0
        self._tmp: Path | None = None
        self._writer: Any = None

    def __enter__(self) -> VideoRecorder:
        iio = _imageio()
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=self.path.suffix
        )
        os.close(fd)
        self._tmp = Path(tmp)
        if self.path.suffix.lower() == ".mp4":
            # Even frame sizes are padded by us, so ffmpeg need not resize (macro block 2).
            self._writer = iio.get_writer(
                tmp, format="FFMPEG", mode="I", fps=self.fps, codec="libx264",
                pixelformat="yuv420p", macro_block_size=2, ffmpeg_log_level="error",
            )
        else:
            self._writer = iio.get_writer(tmp, format="GIF", mode="I",
                                          duration=1000.0 / self.fps, loop=0)
        return self

    def add(self, frame: np.ndarray) -> None:
        """Append one RGB frame (H x W x 3, uint8)."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[-1] not in (3, 4):
            raise ConfigError(f"render() returned an array of shape {frame.shape}, not an image")
        frame = frame[..., :3].astype(np.uint8, copy=False)
        h, w = frame.shape[:2]
        if h % 2 or w % 2:
            frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        self._writer.append_data(frame)
        self.frames += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tmp is not None
        try:
            self._writer.close()
        finally:
            if exc_type is None and self.frames > 0:
                publish_file(self._tmp, self.path)
            else:
                self._tmp.unlink(missing_ok=True)


def count_frames(path: Path, fps: int = 50) -> int:
    """Frames in a written video (for checks).

    A GIF stores identical consecutive frames once, with their durations added, so its
    frames are counted as total duration / frame duration.
    """
    if path.suffix.lower() == ".mp4":
        import imageio_ffmpeg

        return int(imageio_ffmpeg.count_frames_and_secs(str(path))[0])
    from PIL import Image

    total_ms = 0.0
    with Image.open(path) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            total_ms += float(image.info.get("duration", 0))
    return round(total_ms / (1000.0 / fps))
