"""``open_video`` and backend selection.

Backends import lazily: a missing or broken one raises :class:`BackendUnavailableError` naming the install step, and
``backend="auto"`` skips it. Every backend returns the same frames for the same indices (see
:mod:`vidssl.data.decode.reader`); backends that cannot be exact on a file fall back to the exact PyAV path for
that file (``reader.fallback`` says why).

``auto`` takes the first available backend of :data:`AUTO_ORDER_CPU` (or :data:`AUTO_ORDER_CUDA`), an order
measured with ``benchmarks/decode.py`` (figures in docs/notes/reader.md). Every backend is exact on every file, so
the order is about speed only.
"""

from __future__ import annotations

import importlib
from typing import Any

from vidssl.data.decode.base import BackendUnavailableError
from vidssl.data.decode.gpu import check_not_in_worker
from vidssl.data.decode.index import FrameIndex
from vidssl.data.decode.reader import BaseReader, Rotation
from vidssl.data.decode.source import SourceLike, VideoSource

__all__ = ["BACKENDS", "INSTALL_HINTS", "available_backends", "open_video", "resolve_backend"]

# name -> (module, class)
BACKENDS: dict[str, tuple[str, str]] = {
    "pyav": ("vidssl.data.decode.pyav_reader", "PyAVReader"),
    "decord": ("vidssl.data.decode.decord_reader", "DecordReader"),
    "torchcodec": ("vidssl.data.decode.torchcodec_reader", "TorchCodecReader"),
    "opencv": ("vidssl.data.decode.opencv_reader", "OpenCVReader"),
}
INSTALL_HINTS: dict[str, str] = {
    "pyav": "pip install av",
    "decord": "pip install decord (GPU decoding needs decord built from source with CUDA)",
    "torchcodec": "pip install torchcodec, plus the FFmpeg shared libraries (apt-get install ffmpeg)",
    "opencv": "pip install opencv-python-headless",
}
# Fastest exact first (benchmarks/decode.py; docs/notes/reader.md).
AUTO_ORDER_CPU = ("pyav", "torchcodec", "decord", "opencv")
AUTO_ORDER_CUDA = ("torchcodec", "decord")


def _reader_class(backend: str) -> type[BaseReader]:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from auto, {', '.join(BACKENDS)}")
    module, cls = BACKENDS[backend]
    try:
        return getattr(importlib.import_module(module), cls)
    except BackendUnavailableError:
        raise
    except Exception as exc:  # ImportError, or a library whose native part fails to load (OSError, RuntimeError)
        raise BackendUnavailableError(f"video backend {backend!r} cannot load ({type(exc).__name__}: {exc}); "
                                      f"install it: {INSTALL_HINTS[backend]}") from exc


def available_backends() -> dict[str, str]:
    """``{backend: "ok" or the reason it cannot load}`` for every backend (imports each one)."""
    status = {}
    for name in BACKENDS:
        try:
            _reader_class(name).check_available()
            status[name] = "ok"
        except BackendUnavailableError as exc:
            status[name] = str(exc)
    return status


def resolve_backend(backend: str, device: str = "cpu") -> str:
    """The concrete backend ``open_video`` would use for ``backend`` on ``device``.

    Raises:
        BackendUnavailableError: ``backend`` (or, for ``auto``, every candidate) cannot load.
    """
    if backend != "auto":
        _reader_class(backend).check_available(device)
        return backend
    order = AUTO_ORDER_CPU if device == "cpu" else AUTO_ORDER_CUDA
    errors = []
    for name in order:
        try:
            _reader_class(name).check_available(device)
            return name
        except BackendUnavailableError as exc:
            errors.append(str(exc))
    raise BackendUnavailableError(f"no video backend can decode on {device!r}: " + "; ".join(errors))


def open_video(
    source: SourceLike | VideoSource,
    backend: str = "auto",
    device: str = "cpu",
    *,
    stream: int = 0,
    rotation: Rotation = "apply",
    index: FrameIndex | None = None,
    name: str | None = None,
    **options: Any,
) -> BaseReader:
    """Open a video for frame-exact reading.

    Args:
        source: a path, or the file's bytes (e.g. from a WebDataset shard).
        backend: ``auto``, ``pyav``, ``decord``, ``torchcodec`` or ``opencv``.
        device: ``cpu`` or ``cuda[:i]`` (torchcodec's CUDA decoder; decord built with CUDA). Never inside forked
            DataLoader workers: use :class:`vidssl.data.decode.gpu.GpuClipLoader`.
        stream: which video stream, 0-based among the file's video streams.
        rotation: ``apply`` (frames rotated for display) or ``report`` (as stored; ``info.rotation`` says how).
        index: a precomputed :class:`FrameIndex` (e.g. saved with ``index.to_json()``) to skip measuring the file.
        name: label used in error messages (default: the path).
        **options: backend options (``num_threads`` for all backends).

    Returns:
        A reader: ``reader.info`` (VideoInfo), ``reader.get_frames(indices)``, ``reader.get_audio(start, end)``.
        Readers are cheap to open and must not be shared across processes: open one inside each worker.

    Raises:
        FileNotFoundError: no such file.
        VideoReadError: the file is empty, not a video, truncated, or has no such video stream.
        BackendUnavailableError: the backend is not installed or cannot load (the message says how to install it).
    """
    check_not_in_worker(device)
    chosen = resolve_backend(backend, device)
    src = VideoSource.from_any(source, name=name)
    return _reader_class(chosen)(src, stream=stream, rotation=rotation, index=index, device=device, **options)
