"""The exact reader: PyAV, seeking only to keyframes and recognising every decoded frame by its pts.

For each run of wanted frames (sorted) the reader seeks to the last keyframe at or before the run's first frame
(:meth:`FrameIndex.seek_point`), decodes forward, and keeps the frames whose pts are wanted; frames are identified by
pts, never by counting after a seek. Successive wanted frames in the same GOP (or within one frame of the next
keyframe) are reached by decoding forward without seeking, so a sorted request decodes each GOP once, and the decoder
position survives between calls (consecutive clips continue where the last one stopped).

Seeks are checked: if the first frame decoded after a seek comes *after* the keyframe asked for (a demuxer whose
seek index disagrees with its packets), the reader seeks to the previous keyframe, and at last rewinds to the start.
Open GOP: leading pictures of a keyframe have smaller indices than it, so they are served from the previous keyframe.

Unwanted frames before the last wanted one are sent to the decoder with ``skip_frame=NONREF``: FFmpeg then does not
decode them at all when no other frame references them (non-reference B-frames), which makes sparse requests
(strided clips, tuples, long GOPs) cheaper than decoding every frame from the keyframe. Only frames the request does
not want are skipped, so exactness is unaffected; a later request that wants a skipped frame seeks again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from vidssl.data.decode.container import open_container, select_video_stream, translate_av_error
from vidssl.data.decode.index import SeekPoint
from vidssl.data.decode.reader import BaseReader, IndexMismatch

__all__ = ["PyAVReader"]


class PyAVReader(BaseReader):
    """Frame-exact reader over PyAV; see :class:`~vidssl.data.decode.reader.BaseReader` for arguments.

    Args:
        num_threads: FFmpeg decoder threads (``1``: DataLoader workers give the parallelism; ``0``: FFmpeg picks).
        **kwargs: passed to :class:`BaseReader`.
    """

    backend = "pyav"

    def __init__(self, *args: Any, num_threads: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.device != "cpu":
            raise ValueError(f"{self.name}: the PyAV backend decodes on the CPU only (device={self.device!r})")
        self._num_threads = num_threads
        self._container: Any = None
        self._decoder: _ForwardDecoder | None = None

    def _ensure_open(self) -> _ForwardDecoder:
        if self._decoder is None:
            self._container = open_container(self._src, fast=True)  # probed already: no stream probing needed
            vstream = select_video_stream(self._container, self._stream, self.name)
            ctx = vstream.codec_context
            if self._num_threads != 1:
                ctx.thread_type = "AUTO"
            ctx.thread_count = self._num_threads
            self._decoder = _ForwardDecoder(self, vstream)
        return self._decoder

    def _on_index_changed(self) -> None:
        if self._decoder is not None:
            self._decoder.pos = None  # its position was in the old numbering

    def _decode_sorted(self, frames: np.ndarray) -> tuple[torch.Tensor, int]:
        dec = self._ensure_open()
        index = self.index
        h, w = self.info.height, self.info.width
        # Channels-last, like every other backend: swscale writes packed RGB straight into it, and uint8 resizing
        # (torchvision's antialiased bilinear) is ~2.5x faster on channels-last frames than on planar ones.
        out = np.empty((len(frames), h, w, 3), dtype=np.uint8)
        dec.wanted, dec.last_wanted = set(frames.tolist()), int(frames[-1])
        for slot, f in enumerate(frames.tolist()):
            point = index.seek_point(f)
            # Decode forward when already inside f's run; seeking would only re-decode the same frames.
            if not dec.can_continue_to(f) or point.frame > dec.pos + 1:
                dec.seek(point)
            frame = dec.advance_to(f)
            dec.to_rgb(frame, out[slot])
        return torch.from_numpy(out).permute(0, 3, 1, 2), 0

    def close(self) -> None:
        """Close the container (idempotent)."""
        if self._container is not None:
            self._container.close()
            self._container = None
            self._decoder = None
        super().close()


class _ForwardDecoder:
    """A PyAV container positioned somewhere in the stream, producing ``(frame index, frame)`` in output order."""

    def __init__(self, reader: PyAVReader, vstream: Any) -> None:
        from av.video.reformatter import VideoReformatter

        self.reader = reader
        self.container = reader._container
        self.stream = vstream
        self.pos: int | None = None  # index of the last frame produced, None after a seek until the first one
        self._frames: Iterator[Any] | None = None
        self._pending: deque[Any] = deque()
        self._count: int | None = None  # frame counter for streams whose pts cannot identify frames
        self._reformatter = VideoReformatter()
        index = reader.index
        # Skipping unwanted non-reference frames needs packet pts == frame pts (not AVI packed B-frames). Only with
        # one decoder thread: with frame threads the setting would have to follow each packet into its thread.
        self._can_skip = index.identifiable and not index.reordered and reader._num_threads == 1
        self.wanted: set[int] = set()
        self.last_wanted = -1  # frames after it are decoded normally: a later request may continue into them
        self._skipped: set[int] = set()  # frames fed to the decoder with skipping on, after ``pos``

    # -- positioning --

    def seek(self, point: SeekPoint) -> None:
        """Position the decoder so the next frames start at ``point`` (checked; falls back to earlier points)."""
        index = self.reader.index
        while True:
            self._raw_seek(point)
            if point.pts is None:
                return
            first = self._peek_identified()
            if first is None or first[0] <= point.frame:
                return
            point = index.previous_seek_point(point)  # landed after the keyframe: go back further

    def _raw_seek(self, point: SeekPoint) -> None:
        import av

        self._pending.clear()
        self._skipped.clear()
        self.pos = None
        self._count = None if self.reader.index.identifiable else 0
        try:
            if point.pts is None:
                self.container.seek(0)
            else:
                self.container.seek(point.pts, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            self._reopen()  # some demuxers (AVI, raw streams) refuse seeks: read from the start instead
        self._frames = self._decode_iter()

    def _reopen(self) -> None:
        self.container.close()
        self.container = self.reader._container = open_container(self.reader._src, fast=True)
        old_ctx = self.stream.codec_context
        self.stream = select_video_stream(self.container, self.reader._stream, self.reader.name)
        self.stream.codec_context.thread_type = old_ctx.thread_type
        self.stream.codec_context.thread_count = old_ctx.thread_count

    def can_continue_to(self, frame: int) -> bool:
        """Whether decoding forward reaches ``frame`` (it was not skipped as unwanted by an earlier request)."""
        if self.pos is None or self.pos >= frame:
            return False
        self._skipped = {s for s in self._skipped if s > self.pos}
        return frame not in self._skipped

    def _decode_iter(self) -> Iterator[Any]:
        """Decoded frames in output order.

        Packets of unwanted frames (before the last wanted one) are fed with ``skip_frame=NONREF``: when nothing
        references them, FFmpeg does not decode them at all (non-reference B-frames between the keyframe and a
        wanted frame, or between the frames of a strided clip).
        """
        import av

        ctx = self.stream.codec_context
        index = self.reader.index
        ctx.skip_frame = "DEFAULT"  # a previous iterator may have left skipping on
        skipping = False
        try:
            for packet in self.container.demux(self.stream):
                if self._can_skip:
                    idx = index.frame_of_pts(packet.pts)
                    skip = idx is not None and idx < self.last_wanted and idx not in self.wanted
                    if skip:
                        self._skipped.add(idx)
                    if skip != skipping:
                        ctx.skip_frame = "NONREF" if skip else "DEFAULT"
                        skipping = skip
                yield from packet.decode()
        except (av.error.FFmpegError, EOFError) as exc:
            raise translate_av_error(self.reader.name, exc, "decoding frames") from exc

    # -- producing frames --

    def _next(self) -> tuple[int | None, Any] | None:
        """Next decoded frame with its index (``None`` index: a frame the index does not know); ``None`` at EOF."""
        if self._pending:
            return self._pending.popleft()
        assert self._frames is not None
        frame = next(self._frames, None)
        if frame is None:
            return None
        if self._count is not None:  # counting from the start of the stream
            idx: int | None = self._count
            self._count += 1
        else:
            idx = self.reader.index.frame_of_pts(frame.pts)
        return idx, frame

    def _peek_identified(self) -> tuple[int, Any] | None:
        """The first frame after a seek that the index knows, left in place for the next read."""
        skipped = []
        while True:
            item = self._next()
            if item is None:
                self._pending.extend(skipped)
                return None
            skipped.append(item)
            if item[0] is not None:
                self._pending.extend(skipped)
                return item  # type: ignore[return-value]

    def advance_to(self, target: int) -> Any:
        """Decode forward to frame ``target`` and return it (PyAV frame, not converted).

        Raises:
            IndexMismatch: the decoder skipped past ``target`` or reached the end without producing it.
        """
        while True:
            item = self._next()
            if item is None:
                raise IndexMismatch(f"frame {target} never came out of the decoder (end of stream)")
            idx, frame = item
            if idx is None:
                continue  # e.g. a broken leading picture after a seek, with a pts the index does not list
            if self.pos is not None and idx <= self.pos:
                continue  # leading pictures of the keyframe we landed on: already past them
            self.pos = idx
            if idx == target:
                return frame
            if idx > target:
                raise IndexMismatch(f"decoder went from before frame {target} to frame {idx}")

    def to_rgb(self, frame: Any, out: np.ndarray) -> None:
        """Convert ``frame`` into ``out`` (``uint8 [H, W, 3]`` RGB), scaling if its size differs from the stream's.

        The reformatter is kept across frames (swscale context reused) and its packed output is copied once, row
        padding dropped, into the batch buffer (no intermediate array per frame, as ``to_ndarray`` would make).
        """
        height, width, _ = out.shape
        size = {} if (frame.width, frame.height) == (width, height) else {"width": width, "height": height}
        rgb = self._reformatter.reformat(frame, format="rgb24", threads=1, **size)
        plane = rgb.planes[0]
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        out[...] = rows[:height, : width * 3].reshape(height, width, 3)

