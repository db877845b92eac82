"""Synthetic corpus on disk: layout, what PyAV and decord decode, click timing, masks, controls, determinism."""

from __future__ import annotations

import dataclasses
import json

import av
import decord
import numpy as np
import pytest
from PIL import Image

from data_tools.synth import CLASSES, SynthConfig, generate_corpus, is_complete, render_video
from data_tools.synth.annotations import davis_palette
from vidssl.data.manifest import read_manifest

CFG = SynthConfig(num_frames=24)
N = 6
SR = 16000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "corpus"
    summary = generate_corpus(out, N, seed=0, config=CFG, workers=1, davis_frames="all", progress=False)
    return out, summary


def _pyav(path):
    frames, chunks = [], []
    with av.open(str(path)) as c:
        for f in c.decode(c.streams.video[0], c.streams.audio[0]):
            if isinstance(f, av.VideoFrame):
                frames.append(f.to_ndarray(format="rgb24"))
            else:
                chunks.append(f.to_ndarray()[0])
    return np.stack(frames), np.concatenate(chunks)


def _decord(path):
    vr = decord.VideoReader(str(path))
    frames = vr.get_batch(list(range(len(vr)))).asnumpy()
    audio = decord.AudioReader(str(path), sample_rate=SR, mono=True)[:].asnumpy()[0]
    return frames, audio, vr.get_avg_fps()


def _onset(wave, sample):
    """First sample where the high-frequency envelope reaches half its peak within +-25 ms of ``sample``."""
    hp = np.abs(np.diff(wave, prepend=wave[:1]))
    env = np.convolve(hp, np.ones(16) / 16, mode="full")[: hp.size]  # causal: env[n] averages hp[n-15..n]
    lo = sample - 400
    window = env[lo : sample + 400]
    return int(np.argmax(window >= 0.5 * window.max())) + lo


def test_layout_and_manifest(corpus):
    out, summary = corpus
    assert is_complete(out) and summary.n_videos == N
    df = read_manifest(out / "manifest.csv")
    assert len(df) == N and (df["status"] == "ok").all()
    assert list(df["video_id"]) == [f"v{i:05d}" for i in range(N)]
    assert (df["num_frames"] == 24).all() and np.allclose(df["fps"], 16.0) and np.allclose(df["duration"], 1.5)
    assert (df["width"] == 64).all() and (df["height"] == 64).all()
    assert (df["codec"] == "h264").all() and (df["pix_fmt"] == "yuv420p").all()
    assert df["has_audio"].all() and (df["audio_codec"] == "aac").all()
    assert (df["audio_rate"] == SR).all() and (df["audio_channels"] == 1).all()
    assert (df["audio_seconds"] >= 1.5).all() and (df["audio_seconds"] < 1.5 + 1024 / SR + 1e-6).all()
    assert (df["keyframes"] == "0").all() and (df["num_keyframes"] == 1).all()  # GOP 250 > 24 frames
    assert (df["label"] == [CLASSES[i] for i in df["label_index"]]).all()
    for _, row in df.iterrows():
        for col in ("path", "gt", "annotations", "davis_frames"):
            assert (out / row[col]).exists(), (col, row[col])
        assert (out / row["path"]).stat().st_size == row["size_bytes"]
    assert (out / "classes.txt").read_text().split() == list(CLASSES)
    listed = {s: (out / "splits" / f"{s}.txt").read_text().split() for s in ("train", "val", "test")}
    assert sorted(i for ids in listed.values() for i in ids) == list(df["video_id"])
    for split, ids in listed.items():
        assert set(df.loc[df["split"] == split, "video_id"]) == set(ids)
    config = json.loads((out / "synth_config.json").read_text())
    assert config["seed"] == 0 and config["config"]["num_frames"] == 24 and config["version"]


def test_pyav_and_decord_decode_what_was_declared(corpus):
    out, _ = corpus
    df = read_manifest(out / "manifest.csv")
    for i, row in df.iterrows():
        frames, audio = _pyav(out / row["path"])
        dframes, daudio, dfps = _decord(out / row["path"])
        assert frames.shape == (row["num_frames"], row["height"], row["width"], 3)
        assert dframes.shape == frames.shape and dfps == pytest.approx(row["fps"])
        assert audio.size == daudio.size == round(row["audio_seconds"] * SR)
        assert np.abs(dframes.astype(int) - frames).mean() < 1.0  # same picture on both backends
        raw = render_video(CFG, i)
        assert np.abs(frames.astype(int) - raw.frames).mean() < 6.0  # colours survive BT.601 yuv420p + x264
        # No encoder-delay offset: decoded audio lines up with the rendered waveform at lag 0.
        n = raw.audio.size
        lags = np.arange(-48, 49)
        score = [np.dot(raw.audio[64 : n - 64], daudio[64 + lag : n - 64 + lag]) for lag in lags]
        assert lags[int(np.argmax(score))] == 0
        assert np.corrcoef(raw.audio, audio[:n])[0, 1] > 0.95


