"""One transcode job: encode to a temporary name, rename into place, measure the result with the reader.

The final name appears only when the output is complete (``os.replace`` of ``.name.partial.mp4``), so "the output
exists" means "the output is finished": a rerun skips it (unless ``overwrite``) and only measures it, which gives the
same manifest row as the run that wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from data_tools.atomic import partial_path
from data_tools.processors.encode import EncodeSettings, encode_ffmpeg, encode_pyav, output_geometry, output_rate
from data_tools.processors.output_probe import measure_output

__all__ = ["transcode_job"]


def error_row(status: str, reason: str) -> dict[str, Any]:
    """Row updates of a file that failed (this module must not import the vidssl reader: workers start fast)."""
    return {"status": status, "reason": reason, "header_frames": 0, "num_video_streams": 0, "num_audio_streams": 0}


def transcode_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Distributor job -> measured row of the output (``status`` ``transcode_failed`` when encoding failed).

    Payload keys: ``src``, ``dst``, ``settings`` (an :class:`EncodeSettings` as a dict), ``encoder`` (``pyav`` or
    ``ffmpeg``), ``ffmpeg`` (binary path), ``width``/``height`` (displayed source size), ``fps``, ``rotation``,
    ``has_audio``, ``overwrite``.
    """
    src, dst = payload["src"], Path(payload["dst"])
    action = "kept"  # reported in the summary only: a rerun keeps what a killed run encoded
    if payload.get("overwrite") or not dst.exists():
        action = "encoded"
        settings = EncodeSettings(**payload["settings"])
        width, height = output_geometry(int(payload["width"]), int(payload["height"]), settings)
        rate = output_rate(float(payload["fps"]), settings)
        tmp = partial_path(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            if payload.get("encoder") == "ffmpeg":
                encode_ffmpeg(src, str(tmp), width=width, height=height, rate=rate, settings=settings,
                              has_audio=bool(payload.get("has_audio")), binary=payload.get("ffmpeg") or "ffmpeg")
            else:
                encode_pyav(src, str(tmp), width=width, height=height, rate=rate, settings=settings,
                            rotation=int(payload.get("rotation", 0)))
            os.replace(tmp, dst)
        except Exception as exc:  # the encoder's failure is this file's status, not the run's
            tmp.unlink(missing_ok=True)
            return {**error_row("transcode_failed", f"{type(exc).__name__}: {exc}"), "_action": "failed"}
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    row = measure_output(str(dst))
    if row["status"] != "ok":  # an output the reader cannot read is a failed transcode, whatever the encoder said
        row = {**row, **error_row("transcode_failed", f"output unreadable: {row['status']}: {row['reason']}")}
    row["_action"] = action
    return row
