"""DAVIS-layout reading: layouts, palette/binary/RGB masks, sparse annotations, size mismatches, real fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidssl.data.datasets.davis import (
    DavisLayoutError,
    davis_palette,
    find_sequences,
    read_mask_file,
    write_indexed_png,
)


def make_davis(root: Path, name: str = "seq", frames: int = 4, size=(24, 32), res: str | None = "480p",
               annotated=(0, 1, 2, 3), dirs=("JPEGImages", "Annotations")) -> Path:  # fmt: skip
    img_dir = root / dirs[0] / (res or "") / name
    ann_dir = root / dirs[1] / (res or "") / name
    img_dir.mkdir(parents=True)
    ann_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for t in range(frames):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(img_dir / f"{t:05d}.jpg")
        if t in annotated:
            mask = np.zeros(size, np.uint8)
            mask[2:8, 3 + t : 9 + t] = 1
            mask[12:20, 10:20] = 2
            write_indexed_png(ann_dir / f"{t:05d}.png", mask)
    return root


@pytest.mark.parametrize("res", ["480p", None])
def test_layout_with_and_without_resolution_level(tmp_path, res):
    (seq,) = find_sequences(make_davis(tmp_path, res=res))
    assert seq.name == "seq" and seq.num_frames == 4 and seq.size == (24, 32)
    assert seq.object_ids == (1, 2)
    assert seq.read_frames().shape == (4, 24, 32, 3)
    assert seq.read_mask(1)[2, 4] == 1


def test_images_masks_folder_names_and_sparse_annotations(tmp_path):
    (seq,) = find_sequences(make_davis(tmp_path, annotated=(0, 2), dirs=("images", "masks"), res=None))
    assert seq.annotated_frames == [0, 2] and seq.first_annotated == 0
    with pytest.raises(KeyError):
        seq.read_mask(1)
    assert set(seq.read_annotations()) == {0, 2}


def test_binary_masks_become_object_one(tmp_path):
    root = make_davis(tmp_path, frames=1, annotated=())
    mask = np.zeros((24, 32), np.uint8)
    mask[5:10, 5:10] = 255
    Image.fromarray(mask, mode="L").save(root / "Annotations/480p/seq/00000.png")
    (seq,) = find_sequences(root)
    assert seq.object_ids == (1,)
    assert set(np.unique(seq.read_mask(0))) == {0, 1}


def test_palette_value_255_is_background_as_official_reader(tmp_path):
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 0], mask[1, 1] = 1, 255
    path = write_indexed_png(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(np.unique(read_mask_file(path)), [0, 1])


def test_rgb_masks_painted_with_the_davis_palette(tmp_path):
    ids = np.array([[0, 1], [2, 3]], np.uint8)
    Image.fromarray(davis_palette()[ids]).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_mask_file(tmp_path / "rgb.png"), ids)
    Image.fromarray(np.full((2, 2, 3), 7, np.uint8)).save(tmp_path / "odd.png")
    with pytest.raises(DavisLayoutError, match="outside the DAVIS palette"):
        read_mask_file(tmp_path / "odd.png")


def test_mask_size_mismatch_is_resized_with_a_warning(tmp_path):
    root = make_davis(tmp_path, frames=2, annotated=(0,))
    write_indexed_png(root / "Annotations/480p/seq/00001.png", np.ones((24, 31), np.uint8))
    (seq,) = find_sequences(root)
    with pytest.warns(UserWarning, match="resized"):
        m = seq.read_mask(1)
    assert m.shape == (24, 32) and (m == 1).all()


def test_palette_roundtrip_and_davis_colours(tmp_path):
    pal = davis_palette()
    assert pal[1].tolist() == [128, 0, 0] and pal[2].tolist() == [0, 128, 0] and pal[0].tolist() == [0, 0, 0]
    mask = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = write_indexed_png(tmp_path / "p.png", mask)
    with Image.open(path) as im:
        assert im.mode == "P"
    np.testing.assert_array_equal(read_mask_file(path), mask)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(DavisLayoutError, match="no frame folder"):
        find_sequences(tmp_path)
    root = make_davis(tmp_path)
    with pytest.raises(DavisLayoutError, match="not found: nope"):
        find_sequences(root, sequences=["nope"])


def test_sequences_without_annotations_are_skipped_with_a_warning(tmp_path):
    root = make_davis(tmp_path, annotated=())
    with pytest.warns(UserWarning, match="no annotation"):
        assert find_sequences(root) == []


def test_real_davis2016_blackswan(real_dir):
    root = real_dir / "vos" / "davis2016"
    if not root.is_dir():
        pytest.skip("davis2016 fixture absent")
    (seq,) = find_sequences(root, sequences=["blackswan"])
    assert seq.num_frames == 50 and seq.size == (480, 854)
    assert seq.annotated_frames == list(range(50))
    assert seq.object_ids == (1,)  # binary 0/255 masks
    assert set(np.unique(seq.read_mask(10))) == {0, 1}


def test_real_palette_sparse_judo_and_bike(real_dir):
    root = real_dir / "vos" / "palette"
    if not root.is_dir():
        pytest.skip("palette fixture absent")
    judo, bike = find_sequences(root, sequences=["judo", "bike"])
    assert judo.annotated_frames == [0, 5, 8, 13]
    assert judo.object_ids == (1,)  # objects appear over time
    with pytest.warns(UserWarning, match="853x480"):
        assert judo.read_mask(5).shape == (480, 854)
    with pytest.warns(UserWarning, match="853x480"):
        assert judo.all_object_ids == (1, 2, 3, 4)
    assert bike.object_ids == (1, 2)
    assert judo.palette[1].tolist() == [128, 0, 0]
