"""What a reader opens: a path or in-memory bytes, with a stable identity for caching per-file indexes.

WebDataset shards hold whole video files as bytes. PyAV and torchcodec decode bytes directly; decord and OpenCV
need a path, so :meth:`VideoSource.as_path` spills the bytes to a temporary file that lives as long as the source.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from vidssl.data.decode.base import CorruptVideoError, VideoReadError

__all__ = ["SourceLike", "VideoSource"]

SourceLike = str | os.PathLike | bytes | bytearray | memoryview


@dataclass
class VideoSource:
    """A video file on disk or in memory.

    Attributes:
        name: what error messages call it (the path, or ``<bytes:N>`` plus a short hash).
        path: the file on disk, or ``None`` for bytes not yet spilled.
        data: the bytes, or ``None`` for a path.
        key: identity for per-process caches: ``(path, size, mtime_ns)`` for files, a content hash for bytes.
    """

    name: str
    path: str | None
    data: bytes | None
    key: tuple
    _spilled: str | None = field(default=None, repr=False)

    @classmethod
    def from_any(cls, source: SourceLike | VideoSource, name: str | None = None) -> VideoSource:
        """Wrap a path or bytes, checking that the file exists and is not empty.

        Args:
            source: a path, ``bytes``-like video data, or an existing ``VideoSource`` (returned as is).
            name: label for error messages (defaults to the path, or a hash of the bytes).

        Raises:
            FileNotFoundError: no such file.
            CorruptVideoError: zero bytes.
            TypeError: ``source`` is neither a path nor bytes.
        """
        if isinstance(source, VideoSource):
            return source
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            digest = hashlib.blake2b(data, digest_size=12).hexdigest()
            label = name or f"<bytes:{len(data)}:{digest[:8]}>"
            if not data:
                raise CorruptVideoError(label, "zero bytes", reason="empty_file")
            return cls(name=label, path=None, data=data, key=("bytes", len(data), digest))
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            label = name or path
            try:
                st = os.stat(path)
            except FileNotFoundError:
                raise FileNotFoundError(f"{label}: no such video file") from None
            if Path(path).is_dir():
                raise VideoReadError(label, "is a directory, not a video file", reason="not_a_file")
            if st.st_size == 0:
                raise CorruptVideoError(label, "zero bytes", reason="empty_file")
            key = ("file", os.path.abspath(path), st.st_size, st.st_mtime_ns)
            return cls(name=label, path=path, data=None, key=key)
        raise TypeError(f"video source must be a path or bytes, got {type(source).__name__}")

    def open_for_av(self) -> str | io.BytesIO:
        """What ``av.open`` accepts: the path, or a fresh in-memory file over the bytes."""
        if self.path is not None:
            return self.path
        assert self.data is not None
        return io.BytesIO(self.data)

    def as_path(self) -> str:
        """A path on disk holding the video, spilling bytes to a temporary file on first use."""
        if self.path is not None:
            return self.path
        if self._spilled is None:
            fd, tmp = tempfile.mkstemp(prefix="vidssl-", suffix=".video")
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.data or b"")
            self._spilled = tmp
        return self._spilled

    def cleanup(self) -> None:
        """Delete the spilled temporary file, if any."""
        if self._spilled is not None:
            Path(self._spilled).unlink(missing_ok=True)
            self._spilled = None

    def __del__(self) -> None:
        # Temp files of bytes sources must not outlive the reader, even when close() was forgotten.
        try:
            self.cleanup()
        except Exception:  # interpreter shutdown: os/pathlib may be gone
            pass
