"""GPU decoding: guarded out of DataLoader workers, decoded in a thread of the training process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from vidssl.data import open_video
from vidssl.data.decode import GpuClipLoader
from vidssl.data.decode.gpu import check_not_in_worker

sys.path.insert(0, str(Path(__file__).parent))
from decode_fixtures import VideoSpec, read_code, sequential_frames, write_video


class _TriesCuda(Dataset):
    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> int:
        check_not_in_worker("cuda")
        return i


def test_cuda_decoding_refused_inside_worker():
    with pytest.raises(RuntimeError, match="inside a DataLoader worker"):
        next(iter(DataLoader(_TriesCuda(), num_workers=1)))
    assert next(iter(DataLoader(_TriesCuda(), num_workers=0))).item() == 0  # main process: allowed


def test_loader_thread_order_and_errors():
    loader = GpuClipLoader(range(7), device="cpu", decode=lambda b: torch.full((2,), b), prefetch=2)
    assert [int(x[0]) for x in loader] == list(range(7))

    def boom(b):
        if b == 3:
            raise ValueError("bad batch 3")
        return b

    with pytest.raises(ValueError, match="bad batch 3"):
        list(GpuClipLoader(range(7), device="cpu", decode=boom))
    it = iter(GpuClipLoader(range(100), device="cpu", decode=lambda b: b, prefetch=1))
    assert next(it) == 0
    it.close()  # stopping early must not hang on the producer


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a CUDA device")
def test_gpu_paths_refuse_cleanly_without_cuda(tmp_path):
    """Without CUDA, every GPU entry point raises BackendUnavailableError with a reason (never a crash or a hang)."""
    from vidssl.data.decode import BackendUnavailableError
    from vidssl.data.decode.api import available_backends, resolve_backend

    path = write_video(tmp_path / "v.mp4", VideoSpec(n_frames=8, codec="libx264", gop=4))
    with pytest.raises(BackendUnavailableError, match="cuda"):
        resolve_backend("auto", "cuda")
    with pytest.raises(BackendUnavailableError):
        open_video(path, device="cuda")
    for backend in ("torchcodec", "decord"):
        if available_backends()[backend] != "ok":
            continue  # not installed: its CPU absence is reported elsewhere
        with pytest.raises(BackendUnavailableError, match=r"cuda|CUDA"):
            open_video(path, backend=backend, device="cuda")
    with pytest.raises(BackendUnavailableError):
        GpuClipLoader(range(2), device="cuda")  # fails at construction, not inside the decode thread
    with open_video(path) as reader:  # the CPU path is unaffected
        assert reader.get_frames([3]).data.device.type == "cpu"


@pytest.mark.gpu
def test_torchcodec_cuda_matches_cpu(tmp_path, hard_dir):
    files = [write_video(tmp_path / "bf.mp4", VideoSpec(n_frames=48, codec="libx264", bframes=2, gop=12)),
             hard_dir / "h3_h264_opengop.mp4", hard_dir / "h6_vfr.mp4", hard_dir / "h1_xvid_bframes.avi"]
    for path in files:
        reference = sequential_frames(path)
        idx = np.array([len(reference) - 1, 5, 5, 17, 0])
        with open_video(path, backend="torchcodec", device="cuda") as reader:
            batch = reader.get_frames(idx)
            assert batch.data.is_cuda
            got = batch.data.permute(0, 2, 3, 1).cpu().numpy()
        err = np.abs(got.astype(np.int16) - reference[idx].astype(np.int16)).mean(axis=(1, 2, 3))
        assert err.max() < 3.0, (path, err)  # NVDEC + GPU colour conversion differ slightly from swscale
        if path.name == "bf.mp4":
            assert [read_code(f) for f in got] == idx.tolist()


@pytest.mark.gpu
def test_gpu_clip_loader_end_to_end(tmp_path):
    from vidssl.data.collate import collate_plans
    from vidssl.data.datasets.plans import PlanDataset
    from vidssl.data.planners import RandomClip
    from vidssl.types import VideoMeta

    videos = []
    for i in range(3):
        path = write_video(tmp_path / f"v{i}.mp4", VideoSpec(n_frames=40 + 5 * i, codec="libx264", gop=10))
        videos.append(VideoMeta(f"v{i}", str(path), num_frames=0, fps=25.0))
    plans = DataLoader(PlanDataset(videos, RandomClip(8, stride=2), clips_per_epoch=6, seed=0), batch_size=3,
                       num_workers=1, collate_fn=collate_plans)
    batches = list(GpuClipLoader(plans, device="cuda", backend="torchcodec"))
    assert len(batches) == 2
    for batch in batches:
        frames = batch["frames"]
        assert frames.is_cuda and frames.shape[1:] == (8, 3, 64, 96)
        codes = [[read_code(f.permute(1, 2, 0).cpu().numpy()) for f in clip] for clip in frames]
        for clip in codes:
            assert np.all(np.diff(clip) == 2)  # consecutive clip frames, stride 2, identified by their codes
