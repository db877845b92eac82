"""The real pipeline on a tiny synthetic corpus: encoded videos → decode → train → evaluate, through the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vidssl.cli.main import main

REPO = Path(__file__).resolve().parents[2]
TINY = [
    "data.num_frames=4", "data.frame_stride=2", "data.batch_size=8", "data.num_workers=0", "data.crop_size=48",
    "model.kwargs={width: 8}", "eval.clips_per_video=2", "run.epochs=2", "run.progress=false", "run.threads=1",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, synth) -> Path:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    synth(out, videos=20, frames=24, seed=1)
    return out / "manifest.csv"


@pytest.fixture(scope="module")
def finetune_run(corpus, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "ft"
    rc = main(["finetune", "-c", "configs/finetune/supervised_tiny.yaml", f"data.manifest={corpus}",
               f"run.out_dir={run}", *TINY])
    assert rc == 0
    return run


def test_finetune_writes_a_complete_run(finetune_run):
    metrics = json.loads((finetune_run / "metrics.json").read_text())
    test = metrics["test"]
    assert test["split"] == "test" and test["num_videos"] == 4 and test["num_clips"] == 8
    assert 0.0 <= test["video_accuracy"] <= 1.0 and len(test["per_class_accuracy"]) == 10
    assert test["class_names"][:2] == ["move_right", "move_left"]
    assert {"video_accuracy", "clip_accuracy"} <= set(metrics["val"])
    for name in ("confusion_matrix.png", "predictions.csv", "loss_curves.png", "checkpoint.pt", "config.yaml"):
        assert (finetune_run / name).is_file(), name
    assert len(list(finetune_run.glob("events.out.tfevents.*"))) == 1
    assert len((finetune_run / "predictions.csv").read_text().splitlines()) == 5


def test_evaluate_classification_reproduces_the_test_metrics(finetune_run, capsys):
    assert main(["evaluate", "classification", str(finetune_run)]) == 0
    assert "video accuracy" in capsys.readouterr().out
    again = json.loads((finetune_run / "eval_test" / "metrics.json").read_text())
    trained = json.loads((finetune_run / "metrics.json").read_text())["test"]
    assert again["confusion"] == trained["confusion"]
    assert again["clip_accuracy"] == pytest.approx(trained["clip_accuracy"])
    assert (finetune_run / "eval_test" / "confusion_matrix.png").is_file()


def test_retrieval_from_a_run_and_from_random_init(finetune_run):
    assert main(["evaluate", "retrieval", str(finetune_run), "eval.retrieval_ks=[1, 5, 50]"]) == 0
    out = json.loads((finetune_run / "retrieval_test_train.json").read_text())
    assert out["queries"] == 4 and out["gallery"] == 14 and out["top50"] == 1.0  # k > gallery: every class found
    assert out["top1"] <= out["top5"] <= out["top50"]
    assert main(["evaluate", "retrieval", str(finetune_run), "--random-init", "eval.retrieval_features=pool"]) == 0
    assert json.loads((finetune_run / "retrieval_test_train_random_init.json").read_text())["feature_dim"] == 32


def test_linear_probe_from_a_pretrain_run_keeps_its_backbone(corpus, finetune_run, tmp_path):
    probe = tmp_path / "probe"
    rc = main(["finetune", "-c", "configs/finetune/linear_probe_tiny.yaml", f"data.manifest={corpus}",
               f"run.out_dir={probe}", f"finetune.init={finetune_run}", "data.labels_per_class=1", *TINY])
    assert rc == 0
    metrics = json.loads((probe / "metrics.json").read_text())
    assert metrics["policy"]["backbone_unchanged"] is True
    source = torch.load(finetune_run / "checkpoint.pt", weights_only=True)["backbone"]
    probed = torch.load(probe / "checkpoint.pt", weights_only=True)["backbone"]
    for k, v in source.items():
        assert torch.equal(probed[k], v), k
    # labels_per_class=1: one training video per class (10), global batch 8 -> 1 step per epoch
    assert metrics["steps"] == 2


@pytest.mark.slow
def test_torchrun_finetune_on_real_videos(corpus, tmp_path):
    """2 CPU processes: sharded decoding, DDP training, validation and test gathered from both ranks."""
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "vidssl",
           "finetune", "-c", "configs/finetune/supervised_tiny.yaml", f"data.manifest={corpus}", f"run.out_dir={run}",
           *TINY]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["num_videos"] == 4  # both ranks' shards gathered, nothing counted twice
    assert metrics["steps"] == 2  # 14 train videos, global batch 8 -> 1 step per epoch
    assert torch.load(run / "checkpoint.pt", weights_only=True)["world_size"] == 2


def test_corrupt_training_video_is_skipped_and_counted(corpus, tmp_path, capsys):
    import shutil

    import pandas as pd

    from vidssl.train.run_dir import read_jsonl

    copy = tmp_path / "corpus"
    shutil.copytree(corpus.parent, copy)
    df = pd.read_csv(copy / "manifest.csv")
    bad = df[df["split"] == "train"].iloc[0]["path"]
    (copy / bad).write_bytes(b"\x00not a video" * 100)
    run = tmp_path / "run"
    rc = main(["pretrain", "-c", "configs/pretrain/supervised_tiny.yaml", f"data.manifest={copy / 'manifest.csv'}",
               f"run.out_dir={run}", *TINY, "run.epochs=1", "data.batch_size=14", "data.val_split=",
               "data.test_split="])  # batch 14 = every train video, so the bad one is drawn
    assert rc == 0
    epoch = next(r for r in read_jsonl(run / "log.jsonl") if r["kind"] == "epoch")
    assert epoch["skipped"] >= 1
    assert "skipped videos" in capsys.readouterr().err
