"""``vidssl-data synth`` command line: success path, bad arguments (exit 2), folder safety, interrupted runs."""

from __future__ import annotations

import json
import os

import pytest

import data_tools.synth.corpus as corpus_module
from data_tools.cli import main
from data_tools.synth import SynthUsageError, generate_corpus, is_complete

SMALL = ["--frames", "8", "--workers", "1", "--quiet"]


def test_help_lists_the_controls(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--videos", "--seed", "--static", "--mismatched-audio", "--gop", "--davis-frames", "--overwrite"):
        assert flag in text


def test_small_run_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["synth", str(out), "--videos", "2", "--seed", "5", *SMALL, "--davis-frames", "none"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("synth: 2 videos") and "videos/s" in line and "MB" in line
    assert is_complete(out)
    config = json.loads((out / "synth_config.json").read_text())
    assert config["seed"] == 5 and config["config"]["num_frames"] == 8
    assert json.loads((out / "DONE").read_text())["n_videos"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--videos", "0"], ">= 1"),
        (["--videos", "-3"], ">= 1"),
        (["--videos", "1", "--mismatched-audio"], "at least 2"),
        (["--videos", "2", "--splits", "0.5,0.5"], "three"),
        (["--videos", "2", "--splits", "0.7,0.2,0.2"], "summing to 1"),
        (["--videos", "2", "--size", "63"], "even"),
        (["--videos", "2", "--workers", "0"], "--workers"),
        (["--videos", "2", "--preset", "warp"], "preset"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "c"
    assert main(["synth", str(out), *args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "error" in err and message in err
    assert not out.exists()


def test_unparsable_number_exits_2(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["synth", str(tmp_path / "c"), "--videos", "many"])
    assert exc.value.code == 2


def test_out_dir_that_is_a_file_or_unwritable(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synth", str(blocker), "--videos", "1", *SMALL]) == 2
    assert main(["synth", str(blocker / "sub"), "--videos", "1", *SMALL]) == 2
    assert "cannot write" in capsys.readouterr().err
    if os.geteuid() != 0:  # root ignores permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main(["synth", str(locked / "c"), "--videos", "1", *SMALL]) == 2


def test_non_empty_folder_is_refused_even_with_overwrite(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    assert main(["synth", str(out), "--videos", "1", *SMALL]) == 2
    assert main(["synth", str(out), "--videos", "1", *SMALL, "--overwrite"]) == 2
    assert "not a vidssl synthetic corpus" in capsys.readouterr().err
    assert (out / "thesis.tex").read_text() == "precious" and not (out / "DONE").exists()


def test_existing_corpus_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["synth", str(out), "--videos", "1", *SMALL]) == 0
    assert main(["synth", str(out), "--videos", "1", *SMALL]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["synth", str(out), "--videos", "2", "--seed", "1", *SMALL, "--overwrite"]) == 0
    assert json.loads((out / "synth_config.json").read_text())["n_videos"] == 2 and is_complete(out)


def test_interrupted_run_is_incomplete_and_says_so(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c"
    calls = []

    def failing(job, config, folder):
        calls.append(job.index)
        if len(calls) == 2:
            raise RuntimeError("disk full (simulated)")
        return real(job, config, folder)

    real = corpus_module.make_video
    monkeypatch.setattr(corpus_module, "make_video", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        generate_corpus(out, 3, config=None, workers=1, progress=False)
    monkeypatch.undo()
    assert (out / "synth_config.json").exists() and not (out / "DONE").exists() and not is_complete(out)
    assert not (out / "manifest.csv").exists()
    assert main(["synth", str(out), "--videos", "3", *SMALL]) == 2
    assert "incomplete" in capsys.readouterr().err
    with pytest.raises(SynthUsageError, match="incomplete"):
        generate_corpus(out, 3, progress=False)
    assert main(["synth", str(out), "--videos", "3", *SMALL, "--overwrite"]) == 0
    assert is_complete(out)
