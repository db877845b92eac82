import yaml

from vidssl.cli.main import main


def test_print_config_shows_resolved_values(capsys):
    rc = main(["pretrain", "-c", "configs/pretrain/supervised_tiny.yaml", "optim.lr=0.123", "--print-config"])
    out = capsys.readouterr().out
    assert rc == 0
    data = yaml.safe_load(out)
    assert data["optim"]["lr"] == 0.123 and data["model"]["name"] == "tiny_cnn2d"
    assert data["run"]["out_dir"] == "runs/pretrain_supervised_tiny"
    assert "# peak learning rate" in out


def test_unknown_key_is_a_clean_error(capsys):
    rc = main(["finetune", "-c", "configs/finetune/supervised_tiny.yaml", "finetune.mdoe=linear"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "vidssl finetune: error: unknown config key 'finetune.mdoe'; did you mean 'finetune.mode'?" in err
    assert "Traceback" not in err


def test_missing_manifest_says_how_to_make_one(capsys, tmp_path):
    rc = main(["finetune", "-c", "configs/finetune/supervised_tiny.yaml", f"data.manifest={tmp_path}/none.csv",
               f"run.out_dir={tmp_path}/run"])
    assert rc == 2
    assert "vidssl-data synth" in capsys.readouterr().err


def test_evaluate_needs_a_run(capsys):
    assert main(["evaluate", "retrieval"]) == 2
    assert "pass a RUN_DIR" in capsys.readouterr().err


def test_help_explains_overrides(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    out = capsys.readouterr().out
    assert "section.key=value" in out and "finetune.init" in out and "resumes" in out


def test_options_may_follow_overrides(capsys):
    rc = main(["pretrain", "optim.lr=0.5", "--print-config", "run.epochs=3", "-c",
               "configs/pretrain/supervised_tiny.yaml"])
    data = yaml.safe_load(capsys.readouterr().out)
    assert rc == 0 and data["optim"]["lr"] == 0.5 and data["run"]["epochs"] == 3
