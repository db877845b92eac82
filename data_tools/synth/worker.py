"""One corpus video end to end, as run in a worker process: render, encode, measure, write ground truth.

Kept apart from ``corpus`` so worker processes import only numpy, PyAV and Pillow (not pandas or torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_tools.synth.annotations import gt_record, write_jpegs, write_json, write_masks
from data_tools.synth.config import SynthConfig, video_id
from data_tools.synth.encode import probe_mp4, write_mp4
from data_tools.synth.render import render_video

__all__ = ["VideoJob", "make_video"]


@dataclass(frozen=True)
class VideoJob:
    """What the corpus decided for one video.

    Attributes:
        index: video index.
        split: train / val / test.
        audio_index: video whose audio to use (``index`` unless audio is mismatched).
        write_frames: also write decoded JPEG frames in the DAVIS layout.
    """

    index: int
    split: str
    audio_index: int
    write_frames: bool


def make_video(job: VideoJob, config: SynthConfig, out: Path) -> dict[str, Any]:
    """Render, encode, measure and annotate one video; return its manifest row. Runs in a worker process.

    Args:
        job: the video and what to write for it.
        config: generator settings.
        out: corpus folder (subfolders exist).

    Returns:
        Its manifest row (vidssl.data.manifest columns plus gt, annotations, davis_frames, audio_source).
    """
    video = render_video(config, job.index, audio_index=job.audio_index)
    vid = video.video_id
    rel = {
        "video": f"videos/{vid}.mp4",
        "annotations": f"davis/Annotations/{vid}",
        "frames": f"davis/JPEGImages/{vid}" if job.write_frames else None,
    }
    write_mp4(out / rel["video"], video.frames, video.audio, config)
    probe = probe_mp4(out / rel["video"], keep_frames=job.write_frames)
    write_masks(out / rel["annotations"], video.masks)
    if job.write_frames and probe.frames is not None:
        write_jpegs(out / rel["frames"], probe.frames)  # what models see, not the pre-encoding render
    write_json(out / "gt" / f"{vid}.json", gt_record(video, config, job.split, rel))
    keys = probe.keyframes
    return {
        "path": rel["video"],
        "video_id": vid,
        "label": video.label_name,
        "label_index": video.label,
        "split": job.split,
        "group": vid,
        "status": "ok",
        "num_frames": probe.num_frames,
        "fps": probe.fps,
        "duration": probe.num_frames / probe.fps if probe.fps else 0.0,
        "width": probe.width,
        "height": probe.height,
        "codec": probe.codec,
        "pix_fmt": probe.pix_fmt,
        "start_time": probe.start_time,
        "keyframes": " ".join(map(str, keys)),
        "num_keyframes": len(keys),
        "keyframe_interval": float(np.mean(np.diff(keys))) if len(keys) > 1 else float(probe.num_frames),
        "has_audio": True,
        "audio_codec": probe.audio_codec,
        "audio_rate": probe.audio_rate,
        "audio_channels": probe.audio_channels,
        "audio_seconds": probe.audio_samples / probe.audio_rate,
        "audio_start": probe.audio_start,
        "size_bytes": probe.size_bytes,
        "gt": f"gt/{vid}.json",
        "annotations": rel["annotations"],
        "davis_frames": rel["frames"] or "",
        "audio_source": video_id(job.audio_index),
    }
