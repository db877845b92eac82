from pathlib import Path

import pytest
import yaml

from vidssl.train.config import FinetuneConfig, PretrainConfig, load_config
from vidssl.train.config_schema import ConfigError, apply_overrides, dump_yaml, from_dict, iter_keys, to_dict

REPO = Path(__file__).resolve().parents[2]


def test_defaults_have_help_on_every_field():
    text = dump_yaml(load_config(FinetuneConfig))
    for line in text.splitlines():
        assert "  # " in line, f"field without a help line: {line!r}"


def test_print_config_round_trips():
    cfg = load_config(FinetuneConfig, None, ["optim.lr=0.5", "model.kwargs={width: 8}", "task.dropout=0.25"])
    again = from_dict(FinetuneConfig, yaml.safe_load(dump_yaml(cfg)), all_keys=iter_keys(FinetuneConfig))
    assert to_dict(again) == to_dict(cfg)


def test_overrides_parse_against_the_field_type():
    cfg = load_config(
        PretrainConfig,
        None,
        ["optim.lr=1e-3", "run.out_dir=001", "data.mean=[0.5, 0.5, 0.5]", "run.progress=false",
         "optim.weight_decay_end=null", "model.kwargs={width: 8, output_stride: 4}", "eval.retrieval_ks=[1, 5]"],
    )
    assert cfg.optim.lr == pytest.approx(1e-3) and isinstance(cfg.optim.lr, float)
    assert cfg.run.out_dir == "001"  # stays a string, not the integer 1
    assert cfg.data.mean == (0.5, 0.5, 0.5)
    assert cfg.run.progress is False
    assert cfg.optim.weight_decay_end is None
    assert cfg.model.kwargs == {"width": 8, "output_stride": 4}
    assert cfg.eval.retrieval_ks == (1, 5)


def test_yaml_quirk_scientific_notation_is_a_float(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  lr: 1e-3\n  weight_decay: 5e-4\n")
    cfg = load_config(PretrainConfig, recipe)
    assert cfg.optim.lr == pytest.approx(1e-3) and cfg.optim.weight_decay == pytest.approx(5e-4)
    assert cfg.run.out_dir == str(Path("runs") / "r")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optim.lrr=0.1", "'optim.lr'"),
        ("lr=0.1", "'optim.lr'"),
        ("run.epoch=3", "'run.epochs'"),
        ("task.droput=0.1", "'task.dropout'"),
        ("optimizer.lr=0.1", "'optim'"),
    ],
)
def test_unknown_keys_raise_with_suggestions(override, expected):
    with pytest.raises(ConfigError, match="unknown config key") as err:
        load_config(FinetuneConfig, None, [override])
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("run.epochs=ten", "must be an integer"),
        ("run.epochs=2.5", "must be an integer"),
        ("optim.lr=fast", "must be a number"),
        ("run.progress=maybe", "true or false"),
        ("optim.name=adam", "did you mean 'adamw'"),
        ("data.mean=[0.5, 0.5]", "list of 3 values"),
        ("task.name=shufle_and_learn", "did you mean 'shuffle_and_learn'"),
        ("optim=0.1", "is a section"),
        ("optim.lr", "must look like section.key=value"),
    ],
)
def test_wrong_values_raise(override, expected):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        load_config(FinetuneConfig, None, [override])


def test_recipe_type_errors_name_the_key(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("run:\n  epochs: '3'\n")
    with pytest.raises(ConfigError, match=r"run\.epochs must be an integer"):
        load_config(PretrainConfig, recipe)
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"recipe not found.*bad\.yaml"):
        load_config(PretrainConfig, missing)


def test_override_order_and_copy():
    data = {"optim": {"lr": 0.1}}
    out = apply_overrides(data, ["optim.lr=0.2", "optim.lr=0.3"])
    assert data == {"optim": {"lr": 0.1}}  # input untouched
    assert out["optim"]["lr"].text == "0.3"


RECIPES = sorted((REPO / "configs" / "finetune").glob("*.yaml")) + sorted(
    (REPO / "configs" / "pretrain").glob("supervised_*.yaml")
)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_recipes_load(recipe):
    cls = FinetuneConfig if recipe.parent.name == "finetune" else PretrainConfig
    cfg = load_config(cls, recipe)
    assert cfg.run.epochs > 0 and cfg.data.batch_size > 0
