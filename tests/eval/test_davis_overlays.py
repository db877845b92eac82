"""Mask overlays, comparison sheets, GIFs and success plots: what they draw where."""

from __future__ import annotations

import numpy as np
from PIL import Image

from vidssl.data.datasets.davis import davis_palette
from vidssl.eval.overlays import comparison_sheet, overlay_mask, pick_frames, plot_success, write_gif


def test_overlay_blends_inside_outlines_the_edge_and_leaves_background():
    frame = np.full((10, 10, 3), 100, np.uint8)
    mask = np.zeros((10, 10), np.uint8)
    mask[2:8, 2:8] = 1
    out = overlay_mask(frame, mask, davis_palette(), alpha=0.5)
    assert (out[0, 0] == 100).all()  # background untouched
    np.testing.assert_array_equal(out[2, 2], davis_palette()[1])  # outline in the object's colour
    np.testing.assert_array_equal(out[4, 4], [114, 50, 50])  # interior: (100 + 128) / 2, (100 + 0) / 2


def test_pick_frames_spans_the_video():
    assert pick_frames(50) == [0, 10, 20, 29, 39, 49]
    assert pick_frames(3) == [0, 1, 2]


def test_sheet_gif_and_plot_files(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (5, 16, 24, 3), dtype=np.uint8)
    masks = np.zeros((5, 16, 24), np.uint8)
    masks[:, 4:10, 4:12] = 1
    sheet = comparison_sheet(tmp_path / "s.png", frames, {"truth": masks, "m": masks}, davis_palette(),
                             scores={"m": 0.5}, title="t", thumb_width=48)  # fmt: skip
    with Image.open(sheet) as im:
        assert im.width == 150 + 48 * 5 and im.height > 2 * 32
    gif = write_gif(tmp_path / "a.gif", frames, masks, davis_palette(), width=48)
    with Image.open(gif) as im:
        assert im.n_frames == 5
    curve = (np.linspace(0, 1, 21), np.linspace(1, 0, 21))
    assert plot_success(tmp_path / "p.png", {"a": curve}).stat().st_size > 0
