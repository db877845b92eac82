"""Plan-only loading (the GPU path): determinism across worker counts, equality with the decoding dataset, collate."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vidssl.data.collate import PlanBatch, collate_examples, collate_plans
from vidssl.data.datasets.clip_dataset import VideoClipDataset
from vidssl.data.datasets.plans import PlanDataset, decode_plan_batch
from vidssl.data.errors import SKIPPED_KEY, SkipRecord
from vidssl.data.planners import AudioVisualPairs, ClipOrder, MultiClip, ShuffleAndLearn
from vidssl.types import VideoMeta


def metas(n: int = 7) -> list[VideoMeta]:
    return [
        VideoMeta(f"v{i}", f"/nowhere/v{i}.mp4", num_frames=40 + 7 * i, fps=16.0, has_audio=True, audio_start=0.0,
                  audio_duration=(40 + 7 * i) / 16.0)
        for i in range(n)
    ]


def _plans(ds: PlanDataset, workers: int) -> list[tuple]:
    loader = DataLoader(ds, batch_size=3, num_workers=workers, collate_fn=collate_plans)
    out = []
    for batch in loader:
        assert isinstance(batch, PlanBatch)
        for item in batch.items:
            audio = [(w.start_s, w.video_id) for w in item.plan.audio]
            other = item.other.video_id if item.other else None
            plan = item.plan
            out.append((item.index, item.meta.video_id, plan.indices.tolist(), dict(plan.targets), other, audio))
    return out


@pytest.mark.parametrize(
    "planner,other",
    [(ShuffleAndLearn.tiny(), False), (ClipOrder.tiny(), False), (MultiClip(2, 4, min_gap=4, max_gap=20), False),
     (AudioVisualPairs(p_aligned=0.5, p_shifted=0.25), True)],
)
def test_plans_identical_with_0_1_2_workers(planner, other):
    ds = PlanDataset(metas(), planner, clips_per_epoch=20, seed=11, uses_other_video=other)
    ds.set_epoch(4)
    runs = [_plans(ds, w) for w in (0, 1, 2)]
    assert runs[0] == runs[1] == runs[2]
    assert [r[0] for r in runs[0]] == list(range(20))  # epoch length in clips, every index once
    ds.set_epoch(5)
    assert _plans(ds, 0) != runs[0]


def test_shuffle_learn_ratio_through_the_loader():
    ds = PlanDataset(metas(), ShuffleAndLearn.tiny(neg_ratio=0.75), clips_per_epoch=800, seed=0)
    labels = [targets["label"] for _, _, _, targets, _, _ in _plans(ds, 2)]
    assert abs(np.mean(np.array(labels) == 0) - 0.75) < 0.05


def test_collate_examples_stacks_and_concatenates_skips():
    rec = SkipRecord("bad", "bad.mp4", "corrupt", "m")
    batch = collate_examples([
        {"frames": torch.zeros(2, 3, 4, 4, dtype=torch.uint8), "label": torch.tensor(1), "video_id": "a",
         "audio": torch.zeros(1, 10), "n": 3, "idx": np.arange(3), SKIPPED_KEY: (rec,)},
        {"frames": torch.ones(2, 3, 4, 4, dtype=torch.uint8), "label": torch.tensor(0), "video_id": "b",
         "audio": torch.zeros(1, 12), "n": 4, "idx": np.arange(3), SKIPPED_KEY: (rec, rec)},
    ])
    assert batch["frames"].shape == (2, 2, 3, 4, 4) and batch["label"].tolist() == [1, 0]
    assert batch["video_id"] == ["a", "b"] and isinstance(batch["audio"], list)  # ragged stays a list
    assert batch["n"].tolist() == [3, 4] and batch["idx"].shape == (2, 3)
    assert batch[SKIPPED_KEY] == (rec, rec, rec)
    with pytest.raises(KeyError):
        collate_examples([{"a": 1}, {"b": 2}])


def write_video(path: Path, n: int = 24, size: int = 32) -> Path:
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=16)
        v.width = v.height = size
        v.pix_fmt = "yuv420p"
        v.options = {"preset": "ultrafast"}
        for i in range(n):
            img = np.full((size, size, 3), (20 + 9 * i) % 256, np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    return path


def test_gpu_path_builds_the_same_examples_as_the_decoding_dataset(tmp_path):
    videos = [VideoMeta(f"v{i}", str(write_video(tmp_path / f"v{i}.mp4", n=20 + 4 * i)), 0, 1.0) for i in range(3)]
    videos.append(VideoMeta("broken", str(tmp_path / "missing.mp4"), 24, 16.0))

    def make_example(sample, rng):  # draws from rng, so the continuation of the generator matters
        flip = bool(rng.random() < 0.5)
        frames = sample.take(sample.plan.indices)
        return {"frames": frames.flip(-1) if flip else frames, "label": torch.tensor(sample.plan.targets["label"])}

    planner = ShuffleAndLearn.tiny(tau_max=4, tau_min=2)
    cpu = VideoClipDataset(videos, planner, make_example, clips_per_epoch=8, seed=3)
    plans = PlanDataset(videos, planner, clips_per_epoch=8, seed=3)
    loader = DataLoader(plans, batch_size=4, num_workers=2, collate_fn=collate_plans)
    got, skipped = {}, []
    for plan_batch in loader:
        batch = decode_plan_batch(plan_batch, make_example, device="cpu")
        got.update({int(i): (f, lab) for i, f, lab in zip(batch["sample_index"], batch["frames"], batch["label"])})
        skipped += batch[SKIPPED_KEY]
    broken = [i for i in range(8) if cpu.video_for(i) == 3]
    assert sorted(got) == [i for i in range(8) if i not in broken]  # failures are dropped, not replaced
    for i, (frames, label) in got.items():
        expected = cpu[i]
        assert torch.equal(frames, expected["frames"]) and label == expected["label"]
    assert len(skipped) == len(broken) and {r.video_id for r in skipped} == {"broken"}


def test_plan_dataset_probes_videos_without_counts(tmp_path):
    path = write_video(tmp_path / "p.mp4", n=20)
    ds = PlanDataset([VideoMeta("p", str(path), 0, 1.0), VideoMeta("gone", str(tmp_path / "gone.mp4"), 0, 1.0)],
                     ShuffleAndLearn.tiny(tau_max=4, tau_min=2), clips_per_epoch=4)
    items = [ds[i] for i in range(4)]
    assert all(it.meta.video_id == "p" and it.meta.num_frames == 20 for it in items)
    assert all(it.plan.indices.max() < 20 for it in items)
    assert {r.reason for it in items for r in it.skipped} == {"missing_file"}
