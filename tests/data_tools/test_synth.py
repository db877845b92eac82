"""Synthetic corpus, render level (no encoding): labels mean what they say, masks match pixels, audio matches events."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from data_tools.synth import CLASSES, REVERSED_CLASS, SynthConfig, plan_scene, render_video
from data_tools.synth.colour import CHROMA, HUES, L_GRID, L_MAX, L_MIN, NEUTRAL, colour_lut, lab_to_srgb, srgb_to_lab
from data_tools.synth.motion import DOWN, FORBIDDEN_HALF
from data_tools.synth.scene import label_for
from data_tools.synth.shapes import MARKER_CENTRE, SHAPE_EXTENT
from data_tools.synth.splits import assign_splits, derangement

CFG = SynthConfig(num_frames=24)


@pytest.fixture(scope="module")
def videos():
    return [render_video(CFG, i) for i in range(6)]


def test_render_shapes_and_dtypes(videos):
    for v in videos:
        assert v.frames.shape == (24, 64, 64, 3) and v.frames.dtype == np.uint8
        assert v.masks.shape == (24, 64, 64) and v.masks.dtype == np.uint8
        k = len(v.scene.objects)
        assert 1 <= k <= 3 and v.boxes.shape == (k, 24, 4) and v.centroids.shape == (k, 24, 2)
        assert v.audio.dtype == np.float32 and v.audio.shape == (24 * 16000 // 16,)
        assert np.abs(v.audio).max() <= 1.0
        assert v.label_name == CLASSES[v.label]
        assert set(np.unique(v.masks)) <= set(range(k + 1))


def test_same_seed_same_video_other_seed_differs():
    a, b = render_video(CFG, 4), render_video(CFG, 4)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.audio, b.audio)
    c = render_video(dataclasses.replace(CFG, seed=1), 4)
    assert not np.array_equal(a.frames, c.frames)


def test_labels_balanced_in_every_block_of_ten():
    labels = [label_for(0, i) for i in range(100)]
    for block in range(10):
        assert sorted(labels[10 * block : 10 * block + 10]) == list(range(10))
    assert labels[:10] != list(range(10))  # not predictable from the index
    assert labels != [label_for(1, i) for i in range(100)]


def test_reversed_pairs():
    for k, r in REVERSED_CLASS.items():
        assert REVERSED_CLASS[r] == k and r != k
        a, b = CLASSES[k].rsplit("_", 1)[0], CLASSES[r].rsplit("_", 1)[0]
        assert a == b or {CLASSES[k], CLASSES[r]} == {"grow", "shrink"}


def test_class_motions_do_what_their_names_say():
    seen = set()
    for i in range(40):
        scene = plan_scene(CFG, i)
        tr, name = scene.tracks[0], scene.label_name
        seen.add(name)
        dx, dy = tr.centre[-1] - tr.centre[0]
        spin = tr.angle[-1] - tr.angle[0]
        growth = tr.radius[-1] / tr.radius[0]
        rel = tr.centre - tr.centre.mean(axis=0)
        turn = np.sum(rel[:-1, 0] * rel[1:, 1] - rel[:-1, 1] * rel[1:, 0])  # > 0: clockwise with y down
        expect = {
            "move_right": dx > 6,
            "move_left": dx < -6,
            "move_down": dy > 6,
            "move_up": dy < -6,
            "grow": growth > 1.4,
            "shrink": growth < 1 / 1.4,
            "rotate_cw": spin > 1.0,
            "rotate_ccw": spin < -1.0,
            "orbit_cw": turn > 0,
            "orbit_ccw": turn < 0,
        }[name]
        assert expect, f"video {i} ({name}): dx={dx:.1f} dy={dy:.1f} spin={spin:.2f} growth={growth:.2f}"
        if not name.startswith("rotate"):
            assert spin == 0
        if name not in ("grow", "shrink"):
            assert growth == 1
    assert seen == set(CLASSES)


def test_start_position_does_not_give_away_direction():
    # Over all frames, rightward and leftward videos visit the same places: one frame cannot tell them apart.
    cfg = SynthConfig(num_frames=48)
    xs = {"move_right": [], "move_left": []}
    for i in range(200):
        scene = plan_scene(cfg, i)
        if scene.label_name in xs:
            xs[scene.label_name].append(scene.tracks[0].centre[:, 0])
    right, left = np.concatenate(xs["move_right"]), np.concatenate(xs["move_left"])
    assert abs(right.mean() - left.mean()) < 3.0
    assert abs(right.mean() - 32) < 3.0


def test_object_size_does_not_give_away_the_class():
    # The main object's size in a random frame is distributed alike in grow/shrink videos and in the others.
    scaling, constant = [], []
    for i in range(400):
        scene = plan_scene(CFG, i)
        (scaling if scene.label_name in ("grow", "shrink") else constant).append(scene.tracks[0].radius)
    scaling, constant = np.concatenate(scaling), np.concatenate(constant)
    assert abs(scaling.mean() - constant.mean()) < 0.3
    np.testing.assert_allclose(np.percentile(scaling, [10, 90]), np.percentile(constant, [10, 90]), atol=0.4)
    distractors = [tr.radius[0] for i in range(60) for tr in plan_scene(CFG, i).tracks[1:]]
    assert max(distractors) <= scaling.min()  # the main object is never the smaller one


def test_class_motion_dominates_everything_else():
    # Learnability: the main object is the largest thing, and what defines its class changes a lot over the clip
    # while its other motion, the distractors and the camera pan stay slow.
    for i in range(60):
        scene = plan_scene(CFG, i)
        main, name = scene.tracks[0], scene.label_name
        assert all(tr.radius.max() * 1.4 <= main.radius.min() for tr in scene.tracks[1:])
        pan = np.hypot(*(scene.pan[-1] - scene.pan[0])) / (CFG.num_frames - 1)
        assert pan <= 0.13
        step = np.hypot(*np.diff(main.centre, axis=0).T)
        if name.startswith("move"):
            along = 0 if name in ("move_right", "move_left") else 1
            drift = np.abs(main.centre[-1, along] - main.centre[0, along])
            assert drift >= 0.55 * (64 - 2 * 0.6 * main.radius[0] * SHAPE_EXTENT[scene.objects[0].shape]) * 23 / 47
        elif name.startswith(("rotate", "grow", "shrink")):
            assert np.median(step) <= 0.6 and step.max() <= 0.7  # slow drift (growing objects get pushed off walls)
        if name.startswith("rotate"):
            assert abs(main.angle[-1] - main.angle[0]) >= np.radians(210) * 23 / 47


def test_spins_and_orbits_never_cross_straight_down():
    # Bounded arcs: the marker angle is a monotone coordinate along every video, the same range for every class.
    lo, hi = DOWN + FORBIDDEN_HALF, DOWN + 2 * np.pi - FORBIDDEN_HALF
    spinning, still = [], []
    for i in range(300):
        scene = plan_scene(SynthConfig(), i)
        angle = scene.tracks[0].angle
        assert angle.min() >= lo - 1e-9 and angle.max() <= hi + 1e-9, (i, scene.label_name)
        (spinning if scene.label_name.startswith("rotate") else still).append(angle)
        if scene.label_name.startswith("orbit"):
            tr = scene.tracks[0]
            d = tr.centre - tr.centre.mean(axis=0)
            assert np.all(np.diff(np.unwrap(np.arctan2(d[:, 1], d[:, 0]))) * (1 if scene.label % 2 == 0 else -1) > 0)
    spinning, still = np.concatenate(spinning), np.concatenate(still)
    # One frame's orientation does not tell spinning from still objects.
    assert abs(np.degrees(spinning.mean() - still.mean())) < 15


def test_main_object_shows_its_marker(videos):
    for v in videos:
        tr = v.scene.tracks[0]
        for t in (0, 10, 20):
            x = tr.centre[t, 0] + MARKER_CENTRE * tr.radius[t] * np.cos(tr.angle[t])
            y = tr.centre[t, 1] + MARKER_CENTRE * tr.radius[t] * np.sin(tr.angle[t])
            i, j = int(np.floor(y)), int(np.floor(x))
            if not (0 <= i < 64 and 0 <= j < 64) or v.masks[t, i, j] != 1:
                continue  # occluded or out of frame
            assert v.frames[t, i, j].max() < 70, (v.video_id, t, v.frames[t, i, j])  # dark neutral dot


def test_impacts_are_wall_contacts():
    for i in range(12):
        scene = plan_scene(CFG, i)
        for imp in scene.impacts:
            tr = scene.tracks[imp.object_id - 1]
            shape = scene.objects[imp.object_id - 1].shape
            reach = tr.radius[imp.frame] * SHAPE_EXTENT[shape]
            x, y = tr.centre[imp.frame]
            gap = {"left": x - reach, "right": 64 - x - reach, "top": y - reach, "bottom": 64 - y - reach}
            for wall in imp.walls:
                assert gap[wall] <= 3.0, (i, imp, gap)


def test_colours_are_isoluminant_and_in_gamut():
    lut = colour_lut()
    lab = srgb_to_lab(lut.astype(np.float64) / 255.0)  # [hues + 1, levels, 3]
    usable = (L_GRID >= L_MIN) & (L_GRID <= L_MAX)
    lightness = lab[: len(HUES), usable, 0]
    assert np.ptp(lightness, axis=0).max() < 1.0  # same L* for every hue at each level (8-bit rounding aside)
    chroma = np.hypot(lab[: len(HUES), usable, 1], lab[: len(HUES), usable, 2])
    assert np.abs(chroma - CHROMA).max() < 2.0
    assert np.hypot(lab[NEUTRAL, :, 1], lab[NEUTRAL, :, 2]).max() < 1.0
    angles = np.radians([a for _, a in HUES])
    grid = np.stack(np.broadcast_arrays(L_GRID[usable][None], CHROMA * np.cos(angles)[:, None], 0.0), -1)
    grid[..., 2] = CHROMA * np.sin(angles)[:, None]
    raw = lab_to_srgb(grid)
    assert raw.min() >= 0.0 and raw.max() <= 1.0  # no clipping, which would break isoluminance


def test_masks_line_up_with_coloured_pixels(videos):
    angles = np.array([a for _, a in HUES])
    for v in videos[:3]:
        lab = srgb_to_lab(v.frames.astype(np.float64) / 255.0)
        hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360
        neutral = np.hypot(lab[..., 1], lab[..., 2]) < 8  # object outlines
        bg = v.masks == 0
        bg_angle = angles[v.scene.background_hue]
        assert np.mean(np.abs((hue[bg] - bg_angle + 180) % 360 - 180) < 12) > 0.97
        for obj in v.scene.objects:
            inside = v.masks == obj.object_id
            if not inside.any():
                continue
            ok = (np.abs((hue - angles[obj.hue] + 180) % 360 - 180) < 12) | neutral
            assert ok[inside].mean() > 0.97, (v.video_id, obj)


def test_neutral_background_is_gray_and_changes_nothing_else(videos):
    gray_cfg = dataclasses.replace(CFG, neutral_background=True)
    for v in videos[:2]:
        g = render_video(gray_cfg, v.index)
        lab = srgb_to_lab(g.frames.astype(np.float64) / 255.0)
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        bg = g.masks == 0
        assert np.percentile(chroma[bg], 99) < 2.0  # background is achromatic
        assert chroma[~bg].mean() > 10  # objects keep their hues (outlines and the marker are gray)
        np.testing.assert_array_equal(g.masks, v.masks)  # same scene, same random decisions
        np.testing.assert_array_equal(g.frames[~bg], v.frames[~bg])
        np.testing.assert_array_equal(g.audio, v.audio)
        assert g.label == v.label


def test_boxes_and_centroids_match_masks(videos):
    for v in videos:
        for k in range(len(v.scene.objects)):
            for t in range(0, 24, 5):
                ys, xs = np.nonzero(v.masks[t] == k + 1)
                if xs.size == 0:
                    assert np.isnan(v.boxes[k, t]).all() and v.areas[k, t] == 0
                    continue
                np.testing.assert_array_equal(v.boxes[k, t], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                np.testing.assert_allclose(v.centroids[k, t], [xs.mean() + 0.5, ys.mean() + 0.5], atol=1e-4)
                assert v.areas[k, t] == xs.size
        assert (v.areas[:, 0] > 0).all()  # every object shows in frame 0 (DAVIS defines objects there)


def test_audio_pitch_follows_colour():
    for i in range(6):
        v = render_video(dataclasses.replace(CFG, max_distractors=0), i)
        spectrum = np.abs(np.fft.rfft(v.audio))
        freqs = np.fft.rfftfreq(v.audio.size, 1 / v.sample_rate)
        f0 = v.scene.objects[0].sound.f0
        at_f0 = spectrum[np.abs(freqs - f0) < 3].max()
        assert at_f0 > 20 * np.median(spectrum), (i, f0)
        assert freqs[np.argmax(spectrum[freqs > 100]) + np.sum(freqs <= 100)] == pytest.approx(f0, abs=3)


def test_clicks_at_impact_frames_in_rendered_audio(videos):
    checked = 0
    for v in videos:
        hp = np.abs(np.diff(v.audio, prepend=v.audio[:1]))
        for imp in v.audio_impacts:
            s = CFG.frame_sample(imp.frame)
            if s < 200 or s + 200 > hp.size:
                continue
            assert (hp[s : s + 100] ** 2).sum() > 3 * (hp[s - 100 : s] ** 2).sum()
            checked += 1
    assert checked >= 3


def test_static_control():
    v = render_video(dataclasses.replace(CFG, static=True), 2)
    assert (v.frames == v.frames[:1]).all() and (v.masks == v.masks[:1]).all()
    assert v.impacts == [] and v.audio_impacts == []
    assert np.isfinite(v.boxes).all() and (v.boxes == v.boxes[:, :1]).all()
    moving = render_video(CFG, 2)
    np.testing.assert_array_equal(v.frames[0], moving.frames[0])  # the same scene, frozen
    hp = np.abs(np.diff(v.audio))
    assert hp.max() < 0.1  # no clicks
    assert np.sqrt(np.mean(v.audio**2)) < np.sqrt(np.mean(moving.audio**2))  # standing objects hum quietly


def test_mismatched_audio_comes_from_the_source_video():
    v = render_video(CFG, 1, audio_index=4)
    np.testing.assert_array_equal(v.audio, render_video(CFG, 4).audio)
    np.testing.assert_array_equal(v.frames, render_video(CFG, 1).frames)
    assert v.audio_source == 4 and v.audio_impacts == plan_scene(CFG, 4).impacts


def test_splits_stratified_and_seeded():
    labels = [label_for(0, i) for i in range(1000)]
    splits = assign_splits(labels, (0.7, 0.1, 0.2), seed=0)
    for cls in range(10):
        got = [s for s, lab in zip(splits, labels) if lab == cls]
        assert (got.count("train"), got.count("val"), got.count("test")) == (70, 10, 20)
    assert splits == assign_splits(labels, (0.7, 0.1, 0.2), seed=0)
    assert splits != assign_splits(labels, (0.7, 0.1, 0.2), seed=1)
    small = assign_splits(labels[:12], (0.7, 0.1, 0.2), seed=0)  # classes of 1-2 videos: totals still right
    assert (small.count("train"), small.count("val"), small.count("test")) == (8, 1, 3)
    assert set(assign_splits(labels[:12], (1.0, 0.0, 0.0), seed=0)) == {"train"}


def test_derangement():
    perm = derangement(7, seed=0)
    assert sorted(perm) == list(range(7)) and not np.any(perm == np.arange(7))
    np.testing.assert_array_equal(perm, derangement(7, seed=0))
    with pytest.raises(ValueError, match="at least 2"):
        derangement(1, seed=0)


def test_config_validation_messages():
    with pytest.raises(ValueError, match="even"):
        render_video(SynthConfig(width=63), 0)
    with pytest.raises(ValueError, match="preset"):
        SynthConfig(preset="warp").validate()
