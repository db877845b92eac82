"""Error policy with real broken files: skipped, logged, counted across DataLoader workers; or raised."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest
from torch.utils.data import DataLoader

from vidssl.data.collate import collate_examples
from vidssl.data.datasets.clip_dataset import VideoClipDataset
from vidssl.data.datasets.decoding import DecodeStageError
from vidssl.data.errors import SKIPPED_KEY, FailureCounter, SkipRecord, failure_reason
from vidssl.data.planners import RandomClip, ShuffleAndLearn
from vidssl.types import VideoMeta


def write_video(path: Path, n: int = 24, size: int = 32, fps: int = 16, seed: int = 0) -> Path:
    """A small real H.264 file: a bright square moving over a flat background."""
    bg = np.random.default_rng(seed).integers(0, 80, 3)
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width = v.height = size
        v.pix_fmt = "yuv420p"
        v.options = {"g": "8", "preset": "ultrafast"}
        for i in range(n):
            img = np.empty((size, size, 3), np.uint8)
            img[:] = bg
            x = (i * 2) % (size - 8)
            img[8:16, x : x + 8] = (255, 200, 40)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[list[VideoMeta], set[str]]:
    """3 good videos and 4 bad files: truncated, zero bytes, text, missing."""
    d = tmp_path_factory.mktemp("broken")
    good = [write_video(d / f"good{i}.mp4", seed=i) for i in range(3)]
    full = good[0].read_bytes()
    (d / "truncated.mp4").write_bytes(full[: len(full) // 3])
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("this is not a video\n" * 50)
    bad_names = ["truncated", "empty", "text", "missing"]
    metas = [VideoMeta(p.stem, str(p), 24, 16.0) for p in good]
    metas += [VideoMeta(name, str(d / f"{name}.mp4"), 24, 16.0) for name in bad_names]
    return metas, set(bad_names)


def _run(ds: VideoClipDataset, workers: int) -> tuple[list[str], FailureCounter, list[SkipRecord]]:
    counter, seen, records = FailureCounter(), [], []
    loader = DataLoader(ds, batch_size=3, num_workers=workers, collate_fn=collate_examples)
    for batch in loader:
        counter.update(batch)
        records += list(batch[SKIPPED_KEY])
        seen += batch["video_id"]
    return seen, counter, records


def test_bad_files_are_skipped_and_counted_across_workers(mixed, caplog):
    metas, bad = mixed
    ds = VideoClipDataset(metas, RandomClip(4), clips_per_epoch=14, seed=0)
    runs = {w: _run(ds, w) for w in (0, 2)}
    for seen, counter, records in runs.values():
        assert len(seen) == 14 and not set(seen) & bad  # every sample delivered, none from a bad file
        failed = {r.video_id for r in records}
        assert failed == bad  # each bad file was visited (twice per epoch) and recorded
        assert counter.total == len(records) >= 8
        assert set(counter.events) <= {"corrupt", "truncated", "not_a_video", "empty_file", "missing_file"}
        assert sum(v["files"] for v in counter.as_dict().values()) >= 4
    assert runs[0][0] == runs[2][0]  # same replacements whatever the number of workers
    assert sorted(runs[0][2], key=repr) == sorted(runs[2][2], key=repr)
    with caplog.at_level(logging.WARNING, logger="vidssl.data.errors"):
        text = runs[2][1].log_epoch(0)
    assert text.startswith("epoch 0: skipped") and "from 4 files" in text
    assert any("skipped" in r.message for r in caplog.records)


def test_raise_policy_names_the_file(mixed):
    metas, _ = mixed
    empty = next(m for m in metas if m.video_id == "empty")
    ds = VideoClipDataset([empty, metas[0]], RandomClip(4), on_error="raise")
    idx = next(i for i in range(2) if ds.video_for(i) == 0)
    with pytest.raises(DecodeStageError, match="empty") as info:
        ds[idx]
    assert info.value.record.path == empty.path and info.value.__cause__ is not None


def test_all_bad_gives_up_after_max_attempts(mixed):
    metas, bad = mixed
    only_bad = [m for m in metas if m.video_id in bad]
    ds = VideoClipDataset(only_bad, RandomClip(4), max_attempts=5)
    with pytest.raises(RuntimeError, match="5 videos in a row failed"):
        ds[0]


def test_too_short_for_the_task_is_counted_as_unplannable(tmp_path, mixed):
    metas, _ = mixed
    short = write_video(tmp_path / "short.mp4", n=3)
    ds = VideoClipDataset([VideoMeta("short", str(short), 3, 16.0), metas[0]], ShuffleAndLearn.tiny(),
                          clips_per_epoch=4)
    reasons = [r.reason for i in range(4) for r in ds[i][SKIPPED_KEY]]
    assert reasons and set(reasons) == {"unplannable"}


def test_failure_reason_names():
    assert failure_reason(FileNotFoundError("x")) == "missing_file"
    assert failure_reason(IndexError("x")) == "frame_out_of_range"
    assert failure_reason(KeyError("x")) == "key_error"
    counter = FailureCounter()
    assert counter.summary() == "no skipped videos"
    counter.update([SkipRecord("a", "a.mp4", "corrupt", "m"), SkipRecord("a", "a.mp4", "corrupt", "m")])
    assert counter.as_dict() == {"corrupt": {"events": 2, "files": 1}}
    counter.reset()
    assert counter.total == 0
