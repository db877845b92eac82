"""Registry behaviour: duplicates rejected, None kwargs dropped, globs, kinds, helpful unknown-name errors."""

from __future__ import annotations

import pytest
from torch import nn

from vidssl.models import MODELS, Registry, create_backbone, create_head, create_model, list_models


def _registry_with_two() -> Registry:
    reg = Registry("test")

    @reg.register("alpha_net", kind="backbone")
    def alpha_net(width: int = 4) -> nn.Module:
        """Alpha: a linear layer."""
        return nn.Linear(width, 2)

    @reg.register("beta_head", kind="head")
    def beta_head() -> nn.Module:
        return nn.Identity()

    return reg


def test_duplicate_name_rejected() -> None:
    reg = _registry_with_two()
    with pytest.raises(ValueError, match="already registered"):
        reg.register("alpha_net", kind="head")(lambda: nn.Identity())


def test_bad_name_and_kind_rejected() -> None:
    reg = Registry("test")
    with pytest.raises(ValueError, match="lower-case"):
        reg.register("Bad-Name", kind="backbone")
    with pytest.raises(ValueError, match="unknown kind"):
        reg.register("ok", kind="optimizer")  # type: ignore[arg-type]


def test_none_kwargs_dropped_so_defaults_apply() -> None:
    reg = _registry_with_two()
    model = reg.create("alpha_net", width=None)
    assert model.in_features == 4
    assert reg.create("alpha_net", width=6).in_features == 6


def test_list_glob_and_kind() -> None:
    reg = _registry_with_two()
    assert reg.list() == ["alpha_net", "beta_head"]
    assert reg.list("*net") == ["alpha_net"]
    assert reg.list(kind="head") == ["beta_head"]
    assert reg.get("alpha_net").summary == "Alpha: a linear layer."


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(KeyError, match=r"did you mean.*'resnet18'"):
        MODELS.create("resnet_18")
    with pytest.raises(KeyError, match="r2plus1d_18"):
        create_model("r2plus1d")


def test_kind_checked() -> None:
    with pytest.raises(ValueError, match="is a head, not a backbone"):
        create_backbone("classification")
    with pytest.raises(ValueError, match="is a backbone, not a head"):
        create_head("resnet18")


def test_bad_kwarg_names_the_model() -> None:
    with pytest.raises(TypeError, match="tiny_cnn2d"):
        create_backbone("tiny_cnn2d", widht=3)


def test_global_registry_listing() -> None:
    assert list_models("tiny*") == ["tiny_cnn2d", "tiny_cnn3d"]
    heads = set(list_models(kind="head"))
    assert {"classification", "order", "vcop", "projection_mlp", "embedding", "colorization", "av_fusion"} <= heads
