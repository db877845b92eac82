"""``vidssl track`` end to end on tiny DAVIS-layout and synthetic-corpus folders written in the test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vidssl.cli.main import main as vidssl_main
from vidssl.data.datasets.davis import write_indexed_png
from vidssl.models import create_backbone


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def moving_squares(root: Path, name: str, frames: int = 8, seed: int = 0) -> None:
    """Two textured squares moving 2 px per frame over a smooth background, DAVIS layout, 64x64."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    bg = np.stack([40 + xx * 2, 40 + yy * 2, np.full_like(xx, 90)], -1).astype(float)
    tex = [rng.uniform(0, 255, (16, 16, 3)), rng.uniform(0, 255, (12, 12, 3))]
    for t in range(frames):
        img, mask = bg.copy(), np.zeros((64, 64), np.uint8)
        for k, (x, y) in enumerate([(8 + 2 * t, 10), (40, 40 - 2 * t)]):
            s = tex[k].shape[0]
            img[y : y + s, x : x + s] = tex[k]
            mask[y : y + s, x : x + s] = k + 1
        (root / "JPEGImages" / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(root / "JPEGImages" / name / f"{t:05d}.jpg", quality=95)
        write_indexed_png(root / "Annotations" / name / f"{t:05d}.png", mask)


def test_track_davis_writes_predictions_overlays_and_metrics(tmp_path, capsys):
    root, out = tmp_path / "davis", tmp_path / "out"
    moving_squares(root, "a", seed=0)
    moving_squares(root, "b", seed=1)
    net = create_backbone("tiny_cnn2d", width=8)
    run = tmp_path / "run"
    run.mkdir()
    config = {"model": {"name": "tiny_cnn2d", "kwargs": {"width": 8}}}
    torch.save({"backbone": net.state_dict(), "config": config}, run / "checkpoint.pt")

    code = vidssl_main(["track", "--davis-root", str(root), "--out", str(out), "--checkpoint", str(run), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "J&F" in printed and "best J&F" in printed

    metrics = json.loads((out / "metrics.json").read_text())
    methods = metrics["methods"]
    assert set(methods) == {"identity", "lab", "random-tiny_cnn2d", "checkpoint"}
    assert metrics["config"]["n_context"] == 5  # the tiny preset was chosen for 64x64 frames
    for m in methods.values():
        assert set(m["per_sequence"]) == {"a", "b"} and m["num_objects"] == 4
        assert 0.0 <= m["mean"]["J&F-Mean"] <= 1.0
    assert methods["lab"]["mean"]["J&F-Mean"] > methods["identity"]["mean"]["J&F-Mean"]

    preds = sorted((out / "predictions" / "lab" / "a").glob("*.png"))
    assert len(preds) == 8
    with Image.open(preds[3]) as im:
        assert im.mode == "P" and im.size == (64, 64)
        assert set(np.unique(np.asarray(im)).tolist()) <= {0, 1, 2}
    assert (out / "overlays" / "a.png").is_file() and (out / "overlays" / "a_lab.gif").is_file()


def test_track_rejects_unknown_settings(tmp_path, capsys):
    moving_squares(tmp_path / "davis", "a", frames=3)
    code = vidssl_main(["track", "--davis-root", str(tmp_path / "davis"), "--out", str(tmp_path / "o"), "topk=3",
                        "top_k=2", "--quiet"])  # fmt: skip
    assert code == 2 and "unknown setting 'top_k'" in capsys.readouterr().err
    code = vidssl_main(["track", "--davis-root", str(tmp_path / "davis"), "--out", str(tmp_path / "o"),
                        "--methods", "identity,flow"])  # fmt: skip
    assert code == 2


def write_corpus(root: Path, videos: dict[str, str]) -> None:
    """A minimal synthetic-corpus layout: splits, gt JSON boxes, JPEG frames."""
    (root / "splits").mkdir(parents=True)
    (root / "gt").mkdir()
    for split in ("train", "test"):
        (root / "splits" / f"{split}.txt").write_text("".join(f"{v}\n" for v, s in videos.items() if s == split))
    for i, vid in enumerate(videos):
        moving_squares(root / "davis", vid, frames=6, seed=i)
        boxes = [[8 + 2 * t, 10, 24 + 2 * t, 26] for t in range(6)]
        files = {"frames": f"davis/JPEGImages/{vid}"}
        record = {"objects": [{"id": 1, "role": "main", "boxes": boxes}], "files": files}
        (root / "gt" / f"{vid}.json").write_text(json.dumps(record))


def test_track_head_trains_and_reports(tmp_path, capsys):
    write_corpus(tmp_path / "corpus", {"v0": "train", "v1": "train", "v2": "test"})
    out = tmp_path / "out"
    code = vidssl_main(["track", "--boxes-root", str(tmp_path / "corpus"), "--out", str(out), "steps=4",
                        "batch_size=4", "--backbone", "tiny_cnn2d", "--quiet"])  # fmt: skip
    assert code == 0
    assert "success AUC" in capsys.readouterr().out
    metrics = json.loads((out / "head_metrics.json").read_text())
    assert set(metrics) == {"config", "static", "scratch-tiny_cnn2d"}
    assert len(metrics["static"]["scores"]["success"]) == 21
    assert (out / "success.png").is_file() and (out / "head_examples.png").is_file()
