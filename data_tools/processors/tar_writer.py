"""Writing one WebDataset tar shard (``shard``): video bytes, JSON metadata, optional WAV audio; index and stats.

Members per sample, in this order: ``<key>.json`` (the manifest row), ``<key>.<ext>`` (the video file's bytes,
unchanged) and, with audio, ``<key>.wav`` (16-bit PCM mono at ``audio_rate``; sample 0 is at ``wav_start`` seconds
on the video clock, stored in the JSON). Keys are ASCII without dots (``0000042_v_Walk_g01_c01``), so both
webdataset's first-dot rule and vidssl's last-dot rule group members the same way. Tar headers are normalised
(mtime 0, uid/gid 0, mode 0444) so the same inputs give byte-identical shards.

The tar is written under ``.shard-00003.partial.tar`` and renamed; then ``shard-00003.index.json`` (keys, video ids,
frame counts, byte offsets); then ``shard-00003.stats.json`` last, the done marker a rerun checks.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from data_tools.atomic import atomic_write_json, partial_path

__all__ = ["encode_wav", "index_path", "shard_job", "stats_path"]


def index_path(tar: str | os.PathLike[str]) -> Path:
    """``shard-00003.tar`` -> ``shard-00003.index.json`` (what ``WebDatasetClips.num_samples`` reads)."""
    tar = Path(tar)
    return tar.with_name(tar.name[: -len(".tar")] + ".index.json")


def stats_path(tar: str | os.PathLike[str]) -> Path:
    """``shard-00003.tar`` -> ``shard-00003.stats.json`` (the done marker)."""
    tar = Path(tar)
    return tar.with_name(tar.name[: -len(".tar")] + ".stats.json")


def encode_wav(path: str, sample_rate: int) -> tuple[bytes, float]:
    """All audio of the first audio stream of ``path`` as a mono 16-bit WAV; returns ``(wav bytes, start seconds)``.

    Raises:
        ValueError: the file has no audio stream.
        av.error.FFmpegError: the audio does not decode.
    """
    import av

    chunks: list[np.ndarray] = []
    start: float | None = None
    with av.open(path, metadata_errors="replace") as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        for frame in container.decode(stream):
            if start is None and frame.time is not None:
                start = float(frame.time)
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    pcm = np.concatenate(chunks).astype("<i2") if chunks else np.zeros(0, "<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue(), start or 0.0


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o444, 0, 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def shard_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Distributor job: write one shard.

    Payload keys: ``tar``, ``fingerprint``, ``audio_rate``, ``samples`` (each ``{"key", "video", "ext", "meta",
    "audio"}``).

    Returns:
        ``{"status", "reason", "count", "bytes", "failures": {key: reason}, "audio_failures": {key: reason}}``; a
        sample whose video cannot be read is left out and listed in ``failures``; a sample whose audio does not
        decode keeps its video (no ``.wav``) and is listed in ``audio_failures``.
    """
    start = time.monotonic()
    tar_path = Path(payload["tar"])
    tmp = partial_path(tar_path)
    failures: dict[str, str] = {}
    audio_failures: dict[str, str] = {}
    index: dict[str, list[Any]] = {"keys": [], "video_ids": [], "num_frames": [], "offsets": []}
    try:
        with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
            for sample in payload["samples"]:
                key, meta = sample["key"], dict(sample["meta"])
                try:
                    video = Path(sample["video"]).read_bytes()
                except OSError as exc:
                    failures[key] = f"video not readable: {exc.strerror or exc}"
                    continue
                wav = None
                if sample.get("audio"):
                    try:
                        wav, meta["wav_start"] = encode_wav(sample["video"], int(payload["audio_rate"]))
                        meta["wav_rate"] = int(payload["audio_rate"])
                    except Exception as exc:  # keep the video; training falls back to decoding audio itself
                        audio_failures[key] = f"{type(exc).__name__}: {exc}"
                index["offsets"].append(tar.offset)
                _add(tar, f"{key}.json", json.dumps(meta, sort_keys=True, default=str).encode())
                _add(tar, f"{key}.{sample['ext']}", video)
                if wav is not None:
                    _add(tar, f"{key}.wav", wav)
                index["keys"].append(key)
                index["video_ids"].append(meta.get("video_id", key))
                index["num_frames"].append(int(meta.get("num_frames", 0) or 0))
        os.replace(tmp, tar_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    size = tar_path.stat().st_size
    atomic_write_json(index_path(tar_path), index)
    stats = {
        "tar": tar_path.name, "fingerprint": payload["fingerprint"], "count": len(index["keys"]),
        "failed": len(failures), "audio_failed": len(audio_failures), "bytes": size,
        "failures": failures, "audio_failures": audio_failures, "seconds": round(time.monotonic() - start, 3),
    }
    atomic_write_json(stats_path(tar_path), stats)  # last: the done marker
    return {"status": "ok" if not failures else "partial", "reason": "; ".join(failures.values())[:500],
            "count": len(index["keys"]), "bytes": size, "failures": failures, "audio_failures": audio_failures}
