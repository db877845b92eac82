from __future__ import annotations

import json

from vidssl.cli.main import main


def test_list_models_table(capsys) -> None:
    assert main(["list-models"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:4] == ["name", "kind", "layout", "features"]
    row = next(line for line in out.splitlines() if line.startswith("resnet18_s8 "))
    assert "BCHW" in row and "512" in row and "1, 8" in row and "11.18M" in row
    assert "vcop" in out and "head" in out


def test_list_models_pattern_kind_json(capsys) -> None:
    assert main(["list-models", "r*", "--kind", "backbone", "--json"]) == 0
    cards = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = [c["name"] for c in cards]
    assert names == sorted(names) and "r3d_18" in names and "resnet50" in names
    r3d = next(c for c in cards if c["name"] == "r3d_18")
    assert (r3d["input_layout"], r3d["temporal_stride"], r3d["spatial_stride"]) == ("BCTHW", 8, 16)


def test_list_models_no_match(capsys) -> None:
    assert main(["list-models", "nothing*"]) == 1
    assert "no model matches" in capsys.readouterr().err
