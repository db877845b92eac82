import pytest

from vidssl.models import create_backbone
from vidssl.tasks.registry import TASKS, build_task, list_tasks, register_task, task_config_class
from vidssl.train.config import PretrainConfig, load_config
from vidssl.train.config_schema import ConfigError


def test_seed_tasks_are_registered():
    assert {"supervised", "shuffle_and_learn", "tracking_triplets", "colorization", "av_correspondence"} <= set(
        list_tasks())
    assert TASKS["supervised"].kind == "supervised" and TASKS["colorization"].kind == "pretext"


def test_unknown_and_missing_tasks_explain_themselves():
    with pytest.raises(KeyError, match="did you mean 'supervised'"):
        task_config_class("supervized")
    register_task("_test_missing_module", "vidssl.tasks._no_such_module", "placeholder")
    try:
        with pytest.raises(ConfigError, match=r"does not exist yet; available now: .*supervised"):
            load_config(PretrainConfig, None, ["task.name=_test_missing_module"])
    finally:
        del TASKS["_test_missing_module"]
    with pytest.raises(ValueError, match="already registered"):
        register_task("supervised", "somewhere.else", "clash")


def test_built_task_exposes_the_registry_backbone():
    cfg = load_config(PretrainConfig, None, ["data.num_classes=4", "model.kwargs={width: 8}", "task.dropout=0.5"])
    task = build_task(cfg)
    plain = create_backbone("tiny_cnn2d", width=8)
    assert type(task.backbone) is type(plain)
    assert task.backbone.state_dict().keys() == plain.state_dict().keys()
    assert task.head.dropout.p == 0.5 and task.head.num_classes == 4
    with pytest.raises(ConfigError, match="at least 2 classes"):
        build_task(load_config(PretrainConfig, None, ["data.num_classes=1"]))
