"""load_weights / save_weights: round trips, container keys, prefixes, clear mismatch reports, safety."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidssl.models import WeightsMismatchError, create_backbone, load_weights, save_weights


def _pair():
    torch.manual_seed(0)
    src = create_backbone("tiny_cnn2d", width=4)
    torch.manual_seed(1)
    dst = create_backbone("tiny_cnn2d", width=4)
    return src, dst


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_with_save_weights(tmp_path) -> None:
    src, dst = _pair()
    assert not _same(src, dst)
    report = load_weights(dst, save_weights(src, tmp_path / "sub" / "w.pt"))
    assert report.ok and report.source_key == "backbone" and _same(src, dst)
    assert not list((tmp_path / "sub").glob("*.tmp"))


@pytest.mark.parametrize("wrap", ["raw", "model", "state_dict", "nested", "ddp", "compiled"])
def test_accepted_containers(tmp_path, wrap: str) -> None:
    src, dst = _pair()
    sd = src.state_dict()
    obj = {
        "raw": sd,
        "model": {"model": sd, "epoch": 3},
        "state_dict": {"state_dict": sd, "optimizer": {"lr": 0.1}},
        "nested": {"model": {"state_dict": sd}},
        "ddp": {f"module.{k}": v for k, v in sd.items()},
        "compiled": {"model": {f"module._orig_mod.{k}": v for k, v in sd.items()}},
    }[wrap]
    torch.save(obj, tmp_path / "w.pt")
    assert load_weights(dst, tmp_path / "w.pt").ok
    assert _same(src, dst)


def test_prefix_selects_submodule(tmp_path) -> None:
    src, dst = _pair()
    task = nn.Module()
    task.backbone, task.head = src, nn.Linear(16, 2)
    torch.save({"model": task.state_dict()}, tmp_path / "task.pt")
    with pytest.raises(WeightsMismatchError, match="prefix="):
        load_weights(dst, tmp_path / "task.pt")
    assert load_weights(dst, tmp_path / "task.pt", prefix="backbone.").ok and _same(src, dst)


def test_mismatch_reported_clearly(tmp_path) -> None:
    src, _ = _pair()
    sd = src.state_dict()
    del sd["stem.0.weight"]
    sd["extra.weight"] = torch.zeros(1)
    sd["stage3.conv2.weight"] = torch.zeros(3, 3, 3, 3)
    torch.save(sd, tmp_path / "w.pt")
    dst = create_backbone("tiny_cnn2d", width=4)
    with pytest.raises(WeightsMismatchError) as err:
        load_weights(dst, tmp_path / "w.pt")
    msg = str(err.value)
    assert "missing in file: stem.0.weight" in msg and "unexpected in file: extra.weight" in msg
    assert "shape mismatch stage3.conv2.weight" in msg
    before = dst.state_dict()["stem.0.weight"].clone()
    report = load_weights(dst, tmp_path / "w.pt", strict=False)
    assert report.missing == ["stem.0.weight"] and report.unexpected == ["extra.weight"]
    assert [m[0] for m in report.mismatched] == ["stage3.conv2.weight"]
    assert torch.equal(dst.state_dict()["stem.0.weight"], before)
    assert torch.equal(dst.state_dict()["stage1.conv1.weight"], src.state_dict()["stage1.conv1.weight"])


def test_missing_file_bad_key_and_unsafe_pickle(tmp_path) -> None:
    dst = create_backbone("tiny_cnn2d", width=4)
    with pytest.raises(FileNotFoundError, match=r"nope\.pt"):
        load_weights(dst, tmp_path / "nope.pt")
    torch.save({"model": dst.state_dict()}, tmp_path / "w.pt")
    with pytest.raises(ValueError, match="key 'ema' not found"):
        load_weights(dst, tmp_path / "w.pt", key="ema")
    torch.save({"model": nn.Linear(2, 2)}, tmp_path / "evil.pt")  # a pickled module: refused by weights_only=True
    with pytest.raises(ValueError, match="weights_only"):
        load_weights(dst, tmp_path / "evil.pt")
    torch.save({"epoch": 1}, tmp_path / "empty.pt")
    with pytest.raises(ValueError, match="no state dict"):
        load_weights(dst, tmp_path / "empty.pt")
