"""Map-style dataset on real encoded videos: decoding matches the plan, epochs in clips, determinism, AV, boxes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from vidssl.data.collate import collate_examples
from vidssl.data.datasets.clip_dataset import VideoClipDataset, epoch_video_order
from vidssl.data.datasets.ground_truth import attach_boxes
from vidssl.data.datasets.sources import load_videos
from vidssl.data.errors import SKIPPED_KEY
from vidssl.data.planners import AudioVisualPairs, RandomClip, ShuffleAndLearn, TrackingPairs
from vidssl.types import VideoMeta

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A 4-video synthetic corpus (64x64, 48 frames at 16 fps, H.264 + AAC) from ``vidssl-data synth``."""
    out = tmp_path_factory.mktemp("synth") / "corpus"
    cmd = [sys.executable, "-m", "data_tools", "synth", str(out), "--videos", "4", "--seed", "3", "--workers", "1",
           "--quiet", "--davis-frames", "none"]
    subprocess.run(cmd, check=True, cwd=REPO, timeout=300)
    return out


@pytest.fixture(scope="module")
def videos(corpus) -> list[VideoMeta]:
    return load_videos(corpus / "manifest.csv")


def _direct_frames(path: str, indices: np.ndarray) -> torch.Tensor:
    from vidssl.data import open_video

    with open_video(path) as reader:
        return reader.get_frames(np.unique(indices)).data


def test_load_videos_resolves_paths_and_splits(corpus, videos):
    assert len(videos) == 4
    assert all(Path(m.path).is_file() and m.num_frames == 48 and m.fps == 16.0 for m in videos)
    assert all(Path(m.extra["gt"]).is_file() for m in videos)
    df = pd.read_csv(corpus / "manifest.csv")
    train = load_videos(corpus / "manifest.csv", split="train")
    assert len(train) == int((df["split"] == "train").sum())
    df.loc[0, "path"] = "../outside.mp4"
    df.to_csv(corpus / "bad_manifest.csv", index=False)
    with pytest.raises(ValueError, match="outside the dataset root"):
        load_videos(corpus / "bad_manifest.csv")
    assert len(load_videos(corpus / "bad_manifest.csv", allow_outside_root=True)) == 4


def test_examples_hold_the_planned_frames(videos):
    ds = VideoClipDataset(videos, RandomClip(8, stride=2), seed=1)
    for i in range(len(ds)):
        ex = ds[i]
        assert ex["frames"].shape == (8, 3, 64, 64) and ex["frames"].dtype == torch.uint8
        assert ex[SKIPPED_KEY] == ()
        meta = next(m for m in videos if m.video_id == ex["video_id"])
        assert int(ex["label"]) == meta.label
        sample, _ = ds.load(i, 0)
        direct = _direct_frames(meta.path, sample.plan.indices)
        assert torch.equal(sample.frames.data, direct)
        assert torch.equal(ex["frames"], sample.take(sample.plan.indices))


def test_epoch_length_in_clips_and_visits(videos):
    ds = VideoClipDataset(videos, RandomClip(4), clips_per_epoch=10, seed=0)
    assert len(ds) == 10
    visits = np.bincount([ds.video_for(i) for i in range(10)], minlength=4)
    assert sorted(visits.tolist()) == [2, 2, 3, 3]  # every video revisited, extras spread
    assert sorted(epoch_video_order(4, 0, 1).tolist()) == [0, 1, 2, 3]
    with pytest.raises(IndexError):
        ds[10]
    ordered = VideoClipDataset(videos, RandomClip(4), clips_per_epoch=8, shuffle_videos=False)
    assert [ordered.video_for(i) for i in range(8)] == [0, 1, 2, 3, 0, 1, 2, 3]


def _key(ex: dict) -> tuple:
    return ex["video_id"], ex["frames"].sum().item(), int(ex["label"])


def test_same_examples_with_0_1_2_workers(videos):
    planner = ShuffleAndLearn.tiny()
    ds = VideoClipDataset(videos, planner, clips_per_epoch=8, seed=7)
    ds.set_epoch(2)
    results = {}
    for workers in (0, 1, 2):
        loader = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=collate_examples)
        out = []
        for batch in loader:
            for b in range(len(batch["video_id"])):
                out.append((batch["video_id"][b], int(batch["frames"][b].sum()), int(batch["label"][b])))
        results[workers] = out
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 8
    ds.set_epoch(3)
    other_epoch = [_key(ds[i]) for i in range(8)]
    assert other_epoch != [(a, s, lab) for a, s, lab in results[0]]
    ds.set_epoch(2)
    assert [_key(ds[i]) for i in range(8)] == results[0]


def test_audio_visual_pairs_read_the_other_videos_audio(videos):
    from vidssl.data import open_video

    ds = VideoClipDataset(videos, AudioVisualPairs(p_aligned=0.0), clips_per_epoch=4, uses_other_video=True, seed=0)
    for i in range(4):
        sample, _ = ds.load(i, 0)
        (window,) = sample.plan.audio
        assert sample.other is not None and window.video_id == sample.other.video_id != sample.meta.video_id
        with open_video(sample.other.path) as reader:
            expected = reader.get_audio(window.start_s, window.end_s, 16000, True)
        assert sample.audio[0].shape == (1, 16000)
        torch.testing.assert_close(sample.audio[0], expected)
        ex = ds[i]
        assert ex["audio"].shape == (1, 1, 16000) and int(ex["label"]) == sample.plan.targets["label"] == 0
        assert int(ex["video_label"]) == sample.meta.label


def test_tracking_regions_from_ground_truth(videos):
    ds = VideoClipDataset(videos, TrackingPairs.tiny(), clips_per_epoch=4, prepare=attach_boxes, seed=0)
    sources = set()
    for i in range(4):
        sample, _ = ds.load(i, 0)
        sources.add(sample.plan.info["region_source"])
        if sample.plan.regions is not None:
            regions = sample.plan.regions
            assert regions.shape == (len(sample.plan.indices), 4)
            assert np.all(regions[:, 2] > regions[:, 0]) and np.all(regions[:, 3] > regions[:, 1])
            assert regions.min() >= 0 and regions.max() <= 64
    assert "boxes" in sources


def test_metas_without_frame_counts_are_measured(videos):
    bare = [VideoMeta(m.video_id, m.path, num_frames=0, fps=1.0) for m in videos]
    ds = VideoClipDataset(bare, RandomClip(4, stride=8), seed=0)
    sample, _ = ds.load(0, 0)
    assert sample.meta.num_frames == 48 and sample.meta.fps == pytest.approx(16.0)
    assert sample.plan.indices.max() <= 47


def test_motion_estimate_feeds_the_planner(videos):
    from vidssl.data.datasets.motion import MotionEstimate, frame_difference_motion

    still = torch.zeros(3, 3, 40, 40, dtype=torch.uint8)
    moving = still.clone()
    moving[2, :, :20] = 200
    np.testing.assert_allclose(frame_difference_motion(still), 0.0)
    assert frame_difference_motion(moving)[2] > 0 and frame_difference_motion(moving)[1] == 0
    estimate = MotionEstimate(step=4)
    meta = estimate(videos[0])
    assert meta.motion is not None and meta.motion.shape == (48,) and meta.motion.max() > 0
    assert estimate(meta) is meta  # already has motion
    ds = VideoClipDataset(videos, ShuffleAndLearn.tiny(), clips_per_epoch=4, prepare=estimate, seed=0)
    assert {ds.load(i, 0)[0].plan.info["motion_source"] for i in range(4)} == {"motion"}
