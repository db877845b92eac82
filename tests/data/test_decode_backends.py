"""Every backend returns the frames of a sequential PyAV decode: synthetic, hard and real files, rotation, streams.

Identity is checked the strict way: for each returned frame, the best-matching frame of the sequential decode must be
the requested one, and the error must be within YUV->RGB rounding (backends convert with different swscale setups).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from vidssl.data import open_video
from vidssl.data.decode import BackendUnavailableError
from vidssl.data.decode.api import BACKENDS, _reader_class

sys.path.insert(0, str(Path(__file__).parent))
from decode_fixtures import VideoSpec, best_match, frame_image, read_code, sequential_frames, write_video

ROUNDING = 2.0  # mean absolute error allowed between backends' YUV->RGB conversions (measured: <= 0.7)
HARD = ["h1_xvid_bframes.avi", "h2_vp9.webm", "h3_h264_opengop.mp4", "h4_editlist_cut.mp4", "h5_no_editlist.mp4",
        "h6_vfr.mp4", "h7_h264.mkv", "h8_video_offset.mp4"]
REAL = ["action/ucf101__ApplyEyeMakeup__mmaction2_test.avi", "action/kinetics__arm_wrestling__mmaction2_demo.mp4",
        "action/kinetics__flipping_pancake__decord.mkv", "audio_video/realshort.mp4", "audio_video/nasa_13013.mp4",
        "robustness/fire2.mp4", "robustness/no_duration.webm", "robustness/carphone_distorted.mp4",
        "robustness/carphone__odd_177x145__vp9.webm", "robustness/video_0.mov", "robustness/video_90.mov",
        "robustness/video_180.mov", "robustness/video_270.mov"]  # every video of data/real (vos is JPEG folders)


@pytest.fixture(params=list(BACKENDS))
def backend(request):
    try:
        _reader_class(request.param).check_available()
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))
    return request.param


def _request(n: int, seed: int, k: int = 16) -> np.ndarray:
    """Unsorted indices with duplicates, always including the first and last frames."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=k)
    return np.concatenate([[n - 1], idx[: k // 2], idx[: 2], [0], idx[k // 2 :]])


def _assert_identity(got_hwc: np.ndarray, idx: np.ndarray, reference: np.ndarray, label: str) -> None:
    for frame, want in zip(got_hwc, idx.tolist()):
        best, err = best_match(frame, reference, around=want)
        own = float(np.abs(reference[want].astype(np.int16) - frame.astype(np.int16)).mean())
        # Real footage repeats frames (static shots, frame-rate conversion): a tie with a copy is not an error.
        own_sub = float(np.abs(reference[want, ::2, ::2].astype(np.int16) - frame[::2, ::2].astype(np.int16)).mean())
        assert best == want or own_sub <= err + 1e-6, f"{label}: asked for frame {want}, got frame {best}"
        assert own <= ROUNDING, f"{label}: frame {want} differs by {own:.2f} from the sequential decode"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    steps = [1, 1, 2, 1, 3] * 12  # variable frame rate
    return {
        "lossless_rgb": write_video(d / "lossless.mp4", VideoSpec(n_frames=48, gop=12)),
        "ffv1_mkv": write_video(d / "ffv1.mkv", VideoSpec(n_frames=30, codec="ffv1", gop=8)),
        "h264_bframes": write_video(d / "bf.mp4", VideoSpec(n_frames=60, codec="libx264", bframes=3, gop=15)),
        "mpeg4_avi": write_video(d / "xvid.avi", VideoSpec(n_frames=50, codec="mpeg4", bframes=2, gop=12)),
        "vfr_offset": write_video(d / "vfr.mp4", VideoSpec(n_frames=60, codec="libx264", bframes=2, gop=10,
                                                           frame_steps=steps, video_start=0.4)),
        "vp9_webm": write_video(d / "vp9.webm", VideoSpec(n_frames=40, codec="libvpx-vp9", gop=10)),
    }


@pytest.mark.parametrize("name", ["lossless_rgb", "ffv1_mkv", "h264_bframes", "mpeg4_avi", "vfr_offset",
                                  "vp9_webm"])
def test_synthetic_frames_identical(backend, synthetic, name):
    path = synthetic[name]
    reference = sequential_frames(path)
    with open_video(path, backend=backend) as reader:
        assert len(reader) == len(reference) and reader.backend == backend
        idx = _request(len(reader), seed=1)
        batch = reader.get_frames(idx)
        got = batch.data.permute(0, 2, 3, 1).numpy()
        assert batch.indices.tolist() == idx.tolist()
        np.testing.assert_allclose(batch.pts.numpy(), reader.index.times[idx])
    assert [read_code(f) for f in got] == idx.tolist()
    if name in ("lossless_rgb", "ffv1_mkv"):  # lossless: exact pixels on every backend
        np.testing.assert_array_equal(got, np.stack([frame_image(i, 96, 64) for i in idx]))
    else:
        _assert_identity(got, idx, reference, f"{backend}/{name}")


@pytest.mark.parametrize("name", HARD)
def test_hard_files_exact(backend, hard_dir, name):
    path = hard_dir / name
    reference = sequential_frames(path)
    with open_video(path, backend=backend) as reader:
        assert len(reader) == len(reference)
        for seed in (0, 1):
            idx = _request(len(reader), seed)
            got = reader.get_frames(idx).data.permute(0, 2, 3, 1).numpy()
            _assert_identity(got, idx, reference, f"{backend}/{name}")


@pytest.mark.slow
@pytest.mark.parametrize("name", REAL)
def test_real_files_exact(backend, real_dir, name):
    path = real_dir / name
    reference = sequential_frames(path)
    with open_video(path, backend=backend, rotation="report") as reader:
        assert len(reader) == len(reference)
        idx = _request(len(reader), seed=2, k=10)
        got = reader.get_frames(idx).data.permute(0, 2, 3, 1).numpy()
    _assert_identity(got, idx, reference, f"{backend}/{name}")


def test_rotation_apply_and_report(backend, tmp_path):
    # Display matrix of 90 degrees counter-clockwise = 270 clockwise: shown frames are np.rot90(stored, 1).
    path = write_video(tmp_path / "rot.mp4", VideoSpec(n_frames=12, gop=4, rotation_ccw=90))
    with open_video(path, backend=backend) as reader:
        assert reader.info.rotation == 270 and reader.info.display_size == (64, 96)
        shown = reader.get_frames([5, 2]).data.permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(shown[0], np.rot90(frame_image(5, 96, 64), 1))
    with open_video(path, backend=backend, rotation="report") as reader:
        stored = reader.get_frames([5]).data.permute(0, 2, 3, 1).numpy()
        assert reader.get_frames([]).data.shape == (0, 3, 64, 96)
    np.testing.assert_array_equal(stored[0], frame_image(5, 96, 64))


def test_real_rotations_agree(backend, real_dir):
    base = real_dir / "robustness"
    upright = None
    for deg in (0, 90, 180, 270):
        with open_video(base / f"video_{deg}.mov", backend=backend) as reader:
            assert reader.info.rotation == deg
            frame = reader.get_frames([1]).data[0]
        if deg % 180:
            assert tuple(frame.shape[1:]) == (568, 320)
        if upright is None:
            upright = frame
    with open_video(real_dir / "robustness" / "fire2.mp4", backend=backend) as reader:
        assert reader.info.rotation == 180 and reader.info.is_vfr


def test_second_video_stream(backend, real_dir):
    path = real_dir / "audio_video" / "nasa_13013.mp4"
    reference = sequential_frames(path, stream=1)
    with open_video(path, backend=backend, stream=1) as reader:
        assert reader.info.num_video_streams == 2 and reader.info.video_stream == 1
        assert (reader.info.width, reader.info.height, len(reader)) == (480, 270, len(reference))
        idx = np.array([300, 5, 5, 120])
        got = reader.get_frames(idx).data.permute(0, 2, 3, 1).numpy()
    _assert_identity(got, idx, reference, f"{backend}/nasa stream 1")


def test_bytes_source_every_backend(backend, synthetic):
    data = synthetic["h264_bframes"].read_bytes()
    with open_video(data, backend=backend, name="shard/clip.mp4") as reader:
        got = reader.get_frames([40, 3]).data.permute(0, 2, 3, 1).numpy()
    assert [read_code(f) for f in got] == [40, 3]
