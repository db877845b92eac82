"""`vidssl demo`: argument parsing, the plan, resumable stages, the results table; slow: the real `--quick` run."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidssl.cli import demo
from vidssl.cli.main import main as vidssl_main

ALL_TASKS = ["supervised", "colorization", "tracking_triplets", "shuffle_and_learn", "av_correspondence"]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    return parser.parse_args(list(argv))


def _plan(tmp_path: Path, *argv: str, available: list[str] | None = None) -> demo.DemoPlan:
    return demo.build_plan(_args("--out", str(tmp_path / "out"), *argv), available or ALL_TASKS)


# ---------------------------------------------------------------- arguments and plan


def test_defaults_pick_the_preferred_task_and_full_sizes(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert plan.task == demo.TASK_PREFERENCE[0]
    assert plan.recipe == demo.CONFIGS / "pretrain" / f"{plan.task}_tiny.yaml"
    assert plan.sizes == demo.FULL
    assert plan.stages == demo.STAGES
    assert plan.notes == []


def test_quick_sizes_and_explicit_overrides(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "--quick", "--videos", "40", "--labels-per-class", "2")
    assert plan.sizes.videos == 40 and plan.sizes.labels_per_class == 2
    assert plan.sizes.pretrain_epochs == demo.QUICK.pretrain_epochs
    assert plan.sizes.max_steps_per_epoch == demo.QUICK.max_steps_per_epoch
    assert plan.sizes.videos <= demo.FULL.videos


def test_task_falls_back_to_what_is_registered(tmp_path: Path) -> None:
    plan = _plan(tmp_path, available=["supervised", "colorization"])
    assert plan.task == "colorization"
    assert any("not available" in n for n in plan.notes)
    plan = _plan(tmp_path, available=["supervised"])
    assert plan.task == "supervised"
    assert any("supervised" in n for n in plan.notes)


def test_requested_task_must_be_available(tmp_path: Path) -> None:
    assert _plan(tmp_path, "--task", "tracking_triplets").task == "tracking_triplets"
    with pytest.raises(ValueError, match="not available"):
        _plan(tmp_path, "--task", "av_correspondence", available=["supervised"])
    with pytest.raises(ValueError, match="no task"):
        demo.choose_task(None, [])


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--videos", "5"], "at least 20"), (["--pretrain-epochs", "0"], "positive"), (["--stages", "synth,x"], "x")],
)
def test_bad_arguments_are_refused(tmp_path: Path, argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _plan(tmp_path, *argv)


def test_stage_selection_keeps_pipeline_order(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "--stages", "report,track")
    assert plan.stages == ("track", "report")


def test_real_registry_has_a_usable_task() -> None:
    available = demo.available_tasks()
    assert "supervised" in available  # shipped with the training stack, with configs/pretrain/supervised_tiny.yaml
    task, _ = demo.choose_task(None, available)
    assert (demo.CONFIGS / "pretrain" / f"{task}_tiny.yaml").is_file()


def test_av_correspondence_demo_synthesizes_gray_backgrounds(tmp_path: Path) -> None:
    avc = _plan(tmp_path, "--task", "av_correspondence")
    assert "--neutral-background" in demo.synth_command(avc)
    assert demo.stage_params(avc)["synth"]["flags"] == ["--neutral-background"]
    sal = _plan(tmp_path, "--task", "shuffle_and_learn")
    assert "--neutral-background" not in demo.synth_command(sal) and demo.stage_params(sal)["synth"]["flags"] == []


def test_commands_share_seed_budget_and_differ_only_in_init(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "--seed", "3", "--labels-per-class", "5")
    synth = demo.synth_command(plan)
    assert synth[1:4] == ["-m", "data_tools", "synth"] and "--seed" in synth and "3" in synth
    pre = demo.pretrain_command(plan)
    assert f"run.out_dir={plan.pretrain_dir}" in pre and f"data.manifest={plan.manifest}" in pre
    assert "run.resume=never" not in pre and "run.resume=never" in demo.pretrain_command(plan, fresh=True)
    warm = demo.finetune_command(plan, "pretrained")
    cold = demo.finetune_command(plan, "scratch")
    assert f"finetune.init={plan.pretrain_dir}" in warm and not any(c.startswith("finetune.init") for c in cold)
    assert "data.labels_per_class=5" in warm and "data.labels_per_class=5" in cold
    strip = {f"run.out_dir={plan.finetune_dir('pretrained')}", f"run.out_dir={plan.finetune_dir('scratch')}",
             f"finetune.init={plan.pretrain_dir}"}  # fmt: skip
    assert [c for c in warm if c not in strip] == [c for c in cold if c not in strip]
    track = demo.track_command(plan, ["v1", "v2"])
    assert track[track.index("--sequences") + 1] == "v1,v2"
    assert track[track.index("--checkpoint") + 1] == str(plan.pretrain_dir)


def test_prep_runs_motion_split_and_stats_without_touching_the_training_split(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    cmds = demo.prep_commands(plan)
    assert list(cmds) == ["motion", "split", "stats"]
    split = cmds["split"]
    assert split[split.index("--out") + 1] != str(plan.manifest)


def test_dry_run_prints_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert vidssl_main(["demo", "--out", str(tmp_path / "o"), "--quick", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for word in ("data_tools synth", "data_tools motion", "vidssl pretrain", "vidssl finetune", "vidssl track"):
        assert word in out
    assert not (tmp_path / "o").exists()


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert vidssl_main(["demo", "--out", str(tmp_path / "o"), "--videos", "3"]) == 2
    assert "at least 20" in capsys.readouterr().err


def test_track_sequences_are_held_out_test_videos_with_frames(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "--track-videos", "2")
    plan.corpus.mkdir(parents=True)
    rows = ["video_id,split", "a,train", "b,test", "c,test", "d,test", "e,val"]
    plan.manifest.write_text("\n".join(rows) + "\n")
    for v in ("a", "c", "d", "e"):
        (plan.corpus / "davis" / "JPEGImages" / v).mkdir(parents=True)
    assert demo.track_sequences(plan) == ["c", "d"]


# ---------------------------------------------------------------- resumable stages


def test_stage_state_done_resume_changed(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert demo.stage_state(plan, "track") == "fresh"
    params = demo.stage_params(plan)["track"]
    demo._write_stamp(plan, "track", params, complete=False)
    assert demo.stage_state(plan, "track") == "resume"
    demo._write_stamp(plan, "track", params, complete=True)
    assert demo.stage_state(plan, "track") == "resume"  # complete, but its outputs are missing
    plan.track_dir.mkdir(parents=True)
    (plan.track_dir / "metrics.json").write_text("{}")
    assert demo.stage_state(plan, "track") == "done"
    bigger = _plan(tmp_path, "--videos", "400")  # upstream change: every later stage is redone
    assert demo.stage_state(bigger, "track") == "changed"
    assert demo.stage_params(bigger)["finetune"]["videos"] == 400


def test_finished_stage_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path)
    calls: list[list[str]] = []
    monkeypatch.setattr(demo, "_run", lambda cmd, log=None, check=True: calls.append(list(cmd)) or 0)
    log = tmp_path / "commands.sh"
    assert demo.run_stage(plan, "synth", log) == "ran"
    assert len(calls) == 1 and "--overwrite" not in calls[0]
    plan.corpus.mkdir(parents=True)
    (plan.corpus / "DONE").write_text("")
    plan.manifest.write_text("video_id,split\n")
    assert demo.run_stage(plan, "synth", log) == "skipped"
    assert len(calls) == 1
    assert demo.run_stage(plan, "synth", log, force=True) == "ran"


def test_prep_degrades_when_a_tool_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path)
    ran: list[str] = []
    monkeypatch.setattr(demo, "_tool_available", lambda tool: (tool != "split", f"no {tool}"))
    monkeypatch.setattr(demo, "_run", lambda cmd, log=None, check=True: ran.append(cmd[3]) or (1 * (cmd[3] == "stats")))
    demo.run_stage(plan, "prep", tmp_path / "log")
    status = json.loads((plan.prep_dir / "prep.json").read_text())
    assert ran == ["motion", "stats"]
    assert status["split"]["status"] == "unavailable"
    assert status["motion"]["status"] == "ok" and status["stats"]["status"].startswith("failed")


def test_a_failing_command_stops_the_demo_with_advice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(cmd: list[str], log: Path | None = None, check: bool = True) -> int:
        raise demo.StageFailed("boom")

    monkeypatch.setattr(demo, "_run", fail)
    rc = demo.main(_args("--out", str(tmp_path / "o"), "--stages", "synth"))
    assert rc == 1


# ---------------------------------------------------------------- results


def _fake_outputs(plan: demo.DemoPlan) -> None:
    plan.pretrain_dir.mkdir(parents=True)
    (plan.pretrain_dir / "metrics.json").write_text(json.dumps({
        "epochs": 8, "train": {"loss": 1.2, "color_acc": 0.7},
        "val": {"loss": 0.9, "color_acc": 0.93, "majority_acc": 0.88}}))  # fmt: skip
    (plan.pretrain_dir / "loss_curves.png").write_bytes(b"png")
    for init, acc in (("pretrained", 0.35), ("scratch", 0.125)):
        plan.finetune_dir(init).mkdir(parents=True)
        test = {"video_accuracy": acc, "clip_accuracy": acc - 0.05, "mean_class_accuracy": acc, "num_videos": 60}
        (plan.finetune_dir(init) / "metrics.json").write_text(json.dumps({"test": test}))
    methods = {}
    for name, jf in (("identity", 0.08), ("lab", 0.55), ("random-tiny_cnn2d", 0.05), ("checkpoint", 0.61)):
        methods[name] = {"num_objects": 20, "mean": {"J&F-Mean": jf, "J-Mean": jf - 0.01, "F-Mean": jf + 0.01},
                         "per_sequence": {f"v{i}": {} for i in range(12)}}  # fmt: skip
    plan.track_dir.mkdir(parents=True)
    (plan.track_dir / "metrics.json").write_text(json.dumps({"config": {}, "methods": methods}))


def test_results_collect_format_and_write(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "--task", "colorization")
    _fake_outputs(plan)
    demo._write_stamp(plan, "pretrain", {}, complete=True, seconds=100.0)
    results = demo.collect_results(plan)
    p = results["pretext"]
    assert (p["metric"], p["value"], p["split"], p["chance"]) == ("color_acc", 0.93, "val", 0.88)
    assert results["finetune"]["pretrained"]["video_accuracy"] == 0.35
    assert results["tracking"]["random"]["J&F"] == 0.05 and results["tracking"]["checkpoint"]["sequences"] == 12
    assert results["seconds"]["pretrain"] == 100.0 and results["seconds"]["total"] == 100.0
    assert "pretrain loss curves" in results["plots"]

    table = demo.format_table(demo.results_rows(results))
    lines = table.splitlines()
    assert lines[0].startswith("measure") and set(lines[1].replace(" ", "")) == {"-"}
    text = "\n".join(lines)
    for expected in ("0.930", "chance = majority_acc 0.880", "0.350", "0.125", "+0.225", "J&F checkpoint", "0.610",
                     "J&F identity", "J&F lab", "J&F random"):  # fmt: skip
        assert expected in text, expected
    value_col = lines[0].index("value")
    assert all(len(line) > value_col for line in lines)

    demo.write_results(plan, results)
    saved = json.loads((plan.out / "demo_results.json").read_text())
    assert saved["finetune"]["scratch"]["video_accuracy"] == 0.125
    md = (plan.out / "demo_results.md").read_text()
    assert "| measure | value | what it is |" in md and "## Plots" in md and "loss_curves.png" in md


def test_results_with_missing_stages_still_format(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    results = demo.collect_results(plan)
    rows = demo.results_rows(results)
    assert any(v == "n/a" for _, v, _ in rows)
    assert not any("gain" in m for m, _, _ in rows)
    assert "n/a" in demo.format_markdown(results)


def test_pretext_summary_without_benchmark_spec() -> None:
    metrics = {"train": {"loss": 0.5, "order_acc": 0.8}, "val": {"loss": 0.6, "balanced_acc": 0.7}}
    s = demo.pretext_summary(metrics, None, None)
    assert (s["metric"], s["value"], s["split"], s["loss"]) == ("balanced_acc", 0.7, "val", 0.6)
    s = demo.pretext_summary({"train": {"loss": 0.5}}, None, 0.5)
    assert (s["metric"], s["value"], s["split"], s["chance"]) == ("loss", 0.5, "train", 0.5)


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_quick_demo_end_to_end_and_rerun_skips(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "vidssl", "demo", "--out", str(out), "--quick", "--threads", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=demo.REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "demo_results.json").read_text())
    assert results["pretext"]["value"] is not None
    for init in ("pretrained", "scratch"):
        assert 0.0 <= results["finetune"][init]["video_accuracy"] <= 1.0
    assert {"checkpoint", "identity", "lab", "random"} <= set(results["tracking"])
    assert (out / "demo_results.md").is_file() and (out / "commands.sh").is_file()
    assert "J&F checkpoint" in done.stdout and "video acc" in done.stdout

    start = time.perf_counter()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=demo.REPO)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("finished earlier") == len(demo.STAGES) - 1  # all but the report
    assert time.perf_counter() - start < 120


def test_finetunes_use_the_pretrain_recipes_backbone(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model:\n  name: tiny_cnn2d\n  kwargs: {width: 16}\n")
    plan = _plan(tmp_path, "--recipe", str(recipe))
    for init in ("pretrained", "scratch"):  # identical architectures, so init= accepts the checkpoint
        cmd = demo.finetune_command(plan, init)
        assert "model.name=tiny_cnn2d" in cmd and 'model.kwargs={"width": 16}' in cmd
