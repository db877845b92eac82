"""The exact PyAV path and probing: frame identity, any order and duplicates, bytes sources, index reuse."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vidssl.data import open_video, probe_video
from vidssl.data.decode import FrameIndex, clear_probe_cache

sys.path.insert(0, str(Path(__file__).parent))
from decode_fixtures import VideoSpec, frame_image, read_code, sequential_frames, write_video


@pytest.fixture(scope="module")
def lossless_gop(tmp_path_factory):
    """Lossless RGB H.264, keyframe every 10 frames: pixels must come back exactly."""
    return write_video(tmp_path_factory.mktemp("v") / "lossless.mp4", VideoSpec(n_frames=40, gop=10))


@pytest.fixture(scope="module")
def bframes_mp4(tmp_path_factory):
    """Lossy H.264 with B-frames (pts reordering), keyframe every 12."""
    return write_video(tmp_path_factory.mktemp("v") / "bframes.mp4", VideoSpec(n_frames=60, codec="libx264",
                                                                                  bframes=3, gop=12))


def test_lossless_frames_exact_any_order(lossless_gop):
    with open_video(lossless_gop, backend="pyav") as reader:
        assert len(reader) == 40
        idx = [39, 0, 11, 11, 10, 25, 3, 39]
        batch = reader.get_frames(idx)
        assert batch.data.shape == (8, 3, 64, 96) and batch.data.dtype == torch.uint8
        assert batch.indices.tolist() == idx
        for k, i in enumerate(idx):
            np.testing.assert_array_equal(batch.data[k].permute(1, 2, 0).numpy(), frame_image(i, 96, 64))
        np.testing.assert_allclose(batch.pts.numpy(), np.array(idx) / 25.0)


def test_bframes_identity_matches_sequential_decode(bframes_mp4):
    reference = sequential_frames(bframes_mp4)
    rng = np.random.default_rng(0)
    with open_video(bframes_mp4, backend="pyav") as reader:
        assert len(reader) == len(reference) == 60
        for _ in range(4):
            idx = rng.integers(0, 60, size=9)
            got = reader.get_frames(idx).data.permute(0, 2, 3, 1).numpy()
            np.testing.assert_array_equal(got, reference[idx])
            assert [read_code(f) for f in got] == idx.tolist()
        # a full sorted pass, then going backwards: the decoder position must not leak between calls
        assert [read_code(f) for f in reader.get_frames(np.arange(60)).data.permute(0, 2, 3, 1).numpy()] == list(
            range(60))
        assert [read_code(f) for f in reader.get_frames([5, 4]).data.permute(0, 2, 3, 1).numpy()] == [5, 4]


def test_probe_measures_file(bframes_mp4):
    info = probe_video(bframes_mp4)
    assert (info.num_frames, info.width, info.height) == (60, 96, 64)
    assert info.fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(60 / 25.0)
    assert info.keyframes == (0, 12, 24, 36, 48)
    assert not info.is_vfr and info.rotation == 0 and not info.has_audio
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"


def test_bytes_source_and_precomputed_index(lossless_gop):
    data = lossless_gop.read_bytes()
    with open_video(data, backend="pyav") as reader:
        got = reader.get_frames([7, 2]).data.permute(0, 2, 3, 1).numpy()
        index_json = reader.index.to_json()
    np.testing.assert_array_equal(got[0], frame_image(7, 96, 64))
    index = FrameIndex.from_json(index_json)
    clear_probe_cache()
    with open_video(lossless_gop, backend="pyav", index=index) as reader:
        assert reader.index is index and len(reader) == 40
        np.testing.assert_array_equal(reader.get_frames([33]).data[0].permute(1, 2, 0).numpy(),
                                      frame_image(33, 96, 64))


def test_empty_request_and_out_of_range(lossless_gop):
    with open_video(lossless_gop, backend="pyav") as reader:
        empty = reader.get_frames([])
        assert empty.data.shape == (0, 3, 64, 96)
        with pytest.raises(IndexError, match=r"lossless\.mp4: frame 40 out of range"):
            reader.get_frames([3, 40])
        with pytest.raises(IndexError):
            reader.get_frames([-1])
        with pytest.raises(TypeError):
            reader.get_frames([1.5])


def test_decode_cost_counts_from_keyframe(lossless_gop):
    with open_video(lossless_gop, backend="pyav") as reader:
        idx = reader.index
        assert idx.decode_cost(np.array([12, 13])) == 4  # from keyframe 10: frames 10..13
        assert idx.decode_cost(np.array([12, 25])) == 3 + 6  # two runs: 10..12 and 20..25
        assert idx.decode_cost(np.array([9, 10])) == 11  # 0..9 then continue to 10 without seeking
