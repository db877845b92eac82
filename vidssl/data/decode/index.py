"""The per-file frame index: the pts of every frame in presentation order, and where decoding can start.

"Frame i" is frame i of a full sequential decode (``container.decode(video=stream)``). The index records, for each
such frame, the pts the decoder gives it (what identifies it after a seek) and its presentation time, plus the frames
that are keyframes. Building it:

* **demux** (milliseconds): read packets without decoding. Trusted only where one packet is one frame and packet pts
  are the decoder's pts: containers with real pts (not AVI, not raw elementary streams), codecs without packed
  frames, unique pts, no corrupt packets. Packets the edit list discards (``is_discard``) are not frames. The first
  frames are then decoded and compared with the demux prefix (catches decoders dropping undecodable leading
  frames); any later mismatch found while reading triggers a rebuild from a decode (readers do this).
* **decode** (a full decode without colour conversion): everything else, e.g. XviD in AVI, whose decoder emits pts
  out of order (``h1_xvid_bframes.avi``: packed B-frames; its header also says 251 frames where 248 decode).

References: FFmpeg ``AVPacket`` flags (``AV_PKT_FLAG_DISCARD`` for edit lists, ``AV_PKT_FLAG_KEY``);
data/hard/README.md for the failure cases this guards against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["FrameIndex", "SeekPoint"]

# Where a decoder output frame identified by pts is ambiguous or absent, frames can only be counted from the start.
REWIND = -1


@dataclass(frozen=True)
class SeekPoint:
    """Where to start decoding to reach a frame.

    Attributes:
        frame: index of the first frame decodable from here (a keyframe), or 0 for the start of the stream.
        pts: the keyframe's pts to seek to (stream time base), or ``None`` to rewind to the very start.
    """

    frame: int
    pts: int | None


@dataclass(frozen=True, eq=False)
class FrameIndex:
    """Frame-level index of one video stream.

    Attributes:
        pts: ``int64 [N]`` decoder pts of frame ``i`` (stream time base): the key that identifies a decoded frame.
            Not necessarily increasing (AVI with packed B-frames).
        times: ``float64 [N]`` presentation time of frame ``i`` in seconds (increasing).
        keyframes: ``int64 [K]`` sorted indices of frames that are keyframes (a seek can land on them).
        time_base: the stream's time base (seconds per pts tick).
        method: ``"demux"`` or ``"decode"``: how the index was built.
        identifiable: whether every frame has a distinct pts, so frames can be recognised after a seek; if not, the
            only seek point is the start of the stream and frames are counted.
        open_gop: some keyframe has leading pictures (later in decode order, earlier in presentation) that need the
            previous GOP: seeking to that keyframe cannot produce them.
        reordered: decoder pts are not increasing in output order.
        discarded: packets hidden by an edit list.
        header_frames: the frame count the container claims (0 when it does not say).
        packets: video packets demuxed (including discarded ones).
        stream_index: the stream's index in the container (what decord/torchcodec/OpenCV call a stream).
    """

    pts: np.ndarray
    times: np.ndarray
    keyframes: np.ndarray
    time_base: Fraction
    method: str
    identifiable: bool = True
    open_gop: bool = False
    reordered: bool = False
    discarded: int = 0
    header_frames: int = 0
    packets: int = 0
    stream_index: int = -1
    _lookup: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pts", np.asarray(self.pts, dtype=np.int64))
        object.__setattr__(self, "times", np.asarray(self.times, dtype=np.float64))
        object.__setattr__(self, "keyframes", np.unique(np.asarray(self.keyframes, dtype=np.int64)))
        if self.pts.shape != self.times.shape:
            raise ValueError(f"FrameIndex: pts {self.pts.shape} and times {self.times.shape} differ")
        if self.identifiable and not self._lookup:
            self._lookup.update({int(p): i for i, p in enumerate(self.pts.tolist())})

    def __len__(self) -> int:
        return int(self.pts.shape[0])

    def pts_seconds(self) -> np.ndarray:
        """``float64 [N]`` decoder pts of each frame in seconds (what other backends report with a frame)."""
        return self.pts.astype(np.float64) * float(self.time_base)

    def min_gap(self) -> float:
        """Smallest interval between two frames' times (seconds); half of it tells frames apart by time."""
        if len(self) < 2:
            return 1.0
        return float(np.min(np.diff(self.times))) or float(self.time_base)

    def frame_of_pts(self, pts: int | None) -> int | None:
        """Index of the frame whose decoder pts is ``pts`` (``None`` when no frame has it)."""
        if pts is None:
            return None
        return self._lookup.get(int(pts))

    def seek_point(self, frame: int) -> SeekPoint:
        """Where decoding must start to produce ``frame``: the last keyframe at or before it, else the start.

        For open-GOP streams the rule is the same: leading pictures of keyframe ``k`` have indices below ``k``, so
        they are served from an earlier keyframe.
        """
        if not self.identifiable:
            return SeekPoint(0, None)
        pos = int(np.searchsorted(self.keyframes, frame, side="right")) - 1
        if pos < 0:
            return SeekPoint(0, None)
        k = int(self.keyframes[pos])
        return SeekPoint(k, int(self.pts[k]))

    def previous_seek_point(self, point: SeekPoint) -> SeekPoint:
        """The seek point before ``point`` (the start of the stream at the end)."""
        if point.pts is None or point.frame <= 0:
            return SeekPoint(0, None)
        return self.seek_point(point.frame - 1)

    def decode_cost(self, frames: np.ndarray) -> int:
        """Frames a forward decoder must decode to produce ``frames`` (sorted unique), one pass per GOP run.

        Counts from the keyframe before each run of frames, as ``codec_efficiency`` in benchmarks/decode.py does.
        """
        cost, pos = 0, -1  # pos: last frame decoded
        for f in np.unique(np.asarray(frames, dtype=np.int64)).tolist():
            start = self.seek_point(f).frame
            if start <= pos:  # same run: continue forward from where the decoder is
                cost += f - pos
            else:
                cost += f - start + 1
            pos = f
        return cost

    # -- serialisation (a precomputed index can be stored beside a manifest and passed to open_video) --

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (pts as ints, time base as ``"num/den"``)."""
        return {
            "pts": self.pts.tolist(),
            "times": self.times.tolist(),
            "keyframes": self.keyframes.tolist(),
            "time_base": f"{self.time_base.numerator}/{self.time_base.denominator}",
            "method": self.method,
            "identifiable": self.identifiable,
            "open_gop": self.open_gop,
            "reordered": self.reordered,
            "discarded": self.discarded,
            "header_frames": self.header_frames,
            "packets": self.packets,
            "stream_index": self.stream_index,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameIndex:
        """Inverse of :meth:`to_dict`."""
        kw = dict(data)
        kw["time_base"] = Fraction(str(kw["time_base"]))
        return cls(**kw)

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> FrameIndex:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


def index_from_pts(
    decoder_pts: list[int],
    key_flags: list[bool],
    time_base: Fraction,
    method: str,
    **extra: Any,
) -> FrameIndex:
    """Make an index from the pts the decoder gives each frame, in output order, and which frames are keyframes.

    Presentation times are the sorted pts: a decoder that emits pts out of order (AVI packed B-frames, where pts
    are really decode timestamps) still shows its i-th output frame at the i-th time slot.
    """
    pts = np.asarray(decoder_pts, dtype=np.int64)
    identifiable = len(set(decoder_pts)) == len(decoder_pts)
    reordered = bool(pts.size > 1 and np.any(np.diff(pts) <= 0))
    times = np.sort(pts).astype(np.float64) * float(time_base)
    keys = np.flatnonzero(np.asarray(key_flags, dtype=bool)) if key_flags else np.zeros(0, np.int64)
    return FrameIndex(
        pts=pts,
        times=times,
        keyframes=keys,
        time_base=time_base,
        method=method,
        identifiable=identifiable,
        reordered=reordered,
        **extra,
    )
