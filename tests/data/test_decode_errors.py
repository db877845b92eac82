"""Bad input: each broken file gives the right VideoReadError subclass naming the file and a countable reason."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from vidssl.data import open_video, probe_video
from vidssl.data.decode import BackendUnavailableError, CorruptVideoError, NoVideoStreamError, VideoReadError
from vidssl.data.decode.api import _reader_class

sys.path.insert(0, str(Path(__file__).parent))
from decode_fixtures import VideoSpec, frame_image, read_code, tone, write_video


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    d = tmp_path_factory.mktemp("broken")
    (d / "zero.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("this is a text file, not a video\n" * 40)
    Image.fromarray(frame_image(3, 96, 64)).save(d / "photo.jpg", quality=90)
    (d / "photo.mp4").write_bytes((d / "photo.jpg").read_bytes())
    good = write_video(d / "good.mp4", VideoSpec(n_frames=40, codec="libx264", bframes=2, gop=10))
    data = good.read_bytes()
    (d / "cut_index.mp4").write_bytes(data[: len(data) // 2])  # moov index is at the end: it is gone
    faststart = write_video(d / "faststart.mp4", VideoSpec(n_frames=40, codec="libx264", gop=10,
                                                           container_options={"movflags": "+faststart"}))
    data = faststart.read_bytes()
    (d / "cut_data.mp4").write_bytes(data[: int(len(data) * 0.6)])  # index intact, frame data cut
    with av.open(str(d / "audio_only.mp4"), "w") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        wave = tone(16000, 0.5)
        for i in range(0, wave.shape[1], 1024):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, i : i + 1024]), format="fltp", layout="mono")
            f.sample_rate, f.pts = 16000, i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return d


@pytest.mark.parametrize(
    ("name", "cls", "reason"),
    [
        ("zero.mp4", CorruptVideoError, "empty_file"),
        ("text.mp4", CorruptVideoError, "not_a_video"),
        ("photo.mp4", CorruptVideoError, "not_a_video"),
        ("cut_index.mp4", CorruptVideoError, "corrupt"),
        ("audio_only.mp4", NoVideoStreamError, "no_video_stream"),
    ],
)
def test_broken_file_raises_named_error(broken, name, cls, reason):
    for call in (lambda p: probe_video(p), lambda p: open_video(p, backend="pyav")):
        with pytest.raises(cls) as err:
            call(broken / name)
        assert err.value.reason == reason
        assert name in str(err.value) and err.value.path.endswith(name)


def test_bytes_errors_name_the_label(broken):
    with pytest.raises(CorruptVideoError, match=r"shard-0/clip\.mp4: not a video"):
        open_video((broken / "text.mp4").read_bytes(), backend="pyav", name="shard-0/clip.mp4")
    with pytest.raises(CorruptVideoError, match="zero bytes"):
        open_video(b"", backend="pyav")


def test_missing_file_and_directory(broken):
    with pytest.raises(FileNotFoundError, match=r"nope\.mp4"):
        open_video(broken / "nope.mp4", backend="pyav")
    with pytest.raises(VideoReadError, match="directory"):
        probe_video(broken)


def test_cut_frame_data_reads_what_exists(broken):
    # The index survives but the tail is gone: the frames that decode are the video, each one the right one.
    info = probe_video(broken / "cut_data.mp4")
    assert 5 < info.num_frames < 40
    with open_video(broken / "cut_data.mp4", backend="pyav") as reader:
        got = reader.get_frames(np.arange(len(reader))[::-1]).data.permute(0, 2, 3, 1).numpy()
    assert [read_code(f) for f in got] == list(range(info.num_frames))[::-1]


def test_missing_stream_and_unknown_backend(broken):
    with pytest.raises(NoVideoStreamError, match="stream=1 does not exist"):
        open_video(broken / "good.mp4", backend="pyav", stream=1)
    with pytest.raises(ValueError, match="unknown backend 'ffmpeg'"):
        open_video(broken / "good.mp4", backend="ffmpeg")
    with pytest.raises(BackendUnavailableError, match="CPU only"):
        open_video(broken / "good.mp4", backend="pyav", device="cuda")


def test_unloadable_backend_names_install_step(monkeypatch):
    import importlib

    real = importlib.import_module

    def fail(name, *a, **k):
        if name == "vidssl.data.decode.decord_reader":
            raise ImportError("No module named 'decord'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fail)
    with pytest.raises(BackendUnavailableError, match="pip install decord"):
        _reader_class("decord")
