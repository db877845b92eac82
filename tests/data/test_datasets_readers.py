"""Reader lifetime: opened per use (or cached per process), never reused across a fork."""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import pytest

from vidssl.data.datasets.decoding import DecodeStageError, ReaderCache, data_stage, decode_plan, reconcile_meta
from vidssl.types import ClipPlan, FrameBatch, VideoInfo, VideoMeta


class CountingReader:
    opened: ClassVar[list[str]] = []
    closed: ClassVar[list[str]] = []

    def __init__(self, source, name):
        self.name = name
        self.info = VideoInfo(path=str(source), num_frames=10, fps=5.0, duration=2.0, width=8, height=6)
        CountingReader.opened.append(name)

    def get_frames(self, idx):
        import torch

        idx = torch.as_tensor(np.asarray(idx))
        return FrameBatch(torch.zeros(len(idx), 3, 6, 8, dtype=torch.uint8), idx.double() / 5, idx)

    def close(self):
        CountingReader.closed.append(self.name)


def opener(source, backend, device, name):
    return CountingReader(source, name)


@pytest.fixture(autouse=True)
def reset():
    CountingReader.opened, CountingReader.closed = [], []


def test_capacity_zero_opens_and_closes_every_time():
    cache = ReaderCache(0, opener=opener)
    for _ in range(2):
        with cache.get("a.mp4", "a", "a.mp4"):
            pass
    assert CountingReader.opened == ["a.mp4", "a.mp4"] == CountingReader.closed


def test_lru_keeps_recent_readers_and_forgets_after_fork():
    cache = ReaderCache(1, opener=opener)
    for key in ("a", "a", "b", "a"):
        with cache.get(key, key, key):
            pass
    assert CountingReader.opened == ["a", "b", "a"] and CountingReader.closed == ["a", "b"]
    cache._pid = os.getpid() + 1  # what a forked child sees: a different pid
    with cache.get("a", "a", "a"):
        pass
    assert CountingReader.opened[-1] == "a" and len(CountingReader.opened) == 4  # reopened, not inherited
    cache.close()


def test_decode_plan_reconciles_metadata_before_planning():
    seen = {}

    def plan(meta, rng, other):
        seen["meta"] = meta
        return ClipPlan(meta.video_id, np.array([meta.num_frames - 1, 0]))

    meta = VideoMeta("v", "v.mp4", num_frames=0, fps=1.0)
    sample = decode_plan(meta, plan, np.random.default_rng(0), readers=ReaderCache(0, opener=opener))
    assert seen["meta"].num_frames == 10 and seen["meta"].width == 8 and seen["meta"].fps == 5.0
    assert sample.frames.indices.tolist() == [0, 9]  # unique, sorted
    assert reconcile_meta(sample.meta, CountingReader("x", "x").info) is sample.meta


def test_planner_value_errors_are_data_errors_but_type_errors_are_bugs():
    readers = ReaderCache(0, opener=opener)
    meta = VideoMeta("v", "v.mp4", num_frames=10, fps=5.0)

    def too_short(meta, rng, other):
        raise ValueError("needs 100 frames")

    def buggy(meta, rng, other):
        raise TypeError("bug")

    with pytest.raises(DecodeStageError) as info:
        decode_plan(meta, too_short, np.random.default_rng(0), readers=readers)
    assert info.value.record.reason == "unplannable"
    with pytest.raises(DecodeStageError, match="os_error"):  # inside the decode stage failures belong to the file
        with data_stage(meta):
            raise OSError("disk")
    with pytest.raises(TypeError, match="bug"):  # a planner bug is not a bad file: it propagates unchanged
        decode_plan(meta, buggy, np.random.default_rng(0), readers=readers)
    assert CountingReader.opened == CountingReader.closed  # and the reader was closed on the way out
