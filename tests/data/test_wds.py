"""WebDataset shards (written here with webdataset.TarWriter per the shard contract): splitting, decoding, audio."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import webdataset as wds
from torch.utils.data import DataLoader

import vidssl.data.datasets.wds as wds_module
from vidssl.data.collate import collate_examples
from vidssl.data.datasets.wav import parse_wav
from vidssl.data.datasets.wds import WebDatasetClips, iter_shard_samples, list_shards
from vidssl.data.errors import SKIPPED_KEY, FailureCounter
from vidssl.data.planners import AudioVisualPairs, RandomClip

SR = 16000


def video_bytes(tmp: Path, n: int, shade: int) -> bytes:
    path = tmp / f"tmp_{n}_{shade}.mp4"
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=16)
        v.width = v.height = 32
        v.pix_fmt = "yuv420p"
        v.options = {"preset": "ultrafast", "g": "4"}
        for i in range(n):
            img = np.full((32, 32, 3), shade, np.uint8)
            img[4:12, i % 24 : i % 24 + 8] = 255
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    data = path.read_bytes()
    path.unlink()
    return data


def wav_bytes(freq: float, seconds: float) -> tuple[bytes, np.ndarray]:
    t = np.arange(int(seconds * SR)) / SR
    pcm = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())
    return buf.getvalue(), pcm.astype(np.float32) / 32768.0


def row(video_id: str, n: int, label: int) -> dict:
    return {"video_id": video_id, "path": video_id, "label_index": label, "num_frames": n, "fps": 16.0,
            "has_audio": True, "audio_start": 0.0, "audio_seconds": n / 16.0}


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """Two shards, 7 videos; ids contain '/' and dots; every sample carries a wav."""
    d = tmp_path_factory.mktemp("shards")
    ids = {f"class{i % 2}/clip.{i}.avi": 20 + 2 * i for i in range(7)}
    items = list(ids.items())
    for s, chunk in enumerate([items[:4], items[4:]]):
        with wds.TarWriter(str(d / f"shard-{s:05d}.tar")) as w:
            for k, (vid, n) in enumerate(chunk):
                audio, _ = wav_bytes(200.0 + 50 * k, n / 16.0)
                w.write({"__key__": vid.replace("/", "_"), "mp4": video_bytes(d, n, 30 * k), "json": row(vid, n, k % 3),
                         "wav": audio})
        (d / f"shard-{s:05d}.index.json").write_text(json.dumps({"keys": [v for v, _ in chunk],
                                                                 "num_frames": [n for _, n in chunk]}))
    return d, ids


def _collect(ds, workers: int) -> list[dict]:
    loader = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=collate_examples)
    out = []
    for batch in loader:
        for b in range(len(batch["video_id"])):
            out.append({"video_id": batch["video_id"][b], "sum": int(batch["frames"][b].sum()),
                        "skipped": batch[SKIPPED_KEY]})
    return out


def test_grouping_keeps_dotted_keys(shards):
    d, ids = shards
    samples = list(iter_shard_samples(str(d / "shard-00000.tar")))
    assert [s["__key__"] for s in samples] == [v.replace("/", "_") for v in list(ids)[:4]]
    assert {"mp4", "json", "wav"} <= set(samples[0])
    assert list_shards(d) == [str(d / "shard-00000.tar"), str(d / "shard-00001.tar")]


@pytest.mark.parametrize("pattern", ["shard-*.tar", "shard-00000.tar"])
def test_two_workers_no_duplicates_no_losses(shards, pattern):
    d, ids = shards
    ds = WebDatasetClips(str(d / pattern), RandomClip(4), seed=0)
    expected = sorted(ids) if pattern.startswith("shard-*") else sorted(list(ids)[:4])
    runs = {w: _collect(ds, w) for w in (0, 2)}
    for out in runs.values():
        assert sorted(o["video_id"] for o in out) == expected
    by_id = {w: {o["video_id"]: o["sum"] for o in out} for w, out in runs.items()}
    assert by_id[0] == by_id[2]  # the same clip for a video whatever worker read it


def test_ranks_split_the_samples(shards, monkeypatch):
    d, _ids = shards
    for shard_glob in ("shard-*.tar", "shard-00001.tar"):
        seen = []
        for rank in range(2):
            monkeypatch.setattr(wds_module, "consumer_slot", lambda rank=rank: (rank, 2))
            ds = WebDatasetClips(str(d / shard_glob), RandomClip(2), seed=0)
            seen.append([ex["video_id"] for ex in ds])
        assert not set(seen[0]) & set(seen[1]) and seen[0] and seen[1]
        assert len(seen[0]) + len(seen[1]) == (7 if "*" in shard_glob else 3)


def test_frames_match_the_stored_video_and_epochs_differ(shards):
    from vidssl.data import open_video

    d, _ = shards
    ds = WebDatasetClips(str(d / "shard-00000.tar"), RandomClip(3, stride=2), seed=5, shuffle_shards=False)
    first = next(iter_shard_samples(str(d / "shard-00000.tar")))
    ex = next(iter(ds))
    with open_video(first["mp4"]) as reader:
        sums = [int(reader.get_frames([s, s + 2, s + 4]).data.sum()) for s in range(len(reader) - 4)]
    assert int(ex["frames"].sum()) in sums and ex["frames"].shape == (3, 3, 32, 32)
    e0 = [int(x["frames"].sum()) for x in ds]
    ds.set_epoch(1)
    assert [int(x["frames"].sum()) for x in ds] != e0
    assert ds.num_samples() == 4


def test_audio_comes_from_the_wav_members(shards):
    d, _ = shards
    planner = AudioVisualPairs(p_aligned=0.5)
    ds = WebDatasetClips(str(d / "shard-00000.tar"), planner, lambda s, r: {"sample": s}, seed=1,
                         uses_other_video=True, shuffle_shards=False)
    raw = {json.loads(s["json"])["video_id"]: s["wav"] for s in iter_shard_samples(str(d / "shard-00000.tar"))}
    examples = list(ds)
    assert len(examples) == 4
    for ex in examples:
        sample = ex["sample"]
        (window,) = sample.plan.audio
        source = window.video_id or sample.meta.video_id
        wav = parse_wav(raw[source])
        start = round(window.start_s * SR)
        torch.testing.assert_close(sample.audio[0][0], wav.samples[0, start : start + SR], atol=1e-6, rtol=0)
        if window.video_id is not None:
            assert window.video_id == sample.other.video_id != sample.meta.video_id


def test_corrupt_members_and_shards_are_counted(tmp_path):
    good = video_bytes(tmp_path, 16, 90)
    with wds.TarWriter(str(tmp_path / "shard-00000.tar")) as w:
        w.write({"__key__": "ok1", "mp4": good, "json": row("ok1", 16, 0)})
        w.write({"__key__": "garbage", "mp4": b"\x00not a video" * 100, "json": row("garbage", 16, 0)})
        w.write({"__key__": "nojson_is_fine", "mp4": good, "json": {"video_id": "nojson_is_fine"}})
        w.write({"__key__": "ok2", "webm": b"", "json": row("ok2", 16, 0)})
    full = (tmp_path / "shard-00000.tar").read_bytes()
    (tmp_path / "shard-00001.tar").write_bytes(full[: len(full) // 2 + 100])  # cut inside a member
    ds = WebDatasetClips(str(tmp_path / "shard-*.tar"), RandomClip(4), seed=0)
    counter = FailureCounter()
    ids = []
    for batch in DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate_examples):
        counter.update(batch)
        ids += batch["video_id"]
    assert ids.count("ok1") == 2 and ids.count("nojson_is_fine") == 1  # the cut shard still yields its first video
    failed = set().union(*counter.files.values())
    assert {"garbage", "ok2"} <= failed and counter.events["corrupt_shard"] == 1
    with pytest.raises(Exception):  # noqa: B017 (any decode error surfaces with on_error="raise")
        list(WebDatasetClips(str(tmp_path / "shard-00000.tar"), RandomClip(4), on_error="raise",
                             shuffle_shards=False))


def test_parse_wav_formats():
    audio, ref = wav_bytes(440.0, 0.25)
    w = parse_wav(audio, start_s=1.0)
    assert w.sample_rate == SR and w.samples.shape == (1, 4000)
    np.testing.assert_allclose(w.samples[0].numpy(), ref, atol=1e-6)
    window = w.fetch(0.9, 1.1, SR)  # 0.1 s before the recording is zeros
    assert window.shape == (1, 3200) and window[0, :1600].abs().max() == 0
    assert w.fetch(1.0, 1.25, 8000).shape == (1, 2000)
    with pytest.raises(ValueError, match="RIFF"):
        parse_wav(b"nope")
