"""Frame-accurate video readers over PyAV, decord, torchcodec and OpenCV.

    from vidssl.data import open_video, probe_video

    info = probe_video("clip.mp4")                   # VideoInfo measured from the file
    with open_video("clip.mp4", backend="auto") as reader:
        batch = reader.get_frames([0, 15, 15, 3])    # FrameBatch: uint8 [4, 3, H, W] RGB + pts + indices
        wave = reader.get_audio(0.0, 1.0)            # float32 [1, 16000] on the video pts clock

Module map: ``base`` (contract, errors), ``source`` (paths and bytes), ``container`` (opening with PyAV, error
mapping), ``index`` (per-frame pts and keyframes), ``probe`` (measuring a file, cached), ``index_store`` (on-disk
probe cache), ``reader`` (shared reader logic), ``pyav_reader`` (the exact path), ``verified`` (fast backends with
PyAV fallback), ``decord_reader`` / ``torchcodec_reader`` / ``opencv_reader``, ``audio`` (windows on the video
clock), ``api`` (``open_video``, backend choice), ``gpu`` (decoding on CUDA outside DataLoader workers).
"""

from vidssl.data.decode.api import available_backends, open_video, resolve_backend
from vidssl.data.decode.base import (
    BackendUnavailableError,
    CorruptVideoError,
    NoAudioError,
    NoVideoStreamError,
    VideoReader,
    VideoReadError,
)
from vidssl.data.decode.gpu import GpuClipLoader
from vidssl.data.decode.index import FrameIndex
from vidssl.data.decode.index_store import set_index_cache_dir
from vidssl.data.decode.probe import clear_probe_cache, probe_video

__all__ = [
    "BackendUnavailableError",
    "CorruptVideoError",
    "FrameIndex",
    "GpuClipLoader",
    "NoAudioError",
    "NoVideoStreamError",
    "VideoReadError",
    "VideoReader",
    "available_backends",
    "clear_probe_cache",
    "open_video",
    "probe_video",
    "resolve_backend",
    "set_index_cache_dir",
]
