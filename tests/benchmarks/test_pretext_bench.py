"""benchmarks/pretext.py: table and JSON logic with fake runs (fast), and the real ``--quick`` run (slow)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import pytest

from vidssl.tasks.base import ControlSpec, PretextBenchmarkSpec
from vidssl.tasks.registry import TASKS, TaskEntry

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "pretext.py"


def _load():
    spec = importlib.util.spec_from_file_location("pretext_bench_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


bench = _load()

STATIC = PretextBenchmarkSpec("balanced_acc", 0.5, ControlSpec(synth_flags=("--static",), description="static"),
                              "configs/pretrain/fake_tiny.yaml")
FOREIGN = PretextBenchmarkSpec("color_acc", "majority_acc", ControlSpec(overrides=("task.control=foreign",)),
                               "configs/pretrain/fake2_tiny.yaml")


def _fake_result(**kw):
    base = {"metric": "balanced_acc", "chance": 0.5, "trained": 0.8125, "control": 0.5031, "seconds": 12.34}
    base.update(kw)
    return bench.TaskResult(**base, details={"control_se": math.nan, "runs": {"trained": "x"}})


def test_table_has_one_row_per_task_in_the_documented_columns():
    table = bench.format_table({"shuffle_and_learn": _fake_result(), "colorization": _fake_result(
        metric="color_acc", chance=0.3333, trained=0.61, control=0.34, seconds=100.0)})
    lines = table.splitlines()
    assert lines[0].split() == ["task", "metric", "chance", "control", "trained", "seconds"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["shuffle_and_learn", "balanced_acc", "0.500", "0.503", "0.812", "12"]
    assert lines[3].split() == ["colorization", "color_acc", "0.333", "0.340", "0.610", "100"]
    assert len({len(line.rstrip()) for line in lines[:2]}) == 1


def test_control_notes_give_the_controls_own_measured_chance_and_the_verdict():
    r = _fake_result(metric="color_acc", chance=0.895, trained=0.916, control=0.067)
    r.details = {"chance_source": "majority_acc", "control_chance": 0.074, "control_at_chance": True,
                 "control_se": 0.027}
    (line,) = bench.control_notes({"colorization": r})
    assert "its own majority_acc: 0.074" in line and "at chance, se 0.027" in line and "+0.021" in line
    r.details.update(chance_source="constant", control_at_chance=False, control_se=math.nan)
    assert "NOT at chance" in bench.control_notes({"x": r})[0]


def test_json_has_exactly_the_five_figures_per_task_and_is_strict_json():
    report = bench.results_json({"shuffle_and_learn": _fake_result()}, skipped={"x": "not written"},
                                failed={"y": "boom"}, config={"quick": True, "bad": math.inf})
    text = json.dumps(report, allow_nan=False)  # nan/inf never reach the file
    data = json.loads(text)
    entry = data["tasks"]["shuffle_and_learn"]
    assert set(entry) == {"metric", "chance", "trained", "control", "seconds"}
    assert isinstance(entry["metric"], str)
    assert all(isinstance(entry[k], float) for k in ("chance", "trained", "control", "seconds"))
    assert data["details"]["shuffle_and_learn"]["control_se"] is None
    assert data["skipped"] == {"x": "not written"} and data["failed"] == {"y": "boom"}
    assert data["config"] == {"quick": True, "bad": None}


def test_chance_is_a_number_or_a_diagnostic_of_the_same_run():
    assert bench.chance_of(STATIC, {"balanced_acc": 0.9}) == 0.5
    assert bench.chance_of(FOREIGN, {"color_acc": 0.7, "majority_acc": 0.41}) == 0.41
    with pytest.raises(KeyError, match="majority_acc"):
        bench.chance_of(FOREIGN, {"color_acc": 0.7})


def _settings(tmp_path):
    return bench.Settings(mode=bench.QUICK, work=tmp_path)


def test_run_task_trains_on_the_control_corpus_or_with_the_control_overrides(tmp_path):
    calls = []
    manifests = {(): tmp_path / "corpus/manifest.csv", ("--static",): tmp_path / "corpus_static/manifest.csv"}

    def runner(recipe, manifest, out_dir, overrides, settings):
        calls.append((recipe, manifest, out_dir.name, tuple(overrides)))
        control = out_dir.name == "control"
        return {"val": {"balanced_acc": 0.49 if control else 0.9, "color_acc": 0.35 if control else 0.8,
                        "majority_acc": 0.36 if control else 0.3, "examples": 400.0}}

    r = bench.run_task("sl", STATIC, manifests, _settings(tmp_path), runner)
    assert calls == [("configs/pretrain/fake_tiny.yaml", manifests[()], "trained", ()),
                     ("configs/pretrain/fake_tiny.yaml", manifests[("--static",)], "control", ())]
    assert (r.metric, r.chance, r.trained, r.control) == ("balanced_acc", 0.5, 0.9, 0.49)
    assert r.details["control_at_chance"] and r.details["control_se"] == pytest.approx(0.025)
    assert r.seconds >= 0

    calls.clear()
    r = bench.run_task("col", FOREIGN, manifests, _settings(tmp_path), runner)
    assert [(c[1], c[3]) for c in calls] == [(manifests[()], ()), (manifests[()], ("task.control=foreign",))]
    assert (r.chance, r.trained, r.control) == (0.3, 0.8, 0.35)  # chance from the trained run's held-out set
    assert r.details["control_chance"] == 0.36 and r.details["chance_source"] == "majority_acc"


def test_a_task_with_its_own_corpus_flags_trains_there_and_its_control_adds_the_control_flags(tmp_path):
    avc = PretextBenchmarkSpec("avc_acc", 0.5, ControlSpec(synth_flags=("--mismatched-audio",)),
                               "configs/pretrain/fake3_tiny.yaml", synth_flags=("--neutral-background",))
    assert avc.corpus_flags == ("--neutral-background",)
    assert avc.control_flags == ("--mismatched-audio", "--neutral-background")
    assert FOREIGN.control_flags == FOREIGN.corpus_flags == ()  # an override-only control shares the corpus
    manifests = {(): tmp_path / "corpus.csv", avc.corpus_flags: tmp_path / "gray.csv",
                 avc.control_flags: tmp_path / "gray_mismatched.csv"}
    used = []

    def runner(recipe, manifest, out_dir, overrides, settings):
        used.append((out_dir.name, manifest.name))
        return {"val": {"avc_acc": 0.5 if out_dir.name == "control" else 0.7, "examples": 400.0}}

    r = bench.run_task("avc", avc, manifests, _settings(tmp_path), runner)
    assert used == [("trained", "gray.csv"), ("control", "gray_mismatched.csv")]
    assert r.details["corpus_flags"] == ["--neutral-background"] and r.details["control_at_chance"]


def test_quick_videos_enlarge_only_the_corpora_of_the_task_that_asks():
    big = PretextBenchmarkSpec("avc_acc", 0.5, ControlSpec(synth_flags=("--mismatched-audio",)), "r.yaml",
                               synth_flags=("--neutral-background",), quick_videos=400)
    specs = {"avc": big, "sl": STATIC}
    assert bench.corpus_videos(specs, ("--neutral-background",), bench.QUICK) == 400
    assert bench.corpus_videos(specs, ("--mismatched-audio", "--neutral-background"), bench.QUICK) == 400
    assert bench.corpus_videos(specs, (), bench.QUICK) == bench.QUICK.videos == 120
    assert bench.corpus_videos(specs, ("--static",), bench.QUICK) == 120
    assert bench.corpus_videos(specs, ("--neutral-background",), bench.FULL) == bench.FULL.videos


def test_quick_mode_adds_the_tasks_optional_quick_overrides_before_the_controls(tmp_path):
    spec = PretextBenchmarkSpec("color_acc", 0.1, ControlSpec(overrides=("task.control=foreign",)), "r.yaml",
                                quick_overrides=("run.epochs=9",))
    seen = []

    def runner(recipe, manifest, out_dir, overrides, settings):
        seen.append(tuple(overrides))
        return {"val": {"color_acc": 0.5}}

    r = bench.run_task("q", spec, {(): Path("m")}, _settings(tmp_path), runner)
    assert seen == [("run.epochs=9",), ("run.epochs=9", "task.control=foreign")]
    assert r.details["quick_overrides"] == ["run.epochs=9"]
    seen.clear()
    bench.run_task("q", spec, {(): Path("m")}, bench.Settings(mode=bench.FULL, work=tmp_path), runner)
    assert seen == [(), ("task.control=foreign",)], "the full benchmark runs the recipes as written"


def test_run_task_explains_a_missing_held_out_metric(tmp_path):
    with pytest.raises(KeyError, match="val split"):
        bench.run_task("sl", STATIC, {(): Path("a"), ("--static",): Path("b")}, _settings(tmp_path),
                       lambda *a: {"val": {}})


@pytest.fixture()
def fake_tasks(monkeypatch):
    with_bench = types.ModuleType("fake_bench_task")
    with_bench.BENCHMARK = STATIC
    without = types.ModuleType("fake_nobench_task")
    monkeypatch.setitem(sys.modules, "fake_bench_task", with_bench)
    monkeypatch.setitem(sys.modules, "fake_nobench_task", without)
    for name in list(TASKS):
        monkeypatch.delitem(TASKS, name)
    monkeypatch.setitem(TASKS, "alpha", TaskEntry("alpha", "fake_bench_task", "", "pretext"))
    monkeypatch.setitem(TASKS, "beta", TaskEntry("beta", "fake_nobench_task", "", "pretext"))
    monkeypatch.setitem(TASKS, "gamma", TaskEntry("gamma", "fake_missing_module_xyz", "", "pretext"))
    monkeypatch.setitem(TASKS, "sup", TaskEntry("sup", "fake_bench_task", "", "supervised"))


def test_discover_runs_tasks_with_a_benchmark_and_says_why_others_are_skipped(fake_tasks):
    specs, skipped = bench.discover()
    assert list(specs) == ["alpha"] and specs["alpha"] is STATIC
    assert set(skipped) == {"beta", "gamma"}
    assert "BENCHMARK" in skipped["beta"] and "does not exist yet" in skipped["gamma"]
    specs, skipped = bench.discover(["sup", "alpha"])
    assert list(specs) == ["alpha"] and "supervised" in skipped["sup"]
    with pytest.raises(KeyError, match="unknown"):
        bench.discover(["nope"])


def test_main_synthesizes_each_corpus_once_and_writes_results(fake_tasks, monkeypatch, tmp_path, capsys):
    made = []

    def synthesize(settings, flags=(), videos=None):
        made.append(tuple(flags))
        return settings.work / bench.corpus_key(flags) / "manifest.csv"

    def train_run(recipe, manifest, out_dir, overrides, settings):
        static = "static" in str(manifest)
        return {"val": {"balanced_acc": 0.5 if static else 0.75, "examples": 64.0}}

    monkeypatch.setattr(bench, "synthesize", synthesize)
    monkeypatch.setattr(bench, "train_run", train_run)
    out = tmp_path / "results.json"
    assert bench.main(["--quick", "--out", str(out), "--work", str(tmp_path / "w")]) == 0
    assert made == [(), ("--static",)]
    data = json.loads(out.read_text())
    assert data["tasks"] == {"alpha": {"metric": "balanced_acc", "chance": 0.5, "trained": 0.75, "control": 0.5,
                                       "seconds": pytest.approx(data["tasks"]["alpha"]["seconds"])}}
    assert set(data["skipped"]) == {"beta", "gamma"} and data["config"]["quick"] is True
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["task", "metric", "chance", "control", "trained", "seconds"]
    assert "alpha" in printed


def test_main_reports_a_failed_task_and_exits_1(fake_tasks, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "synthesize", lambda settings, flags=(), videos=None: tmp_path / "m.csv")

    def broken(*args):
        raise bench.RunFailed("exit 1: pretrain ... (log x)\nTraceback")

    monkeypatch.setattr(bench, "train_run", broken)
    out = tmp_path / "r.json"
    assert bench.main(["--quick", "--out", str(out), "--work", str(tmp_path / "w")]) == 1
    data = json.loads(out.read_text())
    assert data["tasks"] == {} and "exit 1" in data["failed"]["alpha"]


# ============ the real thing (minutes) ============
def _present() -> list[str]:
    specs, _ = bench.discover()
    return sorted(specs)


@pytest.mark.slow
def test_quick_benchmark_every_present_task_learns(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)], capture_output=True,
                          text=True, cwd=REPO, timeout=3600)
    assert out.is_file(), proc.stdout[-2000:] + proc.stderr[-4000:]
    data = json.loads(out.read_text())
    assert set(data) >= {"tasks", "config"}
    for name, entry in data["tasks"].items():
        assert set(entry) == {"metric", "chance", "trained", "control", "seconds"}, name
        assert isinstance(entry["metric"], str)
        assert all(isinstance(entry[k], float) for k in ("chance", "trained", "control", "seconds")), name
    present = _present()
    assert not data["failed"], data["failed"]
    assert sorted(data["tasks"]) == present
    for name in present:
        entry = data["tasks"][name]
        assert entry["trained"] > entry["chance"], (name, entry)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0].split() == ["task", "metric", "chance", "control", "trained", "seconds"]
