"""Audio windows: aligned with the video pts clock, exact length, zeros outside the stream, resampled."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from vidssl.data import open_video
from vidssl.data.decode import NoAudioError

sys.path.insert(0, str(Path(__file__).parent))
from decode_fixtures import VideoSpec, tone, write_video

RATE = 16000


@pytest.fixture(scope="module")
def offset_av(tmp_path_factory):
    """Video starting 0.5 s after the audio (as h8_video_offset.mp4); 2.5 s of a ramped tone."""
    return write_video(tmp_path_factory.mktemp("a") / "offset.mp4", VideoSpec(
        n_frames=50, codec="libx264", video_start=0.5, audio_rate=RATE, audio_seconds=2.5))


def _expected(start_s: float, n: int) -> np.ndarray:
    ref = tone(RATE, 2.5)[0]
    s = round(start_s * RATE)
    out = np.zeros(n, np.float32)
    lo, hi = max(s, 0), min(s + n, len(ref))
    if hi > lo:
        out[lo - s : hi - s] = ref[lo:hi]
    return out


@pytest.mark.parametrize(("start", "end"), [(0.5, 1.5), (0.0, 1.0), (1.23, 1.31), (2.0, 3.0), (-0.5, 0.5)])
def test_window_matches_source_on_file_clock(offset_av, start, end):
    with open_video(offset_av, backend="pyav") as reader:
        assert reader.info.start_time == pytest.approx(0.5)
        assert reader.info.audio[0].start_time == pytest.approx(0.0)
        wave = reader.get_audio(start, end, RATE).numpy()
    n = round((end - start) * RATE)
    assert wave.shape == (1, n) and wave.dtype == np.float32
    exp = _expected(start, n)
    assert np.abs(wave[0] - exp).mean() < 0.005  # AAC at this rate is near-transparent for a pure tone
    lags = [float(np.dot(np.roll(wave[0], k), exp)) for k in range(-8, 9)]
    assert int(np.argmax(lags)) - 8 == 0  # aligned to the sample


def test_outside_stream_is_silence_and_lengths_exact(offset_av):
    with open_video(offset_av, backend="pyav") as reader:
        assert float(reader.get_audio(5.0, 6.0).abs().max()) == 0.0
        for rate in (8000, 22050, 44100):
            assert reader.get_audio(0.7, 1.7001, rate).shape == (1, round(1.0001 * rate))
        assert reader.get_audio(0.5, 0.5).shape == (1, 0)
        assert reader.get_audio(0.5, 1.0, mono=False).shape == (1, 8000)  # the file is mono
        with pytest.raises(ValueError):
            reader.get_audio(1.0, 0.5)


def test_no_audio_raises_or_silence(tmp_path):
    path = write_video(tmp_path / "silent.mp4", VideoSpec(n_frames=10))
    with open_video(path, backend="pyav") as reader:
        with pytest.raises(NoAudioError, match=r"silent\.mp4: has no audio stream"):
            reader.get_audio(0.0, 1.0)
        wave = reader.get_audio(0.0, 1.0, missing="silence")
        assert wave.shape == (1, RATE) and float(wave.abs().max()) == 0.0


def test_hard_video_offset_alignment(hard_dir):
    # h8: video starts 0.5 s after the audio; audio frames at t must come from the audio at file time t.
    path = hard_dir / "h8_video_offset.mp4"
    with open_video(path, backend="pyav") as reader:
        assert reader.info.start_time == pytest.approx(0.52, abs=0.03)
        assert reader.info.audio[0].start_time == pytest.approx(0.0, abs=0.03)
        whole = reader.get_audio(0.0, 4.0, 16000, mono=False).numpy()
        part = reader.get_audio(reader.info.start_time, reader.info.start_time + 1.0, 16000, mono=False).numpy()
    s = round(reader.info.start_time * 16000)
    assert whole.shape[0] == 2 and np.abs(part - whole[:, s : s + 16000]).max() < 0.02


def test_multi_stream_audio_selection(real_dir):
    path = real_dir / "audio_video" / "nasa_13013.mp4"
    with open_video(path, backend="pyav") as reader:
        assert [a.sample_rate for a in reader.info.audio] == [8000, 16000]
        a0 = reader.get_audio(1.0, 2.0, 16000, stream=0)
        a1 = reader.get_audio(1.0, 2.0, 16000, stream=1)
        assert a0.shape == a1.shape == (1, 16000)
        assert float(a0.abs().mean()) > 0 and float(a1.abs().mean()) > 0
        with pytest.raises(NoAudioError, match=r"2 audio stream"):
            reader.get_audio(1.0, 2.0, stream=2)
