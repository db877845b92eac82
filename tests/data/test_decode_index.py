"""The frame index: demux-built equals decode-built, open GOP and edit lists detected, caches, self-repair."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from vidssl.data import open_video
from vidssl.data.decode import FrameIndex, clear_probe_cache, set_index_cache_dir
from vidssl.data.decode import probe as probe_mod
from vidssl.data.decode.source import VideoSource

sys.path.insert(0, str(Path(__file__).parent))
from decode_fixtures import VideoSpec, read_code, write_video

HARD = ["h1_xvid_bframes.avi", "h2_vp9.webm", "h3_h264_opengop.mp4", "h4_editlist_cut.mp4", "h5_no_editlist.mp4",
        "h6_vfr.mp4", "h7_h264.mkv", "h8_video_offset.mp4"]


@pytest.mark.parametrize("name", HARD)
def test_demux_index_equals_full_decode(hard_dir, name):
    src = VideoSource.from_any(hard_dir / name)
    fast = probe_mod.probe(src, use_cache=False).index
    full = probe_mod.probe(src, full_decode=True, use_cache=False).index
    assert full.method == "decode"
    np.testing.assert_array_equal(fast.pts, full.pts)
    np.testing.assert_allclose(fast.times, full.times)
    assert set(full.keyframes.tolist()) <= set(fast.keyframes.tolist()) | {0}


def test_hard_file_structure_detected(hard_dir):
    def index(name):
        return probe_mod.probe(VideoSource.from_any(hard_dir / name)).index

    assert index("h1_xvid_bframes.avi").reordered and index("h1_xvid_bframes.avi").method == "decode"
    assert len(index("h1_xvid_bframes.avi")) == 248 and index("h1_xvid_bframes.avi").header_frames == 251
    assert index("h3_h264_opengop.mp4").open_gop
    assert index("h4_editlist_cut.mp4").discarded == 13 and len(index("h4_editlist_cut.mp4")) == 237
    assert not index("h5_no_editlist.mp4").open_gop and index("h5_no_editlist.mp4").times[0] == pytest.approx(0.08)


def test_json_round_trip_and_seek_points(tmp_path):
    path = write_video(tmp_path / "v.mp4", VideoSpec(n_frames=30, gop=10, codec="libx264", bframes=2))
    with open_video(path, backend="pyav") as reader:
        index = reader.index
    again = FrameIndex.from_json(index.to_json())
    np.testing.assert_array_equal(again.pts, index.pts)
    assert again.time_base == index.time_base and again.keyframes.tolist() == [0, 10, 20]
    assert again.seek_point(9).frame == 0 and again.seek_point(10).frame == 10 and again.seek_point(29).frame == 20
    assert again.previous_seek_point(again.seek_point(25)).frame == 10


def test_disk_cache_shared_between_processes(tmp_path, monkeypatch):
    path = write_video(tmp_path / "v.mp4", VideoSpec(n_frames=20, gop=5))
    set_index_cache_dir(tmp_path / "cache")
    try:
        clear_probe_cache()
        first = probe_mod.probe_video(path)
        assert list((tmp_path / "cache").rglob("*.json"))
        clear_probe_cache()  # as in a fresh worker process

        def fail(*a, **k):
            raise AssertionError("measured again instead of reading the disk cache")

        monkeypatch.setattr(probe_mod, "_measure", fail)
        assert probe_mod.probe_video(path) == first
    finally:
        set_index_cache_dir(None)
        clear_probe_cache()


def test_wrong_demux_index_is_rebuilt(tmp_path):
    # An index claiming a frame the decoder never produces (as a lying container would) is repaired once.
    path = write_video(tmp_path / "v.mp4", VideoSpec(n_frames=30, gop=10))
    with open_video(path, backend="pyav") as reader:
        good = reader.index
    bad_pts = good.pts.copy()
    bad_pts[12] += 1  # frame 12 "has" a pts no decoded frame carries
    bad = dataclasses.replace(good, pts=bad_pts, _lookup={})
    with open_video(path, backend="pyav", index=bad) as reader:
        got = reader.get_frames([14, 12, 3]).data.permute(0, 2, 3, 1).numpy()
        assert reader.index.method == "decode"
    assert [read_code(f) for f in got] == [14, 12, 3]
    clear_probe_cache()
