"""Shared pytest fixtures: where the real and hard video fixtures live, and GPU skipping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared next to the checkout; VIDSSL_SHARED overrides (e.g. in Docker).
SHARED = Path(os.environ.get("VIDSSL_SHARED", REPO.parent / "shared"))
REAL = SHARED / "data" / "real"
HARD = SHARED / "data" / "hard"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """``../shared/data/real`` (skips the test when absent)."""
    if not REAL.is_dir():
        pytest.skip(f"real video fixtures not found at {REAL} (set VIDSSL_SHARED to the shared folder)")
    return REAL


@pytest.fixture(scope="session")
def hard_dir() -> Path:
    """``../shared/data/hard`` (skips the test when absent)."""
    if not HARD.is_dir():
        pytest.skip(f"hard container fixtures not found at {HARD} (set VIDSSL_SHARED to the shared folder)")
    return HARD


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``@pytest.mark.gpu`` tests cleanly when no CUDA device is present."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none present)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def synth():
    """Make a synthetic corpus with the real generator: ``synth(out_dir, videos=6, frames=24, seed=0)``.

    The generator is part of this project, so a failure fails the test (it is never a reason to skip).
    """
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]

    def make(out: Path, *, videos: int, frames: int, seed: int) -> Path:
        cmd = [sys.executable, "-m", "data_tools", "synth", str(out), "--videos", str(videos), "--frames", str(frames),
               "--seed", str(seed), "--quiet"]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, timeout=1800)
        assert proc.returncode == 0, f"vidssl-data synth failed: {proc.stderr[-2000:]}"
        return out / "manifest.csv"

    return make


@pytest.fixture(scope="session")
def tiny_pretrain():
    """Run ``vidssl pretrain`` in a subprocess for 2 steps of a small model: ``tiny_pretrain(recipe, manifest, run,
    *overrides)`` returns the run's ``metrics.json`` (asserting exit code 0).
    """
    import json
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    budget = ["run.epochs=1", "run.max_steps_per_epoch=2", "data.batch_size=4", "data.num_workers=0",
              "model.kwargs={width: 8}", "eval.clips_per_video=1", "run.progress=false", "run.threads=1"]

    def run(recipe: Path, manifest: Path, run_dir: Path, *overrides: str) -> dict:
        cmd = [sys.executable, "-m", "vidssl", "pretrain", "-c", str(recipe), f"data.manifest={manifest}",
               f"run.out_dir={run_dir}", *budget, *overrides]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, timeout=1800)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (run_dir / "checkpoint.pt").is_file()
        return json.loads((run_dir / "metrics.json").read_text())

    return run
