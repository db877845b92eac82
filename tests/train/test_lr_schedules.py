import numpy as np
import pytest
import torch

from vidssl.train.schedules import build_lr_schedule, constant_schedule, cosine_schedule, one_cycle_schedule


def test_cosine_with_warmup_shape_and_endpoints():
    lr = cosine_schedule(0.1, 0.001, epochs=5, iters_per_epoch=10, warmup_epochs=1)
    assert lr.shape == (50,)
    np.testing.assert_allclose(lr[:10], np.arange(1, 11) * 0.01)  # linear warmup; no wasted lr=0 step
    assert lr[10] == pytest.approx(0.1)  # cosine starts at the peak
    assert lr[-1] == pytest.approx(0.001)  # ends exactly on the final value
    assert np.all(np.diff(lr[10:]) <= 1e-12)  # decreasing after warmup


def test_cosine_midpoint_is_the_mean():
    lr = cosine_schedule(1.0, 0.0, epochs=1, iters_per_epoch=101)
    assert lr[50] == pytest.approx(0.5)


def test_constant_with_warmup():
    lr = constant_schedule(0.2, epochs=2, iters_per_epoch=4, warmup_epochs=0.5)
    np.testing.assert_allclose(lr, [0.1, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])


@pytest.mark.parametrize(("total", "pct"), [(100, 0.3), (37, 0.25)])
def test_one_cycle_matches_torch(total, pct):
    ours = one_cycle_schedule(0.5, epochs=1, iters_per_epoch=total, pct_start=pct, div_factor=25, final_div_factor=1e4)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=total, pct_start=pct,
                                                anneal_strategy="cos", div_factor=25, final_div_factor=1e4)
    ref = []
    for _ in range(total):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_unknown_schedule_and_empty():
    with pytest.raises(ValueError, match="unknown schedule"):
        build_lr_schedule("step", lr=0.1, min_lr=0, epochs=1, iters_per_epoch=1)
    with pytest.raises(ValueError, match="epochs \\* iters_per_epoch > 0"):
        cosine_schedule(0.1, 0, epochs=0, iters_per_epoch=10)