def test_clicks_sit_at_declared_frames_after_decoding(corpus):
    out, _ = corpus
    checked = 0
    for i in range(N):
        gt = json.loads((out / "gt" / f"v{i:05d}.json").read_text())
        _, audio = _pyav(out / gt["files"]["video"])
        _, daudio, _ = _decord(out / gt["files"]["video"])
        for imp in gt["audio"]["impacts"]:
            sample = round(imp["time"] * SR)
            if sample < 400 or sample + 400 > audio.size:
                continue
            for wave in (audio, daudio):
                assert -16 <= _onset(wave, sample) - sample <= 24, (gt["video_id"], imp)  # 1 ms, frames are 62.5
            checked += 1
    assert checked >= 3


def test_masks_are_davis_pngs_matching_the_render(corpus):
    out, _ = corpus
    palette = davis_palette()
    for i in range(N):
        raw = render_video(CFG, i)
        gt = json.loads((out / "gt" / f"v{i:05d}.json").read_text())
        folder = out / gt["files"]["annotations"]
        pngs = sorted(folder.glob("*.png"))
        assert [p.name for p in pngs] == [f"{t:05d}.png" for t in range(24)]
        first = Image.open(pngs[0])
        assert first.mode == "P" and first.getpalette()[:12] == palette[:12]
        masks = np.stack([np.array(Image.open(p)) for p in pngs])
        np.testing.assert_array_equal(masks, raw.masks)
        for obj in gt["objects"]:
            for t, box in enumerate(obj["boxes"]):
                ys, xs = np.nonzero(masks[t] == obj["id"])
                if box is None:
                    assert xs.size == 0
                else:
                    assert box == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        jpgs = sorted((out / gt["files"]["frames"]).glob("*.jpg"))
        assert len(jpgs) == 24
        decoded, _ = _pyav(out / gt["files"]["video"])
        assert np.abs(np.array(Image.open(jpgs[5])).astype(int) - decoded[5]).mean() < 3.0


def test_same_seed_same_corpus_with_more_workers(corpus, tmp_path):
    out, _ = corpus
    other = tmp_path / "again"
    generate_corpus(other, N, seed=0, config=CFG, workers=2, davis_frames="all", progress=False)
    assert (other / "manifest.csv").read_text() == (out / "manifest.csv").read_text()
    for i in range(N):
        vid = f"v{i:05d}"
        assert (other / "gt" / f"{vid}.json").read_bytes() == (out / "gt" / f"{vid}.json").read_bytes()
        # Byte-identical files (x264 without mbtree is deterministic), so decoded frames are identical too.
        assert (other / "videos" / f"{vid}.mp4").read_bytes() == (out / "videos" / f"{vid}.mp4").read_bytes()
        for t in (0, 23):
            png = f"davis/Annotations/{vid}/{t:05d}.png"
            assert (other / png).read_bytes() == (out / png).read_bytes()


def test_mismatched_audio_control(tmp_path):
    cfg = dataclasses.replace(CFG, mismatched_audio=True)
    out = tmp_path / "mismatched"
    generate_corpus(out, 4, seed=0, config=cfg, workers=1, davis_frames="none", progress=False)
    df = read_manifest(out / "manifest.csv")
    sources = []
    for i in range(4):
        gt = json.loads((out / "gt" / f"v{i:05d}.json").read_text())
        src = gt["audio"]["source_index"]
        assert src != i and gt["audio"]["mismatched"] and df.loc[i, "audio_source"] == gt["audio"]["source"]
        sources.append(src)
        _, audio = _pyav(out / gt["files"]["video"])
        own, theirs = render_video(CFG, i).audio, render_video(CFG, src).audio
        n = own.size
        # (own audio may correlate somewhat: a shared hue means a shared pitch)
        assert np.corrcoef(theirs, audio[:n])[0, 1] > 0.95 > 0.9 > np.corrcoef(own, audio[:n])[0, 1]
    assert sorted(sources) == [0, 1, 2, 3]
    assert not (out / "davis" / "JPEGImages").exists()


def test_neutral_background_corpus_through_the_cli(tmp_path):
    from data_tools.__main__ import main as data_main

    out = tmp_path / "gray"
    argv = ["synth", str(out), "--videos", "2", "--frames", "8", "--neutral-background", "--mismatched-audio",
            "--davis-frames", "none", "--workers", "1", "--quiet"]
    assert data_main(argv) == 0
    cfg = json.loads((out / "synth_config.json").read_text())["config"]
    assert cfg["neutral_background"] and cfg["mismatched_audio"]
    gt = json.loads((out / "gt" / "v00000.json").read_text())
    assert gt["background"]["colour"] == "gray" and gt["background"]["hue_index"] is None


def test_static_control_on_disk(tmp_path):
    out = tmp_path / "static"
    generate_corpus(out, 2, seed=0, config=dataclasses.replace(CFG, static=True), workers=1, progress=False)
    for i in range(2):
        gt = json.loads((out / "gt" / f"v{i:05d}.json").read_text())
        assert gt["static"] and gt["impacts"] == [] and gt["audio"]["impacts"] == []
        frames, _ = _pyav(out / gt["files"]["video"])
        assert (frames == frames[:1]).all()  # decoded, not only rendered: no codec-made temporal cue
        for obj in gt["objects"]:
            assert all(box == obj["boxes"][0] for box in obj["boxes"])
