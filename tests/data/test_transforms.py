"""Clip transforms: one draw per clip or tuple, agreement with torchvision, determinism; batched GPU versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from vidssl.data.transforms import (
    BatchedAugment,
    ColorJitter,
    Compose,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    batched_crop_params,
    batched_resized_crop,
    eval_transform,
    normalize,
    random_resized_crop_params,
    train_transform,
)


def clip(t: int = 4, h: int = 48, w: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (t, 3, h, w), dtype=torch.uint8, generator=g)


def test_one_draw_per_clip_and_per_tuple():
    frame = clip(1)
    same = frame.expand(5, -1, -1, -1).clone()
    aug = train_transform(32)
    for seed in range(10):
        out = aug(same, np.random.default_rng(seed))
        assert out.shape == (5, 3, 32, 32) and out.dtype == torch.uint8
        assert torch.equal(out, out[:1].expand_as(out))  # every frame got the same crop/flip/jitter
        a, b, c = aug((frame, frame.clone(), frame.clone()), np.random.default_rng(seed))
        assert torch.equal(a, b) and torch.equal(b, c)  # the tuple shares one draw


def test_tuple_type_is_kept():
    out = RandomHorizontalFlip(1.0)([clip(2), clip(2)], np.random.default_rng(0))
    assert isinstance(out, list) and len(out) == 2


def test_random_resized_crop_matches_torchvision_kernel():
    x = clip()
    box = random_resized_crop_params(np.random.default_rng(7), 48, 64, (0.2, 1.0))
    out = RandomResizedCrop(24, (0.2, 1.0))(x, np.random.default_rng(7))
    assert torch.equal(out, TF.resized_crop(x, *box, [24, 24], antialias=True))


def test_crop_params_stay_inside_and_respect_scale():
    rng = np.random.default_rng(0)
    for _ in range(500):
        top, left, h, w = random_resized_crop_params(rng, 48, 64, (0.3, 0.6), (0.75, 1.33))
        assert 0 <= top and top + h <= 48 and 0 <= left and left + w <= 64
        assert 0.25 <= h * w / (48 * 64) <= 0.65
    # impossible request → centre crop fallback with clamped ratio
    assert random_resized_crop_params(rng, 10, 100, (0.99, 1.0), (1.0, 1.0)) == (0, 45, 10, 10)


def test_color_jitter_equals_torchvision_with_the_drawn_factors():
    x = clip()
    out = ColorJitter(brightness=0.5, contrast=0, saturation=0, hue=0)(x, np.random.default_rng(3))
    replay = np.random.default_rng(3)
    replay.random()  # the p-test draw
    factor = replay.uniform(0.5, 1.5)
    assert torch.equal(out, TF.adjust_brightness(x, factor))
    full = ColorJitter(0.4, 0.4, 0.4, 0.1)
    a, b = full(x, np.random.default_rng(5)), full(x, np.random.default_rng(5))
    assert torch.equal(a, b) and not torch.equal(a, x)


def test_flip_and_grayscale_probabilities():
    x = clip(2)
    rng = np.random.default_rng(0)
    flips = sum(torch.equal(RandomHorizontalFlip(0.3)(x, rng), x.flip(-1)) for _ in range(2000))
    assert abs(flips / 2000 - 0.3) < 0.04
    g = RandomGrayscale(1.0)(x, rng)
    assert torch.equal(g[:, 0], g[:, 1]) and torch.equal(g[:, 1], g[:, 2])
    assert torch.equal(RandomGrayscale(0.0)(x, rng), x)


def test_eval_transform_and_normalize():
    out = eval_transform(32)(clip(2, 48, 96), None)
    assert out.shape == (2, 3, 32, 32)
    z = normalize(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert torch.allclose(z, torch.ones_like(z))


def test_compose_is_deterministic_given_rng():
    aug = Compose([RandomResizedCrop(16), RandomHorizontalFlip(), ColorJitter()])
    x = clip()
    assert torch.equal(aug(x, np.random.default_rng(1)), aug(x, np.random.default_rng(1)))


# ------------------------------------------------------------------ batched
def test_batched_colour_ops_match_torchvision_per_sample():
    x = torch.rand(3, 2, 3, 12, 12)
    for fn, tv, factors in [
        (adjust_brightness, TF.adjust_brightness, [0.6, 1.0, 1.4]),
        (adjust_contrast, TF.adjust_contrast, [0.6, 1.0, 1.4]),
        (adjust_saturation, TF.adjust_saturation, [0.0, 1.0, 1.8]),
        (adjust_hue, TF.adjust_hue, [-0.4, 0.0, 0.25]),
    ]:
        out = fn(x, torch.tensor(factors))
        for i, f in enumerate(factors):
            torch.testing.assert_close(out[i], tv(x[i], f), atol=2e-6, rtol=0)


def test_batched_crop_is_exact_without_scaling_and_flips():
    x = clip(3, 40, 50).unsqueeze(0).repeat(2, 1, 1, 1, 1)
    boxes = torch.tensor([[3.0, 5.0, 20.0, 30.0], [0.0, 0.0, 40.0, 50.0]])
    out = batched_resized_crop(x, boxes, (20, 30), flip=torch.tensor([False, True]))
    torch.testing.assert_close(out[0] * 255, x[0, :, :, 3:23, 5:35].float(), atol=1e-3, rtol=0)
    down = batched_resized_crop(x, boxes, (20, 25))
    assert down.shape == (2, 3, 3, 20, 25)
    flipped = out[1]
    expect = batched_resized_crop(x[1:], boxes[1:], (20, 30))[0].flip(-1)
    torch.testing.assert_close(flipped, expect)


def test_batched_crop_params_inside_image():
    b = batched_crop_params(2000, 40, 50, (0.08, 1.0), generator=torch.Generator().manual_seed(0))
    top, left, h, w = b.unbind(1)
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 40).all() and (left + w <= 50).all()
    assert (h * w / 2000 >= 0.07).all()


def test_batched_augment_one_draw_per_clip_and_reproducible():
    frame = clip(1, 40, 50)
    x = torch.stack([frame.expand(4, -1, -1, -1), clip(4, 40, 50, seed=1)])  # [2, 4, 3, 40, 50]
    aug = BatchedAugment(24)
    a = aug(x, generator=torch.Generator().manual_seed(3))
    b = aug(x, generator=torch.Generator().manual_seed(3))
    assert a.shape == (2, 4, 3, 24, 24) and a.dtype == torch.float32
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[0], a[0, :1].expand_as(a[0]))  # identical frames stay identical


@pytest.mark.gpu
def test_batched_augment_same_on_cuda():
    x = clip(4, 40, 50).unsqueeze(0).repeat(3, 1, 1, 1, 1)
    aug = BatchedAugment(24)
    cpu = aug(x, generator=torch.Generator().manual_seed(0))
    gpu = aug(x.cuda(), generator=torch.Generator().manual_seed(0))
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)
