"""Quality benchmark (benchmarks/quality.py): aggregation, targets, report rendering, run-folder mismatch refusal.

The fast tests use hand-made results dicts and fake run folders; the ``slow`` test runs ``--quick`` end to end.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


report = _load("quality_report")


# ============ aggregation ============
def test_aggregate_mean_and_sample_std():
    s = report.aggregate([0.5, 0.6, 0.7])
    assert s["mean"] == pytest.approx(0.6)
    assert s["std"] == pytest.approx(0.1)  # ddof=1
    assert s["n"] == 3


def test_aggregate_single_value_and_empty_and_nan():
    assert report.aggregate([0.4]) == {"mean": 0.4, "std": 0.0, "n": 1, "values": [0.4]}
    assert report.aggregate([])["mean"] is None
    s = report.aggregate([0.2, float("nan"), None, 0.4])
    assert s["n"] == 2 and s["mean"] == pytest.approx(0.3)


def test_fmt_mean_std_percent():
    assert report.fmt_mean_std({"mean": 0.523, "std": 0.041}) == "52.3 ± 4.1"
    assert report.fmt_mean_std(None) == "n/a"
    assert report.fmt_mean_std({"mean": None}) == "n/a"


def test_summarize_classification_keys_are_strings():
    raw = {"linear": {"scratch": {1: [0.1, 0.3], 4: [0.2]}}}
    s = report.summarize_classification(raw)
    assert set(s["linear"]["scratch"]) == {"1", "4"}
    assert s["linear"]["scratch"]["1"]["mean"] == pytest.approx(0.2)


# ============ targets ============
def _results(**over):
    base = {
        "tasks": ["shuffle_and_learn", "colorization", "tracking_triplets", "av_correspondence"],
        "expected_tasks": ["shuffle_and_learn", "colorization", "tracking_triplets", "av_correspondence"],
        "classification": {
            "linear": {
                "scratch": {"1": [0.10, 0.12], "16": [0.20, 0.22]},
                "supervised": {"1": [0.5, 0.5], "16": [0.9, 0.9]},
                "shuffle_and_learn": {"1": [0.2, 0.2], "16": [0.40, 0.42]},  # +20 pts
                "colorization": {"1": [0.1, 0.1], "16": [0.25, 0.25]},  # +4 pts: missed
                "tracking_triplets": {"1": [0.1, 0.1], "16": [0.31, 0.31]},  # +10 pts: met (>=)
                "av_correspondence": {"1": [0.1, 0.1], "16": [0.35, 0.37]},
            },
            "finetune": {
                "scratch": {"4": [0.20, 0.20]},
                "shuffle_and_learn": {"4": [0.35, 0.33]},
                "colorization": {"4": [0.25, 0.25]},
            },
        },
        "tracking": {
            "methods": {"identity": {"J&F-Mean": 0.40}, "lab": {"J&F-Mean": 0.50}, "random": {"J&F-Mean": 0.45},
                        "colorization": {"J&F-Mean": 0.55}, "tracking_triplets": {"J&F-Mean": 0.48}},
            "init_methods": {"scratch": "random", "colorization": "colorization",
                             "tracking_triplets": "tracking_triplets"},
        },
        "pretext": {
            "av_correspondence": {"metric": "accuracy", "value": 0.93, "chance": 0.5,
                                  "control": {"value": 0.52, "chance": 0.5, "description": "mismatched audio"}},
            "shuffle_and_learn": {"metric": "balanced_acc", "value": 0.8, "chance": 0.5,
                                  "control": {"value": 0.60, "chance": 0.5, "description": "static"}},
            "colorization": {"metric": "color_acc", "value": 0.6, "chance": 0.3,
                             "control": {"value": 0.31, "chance": 0.3}},
            "tracking_triplets": {"metric": "triplet_acc", "value": 0.7, "chance": 0.5, "control": {"reason": "x"}},
        },
    }
    base.update(over)
    return base


def test_targets_linear_probe_margin_at_largest_k():
    targets, _ = report.evaluate_targets(_results())
    t = targets["linear_probe_vs_random/shuffle_and_learn"]
    assert t["value"] == pytest.approx(20.0) and t["target"] == 10.0 and t["met"] is True and t["k"] == 16
    assert targets["linear_probe_vs_random/colorization"]["met"] is False
    assert targets["linear_probe_vs_random/tracking_triplets"]["value"] == pytest.approx(10.0)
    assert targets["linear_probe_vs_random/tracking_triplets"]["met"] is True


def test_targets_finetune_best_task_vs_scratch():
    targets, _ = report.evaluate_targets(_results())
    t = targets["finetune_k4_best_vs_scratch"]
    assert t["task"] == "shuffle_and_learn"
    assert t["value"] == pytest.approx(14.0) and t["met"] is True


def test_targets_propagation_order():
    targets, _ = report.evaluate_targets(_results())
    assert targets["propagation/lab_vs_identity"]["met"] is True
    assert targets["propagation/colorization_vs_lab"]["value"] == pytest.approx(0.05)
    assert targets["propagation/colorization_vs_lab"]["met"] is True
    assert targets["propagation/tracking_triplets_vs_lab"]["met"] is False


def test_targets_avc_and_controls():
    targets, missing = report.evaluate_targets(_results())
    assert targets["avc/heldout_accuracy"] == pytest.approx(targets["avc/heldout_accuracy"])
    assert targets["avc/heldout_accuracy"]["value"] == 0.93 and targets["avc/heldout_accuracy"]["met"] is True
    assert targets["controls/av_correspondence"]["value"] == pytest.approx(2.0)
    assert targets["controls/av_correspondence"]["met"] is True
    assert targets["controls/shuffle_and_learn"]["met"] is False  # 10 points off chance
    assert "controls/tracking_triplets" in missing and "controls/tracking_triplets" not in targets


def test_targets_schema_is_plain_json():
    targets, _ = report.evaluate_targets(_results())
    data = json.loads(json.dumps({"targets": targets}))
    for t in data["targets"].values():
        assert isinstance(t["value"], float) and isinstance(t["target"], float) and isinstance(t["met"], bool)


def test_missing_task_is_not_evaluated_never_met():
    r = _results(tasks=["shuffle_and_learn"], skipped={"av_correspondence": "module does not exist yet"})
    targets, missing = report.evaluate_targets(r)
    assert "linear_probe_vs_random/av_correspondence" not in targets
    assert missing["linear_probe_vs_random/av_correspondence"] == "module does not exist yet"
    assert "propagation/colorization_vs_lab" not in targets or r["tasks"]  # J&F still present in tracking


def test_no_avc_value_is_reported_missing():
    r = _results()
    r["pretext"].pop("av_correspondence")
    targets, missing = report.evaluate_targets(r)
    assert "avc/heldout_accuracy" not in targets and "avc/heldout_accuracy" in missing


# ============ report ============
def test_render_markdown_tables_targets_and_metadata():
    r = _results(command="python benchmarks/quality.py --quick --out X", preset="quick",
                 versions={"torch": "2.x"}, machine={"cpus": 2}, code={"commit": "abc", "dirty": True, "diff": "d"},
                 budget={"description": "same steps", "pretrain": {"colorization": {"steps": 12, "seconds": 30.0,
                                                                                      "cpu_seconds": 50.0}},
                         "commands": ["vidssl pretrain -c configs/pretrain/colorization_tiny.yaml"]},
                 plots=["plots/accuracy_vs_labels.png"], seconds=120.0)
    r["classification_summary"] = report.summarize_classification(r["classification"])
    r["targets"], r["targets_not_evaluated"] = report.evaluate_targets(r)
    r["analysis"] = ["controls/shuffle_and_learn: missed because ..."]
    md = report.render_markdown(r)
    assert "`python benchmarks/quality.py --quick --out X`" in md
    assert "| shuffle_and_learn | 20.0 ± 0.0 | 41.0 ± 1.4 |" in md
    assert "| linear_probe_vs_random/colorization | +4.0 pts | >= 10 | **no** |" in md
    assert "| avc/heldout_accuracy | 0.930 | >= 0.9 | yes |" in md
    assert "Misses and their analysis" in md and "missed because" in md
    assert "vidssl pretrain -c configs/pretrain/colorization_tiny.yaml" in md
    assert "torch 2.x" in md and "cpus=2" in md and "commit `abc`" in md
    assert "![accuracy_vs_labels](plots/accuracy_vs_labels.png)" in md
    assert "| colorization | 0.550 |" in md  # J&F table


def test_plots_written(tmp_path):
    summary = report.summarize_classification(_results()["classification"])
    assert report.plot_accuracy_vs_labels(summary, tmp_path / "a.png").is_file()
    logs = {"t": [{"kind": "step", "step": 1, "loss": 2.0}, {"kind": "step", "step": 2, "loss": 1.5},
                  {"kind": "epoch", "step": 2, "val/loss": 1.7}]}
    assert report.plot_pretext_curves(logs, tmp_path / "c.png").is_file()
    assert report.plot_pretext_curves({}, tmp_path / "d.png") is None


# ============ mismatch refusal ============
STAMP = {"corpus": "c0ffee", "recipe": "configs/pretrain/x.yaml", "recipe_digest": "r1", "overrides": ["a=1"],
         "code": {"commit": "abc", "dirty": False, "diff": ""}}


def _fake_run(path: Path, stamp=STAMP, git=None, config=None) -> Path:
    path.mkdir(parents=True)
    (path / "quality_stamp.json").write_text(json.dumps(stamp))
    (path / "git.json").write_text(json.dumps(git or {"commit": "abc", "dirty": False}))
    if config is not None:
        import yaml

        (path / "config.yaml").write_text(yaml.safe_dump(config))
    return path


def test_matching_run_dir_has_no_mismatch(tmp_path):
    cfg = {"run": {"epochs": 2, "threads": 2}, "model": {"name": "tiny_cnn2d", "kwargs": {}}}
    run = _fake_run(tmp_path / "r", config=cfg)
    assert report.run_dir_mismatches(run, stamp=STAMP, config=cfg) == []
    assert report.run_dir_mismatches(tmp_path / "absent", stamp=STAMP) == []


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"corpus": "other"}, "corpus"),
        ({"recipe_digest": "r2"}, "recipe_digest"),
        ({"overrides": ["a=2"]}, "overrides"),
        ({"code": {"commit": "def", "dirty": False, "diff": ""}}, "code revision commit"),
        ({"code": {"commit": "abc", "dirty": True, "diff": "x"}}, "code revision dirty"),
    ],
)
def test_mismatched_stamp_is_refused(tmp_path, change, needle):
    run = _fake_run(tmp_path / "r", stamp={**STAMP, **change})
    diffs = report.run_dir_mismatches(run, stamp=STAMP)
    assert any(needle in d for d in diffs), diffs


def test_mismatched_recorded_config_and_git_are_refused(tmp_path):
    cfg = {"run": {"epochs": 2}, "data": {"manifest": "a/manifest.csv"}}
    run = _fake_run(tmp_path / "r", git={"commit": "zzz", "dirty": False},
                    config={"run": {"epochs": 3}, "data": {"manifest": "a/manifest.csv"}})
    diffs = report.run_dir_mismatches(run, stamp=STAMP, config=cfg)
    assert any("run.epochs" in d for d in diffs)
    assert any("git.json commit" in d for d in diffs)


def test_run_dir_without_stamp_is_refused(tmp_path):
    (tmp_path / "r").mkdir()
    assert any("quality_stamp.json is missing" in d for d in report.run_dir_mismatches(tmp_path / "r", stamp=STAMP))


def test_pretraining_refuses_mismatched_run_dir(tmp_path, monkeypatch):
    quality = _load("quality")
    monkeypatch.setattr(quality, "_expected_config", lambda recipe, overrides: {"run": {"epochs": 1}})
    run = _fake_run(tmp_path / "runs" / "colorization", stamp={**STAMP, "corpus": "another-corpus"})
    with pytest.raises(report.RunMismatchError, match="corpus"):
        quality.run_pretraining("colorization", "configs/pretrain/x.yaml", ["a=1"], run, STAMP)


def test_corpus_with_other_settings_is_refused(tmp_path):
    quality = _load("quality")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "DONE").write_text("{}")
    (corpus / "synth_config.json").write_text(json.dumps({"n_videos": 60, "seed": 1, "splits": [0.6, 0.1, 0.3],
                                                          "config": {"static": False}}))
    with pytest.raises(report.RunMismatchError):
        quality.ensure_corpus(corpus, quality._synth_spec({"videos": 60, "seed": 0, "splits": [0.6, 0.1, 0.3]}))


def test_pretext_control_of_a_task_with_its_own_corpus_adds_the_control_flags(tmp_path, monkeypatch):
    """AVC pretrains on --neutral-background; its control corpus is that plus --mismatched-audio."""
    from vidssl.tasks.base import ControlSpec, PretextBenchmarkSpec

    quality = _load("quality")
    spec = PretextBenchmarkSpec("avc_acc", 0.5, ControlSpec(synth_flags=("--mismatched-audio",)),
                                "configs/pretrain/av_correspondence_tiny.yaml", synth_flags=("--neutral-background",),
                                quick_overrides=("run.epochs=10",))
    made, trained = [], []
    monkeypatch.setattr(quality, "ensure_corpus", lambda path, cspec, **kw: made.append((path.name, cspec)) or {})
    monkeypatch.setattr(quality, "make_stamp", lambda *a, **k: {})

    def fake_pretraining(name, recipe, overrides, run_dir, stamp):
        assert "run.epochs=10" not in overrides, "pretext.py --quick overrides leaked into the quality budget"
        trained.append((name, [o for o in overrides if o.startswith("data.manifest=")]))
        return {"metrics": {"val": {"avc_acc": 0.49, "examples": 300.0}}, "command": "vidssl pretrain ..."}

    monkeypatch.setattr(quality, "run_pretraining", fake_pretraining)
    run = tmp_path / "runs" / "avc"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"val": {"avc_acc": 0.72, "examples": 400.0}}))
    preset = {"pretrain": {}, "pretext": {"control_videos": 300}, "corpus": {}}
    main_spec = quality._synth_spec({"videos": 1000, "seed": 0})
    results, _ = quality.run_pretext({"avc": spec}, {"avc": run}, main_spec, {"avc": tmp_path / "corpora" / "gray"},
                                     tmp_path, preset, {}, 1)
    folder = "mismatched_audio_neutral_background"
    assert made == [(folder, {**main_spec, "videos": 300, "flags": ["--mismatched-audio", "--neutral-background"]})]
    assert trained == [("avc (control)", [f"data.manifest={tmp_path / 'controls' / folder / 'manifest.csv'}"])]
    assert results["avc"]["value"] == 0.72 and results["avc"]["control"]["value"] == 0.49


def test_cli_mismatch_exit_status(tmp_path, monkeypatch):
    """A reused --out with a corpus of other settings: exit 3, no results written."""
    quality = _load("quality")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "DONE").write_text("{}")
    (corpus / "synth_config.json").write_text(json.dumps({"n_videos": 5, "seed": 9, "splits": [1, 0, 0]}))
    assert quality.main(["--quick", "--out", str(tmp_path)]) == 3
    assert not (tmp_path / "results.json").exists()


def test_cosine_schedule_shape():
    quality = _load("quality")
    lrs = [quality._cosine(s, 10, 1.0, 2) for s in range(10)]
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[1:])) and lrs[-1] >= 0 and not math.isnan(lrs[-1])


def test_vidssl_bench_help():
    out = subprocess.run([sys.executable, "-m", "vidssl", "bench", "quality", "--help"], capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0 and "--quick" in out.stdout


# ============ end to end ============
@pytest.mark.slow
def test_quick_end_to_end(tmp_path):
    out = tmp_path / "q"
    proc = subprocess.run([sys.executable, str(BENCH / "quality.py"), "--quick", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=3600)  # < 10 min idle
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["targets"], "no target evaluated"
    for t in results["targets"].values():
        assert set(t) >= {"value", "target", "met"}
    assert {"scratch", "supervised"} <= set(results["classification"]["linear"])
    md = (out / "results.md").read_text()
    assert "## Targets" in md and "±" in md and "Command:" in md
    assert (out / "plots" / "accuracy_vs_labels.png").is_file()
    assert (out / "plots" / "pretext_curves.png").is_file()


def test_readme_section_keeps_numbers_only():
    r = _results(command="python benchmarks/quality.py --out X", preset="full", seconds=3000.0, machine={"cpus": 2})
    r["classification_summary"] = report.summarize_classification(r["classification"])
    r["targets"], r["targets_not_evaluated"] = report.evaluate_targets(r)
    r["analysis"] = ["some analysis"]
    text = report.render_readme_section(r, "bench/plots/accuracy_vs_labels.png")
    assert text.startswith("## Results")
    assert "### Targets" in text and "### Linear probe" in text
    assert "some analysis" not in text and "Command:" not in text
    assert "![accuracy vs labels per class](bench/plots/accuracy_vs_labels.png)" in text


def test_pretext_table_names_the_corpus_each_task_pretrained_on():
    r = _results()
    r["pretext"] = {"av_correspondence": {"metric": "avc_acc", "value": 0.72, "chance": 0.5,
                                          "control": {"value": 0.5, "chance": 0.5, "description": "mismatched"}},
                    "colorization": {"metric": "color_acc", "value": 0.97, "chance": 0.92, "control": None}}
    r["pretext_source"] = "benchmarks/pretext.py run_task"
    r["task_corpora"] = {"av_correspondence": {"flags": ["--neutral-background"]}}
    md = report.render_markdown(r)
    assert "| av_correspondence | --neutral-background | avc_acc | 0.720 | 0.500 | mismatched | 0.500 | 0.500 |" in md
    assert "| colorization | default | color_acc | 0.970 | 0.920 |" in md
    section = report.render_readme_section(r)
    assert "### Held-out pretext metrics and controls\n" in section and "source:" not in section


def test_readme_section_from_the_command_line(tmp_path, capsys):
    r = _results(command="python benchmarks/quality.py --out X", preset="full", seconds=60.0, machine={"cpus": 2})
    r["classification_summary"] = report.summarize_classification(r["classification"])
    r["targets"], r["targets_not_evaluated"] = report.evaluate_targets(r)
    copy = tmp_path / "docs" / "results" / "q"
    (copy / "plots").mkdir(parents=True)
    (copy / "plots" / "accuracy_vs_labels.png").write_bytes(b"png")
    (copy / "results.json").write_text(json.dumps(r))
    assert report.main([str(copy / "results.json"), "--copy", str(copy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Results")
    assert f"![accuracy vs labels per class]({copy}/plots/accuracy_vs_labels.png)" in out
    assert f"[`{copy}/`]({copy}/)" in out
    assert report.main([str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().out


def test_analysis_names_every_miss_with_its_numbers():
    quality = _load("quality")
    r = _results(preset="full", preset_settings={"pretrain": {"epochs": 4, "max_steps_per_epoch": 25}})
    r["classification_summary"] = report.summarize_classification(r["classification"])
    r["targets"], _ = report.evaluate_targets(r)
    lines = quality.analyse(r)
    missed = [n for n, t in r["targets"].items() if not t["met"]]
    assert len(lines) == len(missed)
    assert any(line.startswith("linear_probe_vs_random/colorization: 25.0% vs random-init features 21.0%")
               for line in lines)
    assert any("held-out color_acc 0.600 vs chance 0.300" in line for line in lines)


# ============ fine-tune protocol (LP-FT, backbone lr) ============
def test_finetune_target_uses_the_stronger_scratch():
    """With LP-FT the benchmark also fine-tunes scratch the plain way; the target compares with the better one."""
    r = _results()
    r["classification"]["finetune"]["scratch_plain"] = {"4": [0.30, 0.30]}
    targets, _ = report.evaluate_targets(r)
    t = targets["finetune_k4_best_vs_scratch"]
    assert t["scratch_run"] == "scratch_plain" and t["scratch"] == pytest.approx(0.30)
    assert t["value"] == pytest.approx(4.0) and t["met"] is False
    r["classification"]["finetune"]["scratch_plain"] = {"4": [0.10, 0.10]}  # weaker: the protocol's scratch counts
    t = report.evaluate_targets(r)[0]["finetune_k4_best_vs_scratch"]
    assert t["scratch_run"] == "scratch" and t["value"] == pytest.approx(14.0)


@pytest.fixture(scope="module")
def tiny_finetune(tmp_path_factory, synth):
    """A fine-tune config on a real (tiny) synthetic manifest and an in-memory clip cache of random clips."""
    from types import SimpleNamespace

    import torch

    quality = _load("quality")
    corpus = synth(tmp_path_factory.mktemp("ftcorpus") / "c", videos=4, frames=8, seed=0)
    cfg = quality._finetune_config(quality.FINETUNE_RECIPE, corpus,
                                   {"name": "tiny_cnn2d", "kwargs": {"width": 8}})
    from vidssl.train.data import resolve_num_classes

    nc = resolve_num_classes(cfg)
    g = torch.Generator().manual_seed(0)
    t, crop = cfg.data.num_frames, cfg.data.crop_size
    cache = SimpleNamespace(
        train_clips=torch.randint(0, 256, (6, 1, t, 3, crop + 8, crop + 8), generator=g, dtype=torch.uint8),
        train_labels=torch.arange(6) % nc,
        test_clips=torch.randint(0, 256, (4, 1, t, 3, crop, crop), generator=g, dtype=torch.uint8),
        test_labels=torch.arange(4) % nc, crop=crop)
    return quality, cfg, cache


def _capture_task(quality, monkeypatch):
    built = []
    original = quality._build_classifier

    def build(*args, **kwargs):
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(quality, "_build_classifier", build)
    return built


def test_finetune_starts_from_the_linear_probe_head(tiny_finetune, monkeypatch):
    import torch

    quality, cfg, cache = tiny_finetune
    built = _capture_task(quality, monkeypatch)
    head = {k: torch.full_like(v, 0.01 * i) for i, (k, v) in
            enumerate(quality._build_classifier(cfg, None, 0).head.state_dict().items())}
    acc = quality.finetune(cfg, None, cache, [0, 1, 2, 3, 4, 5], seed=0, steps=0, batch_size=4, head_state=head)
    assert 0.0 <= acc <= 1.0
    for k, v in built[-1].head.state_dict().items():
        assert torch.equal(v, head[k]), k  # no steps: exactly the probe's head


def test_finetune_backbone_lr_mult_scales_only_the_backbone(tiny_finetune, monkeypatch):
    import torch

    quality, cfg, cache = tiny_finetune
    built = _capture_task(quality, monkeypatch)
    before = {k: v.clone() for k, v in quality._build_classifier(cfg, None, 0).state_dict().items()}
    quality.finetune(cfg, None, cache, [0, 1, 2, 3, 4, 5], seed=0, steps=3, batch_size=4, backbone_lr_mult=0.0)
    task = built[-1]
    backbone_ids = {id(p) for p in task.backbone.parameters()}
    assert backbone_ids
    for name, p in task.named_parameters():
        changed = not torch.equal(p.detach(), before[name])
        assert changed != (id(p) in backbone_ids), name  # backbone unchanged (lr 0), head trained


def test_finetune_head_init_must_match(tiny_finetune):
    quality, cfg, cache = tiny_finetune
    with pytest.raises(ValueError, match="head_init: fresh"):
        quality.finetune(cfg, None, cache, [0, 1], seed=0, steps=0, batch_size=2, head_state={"nope": 1})
