"""Label propagation: the tiled implementation against a brute-force reference of the protocol, and behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidssl.eval.label_propagation import PRESETS, PropagationConfig, propagate_labels, segment_video


def reference_propagation(feats: list[torch.Tensor], labels0: torch.Tensor, cfg: PropagationConfig,
                          similarity: str = "cosine") -> list[torch.Tensor]:  # fmt: skip
    """Slow, loop-based statement of the protocol (PAPERS.md §3.4), one query node at a time."""
    _, h, w = feats[0].shape
    if similarity == "cosine":
        feats = [F.normalize(f, dim=0) for f in feats]
    labels = [labels0]
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()], 1).float()
    out = []
    for t in range(1, len(feats)):
        # Context: (frame, restricted by radius). Frame 0 = long-term memory; previous frames short-term.
        ctx = [(0, cfg.radius_on_first)] if cfg.long_term else []
        if cfg.pad_with_first:
            prev = [max(j, 0) for j in range(t - cfg.n_context, t)]
        else:
            prev = list(range(max(1 if cfg.long_term else 0, t - cfg.n_context), t))
        ctx += [(j, True) for j in prev]
        pred = torch.zeros(labels0.shape[0], h * w)
        for qi in range(h * w):
            q = feats[t].flatten(1)[:, qi]
            per_ref = []
            all_logits, all_labels = [], []
            for j, restricted in ctx:
                k = feats[j].flatten(1)
                logit = q @ k if similarity == "cosine" else -0.5 * ((k - q[:, None]) ** 2).sum(0)
                if restricted and cfg.radius > 0:
                    far = ((pos - pos[qi]) ** 2).sum(1) > cfg.radius**2
                    logit = logit.masked_fill(far, -1e10)
                logit = logit / cfg.temperature
                lab = labels[j].flatten(1).T
                all_logits.append(logit)
                all_labels.append(lab)
                per_ref.append((logit, lab))

            def combine(lg: torch.Tensor, lb: torch.Tensor) -> torch.Tensor:
                if cfg.topk and cfg.topk < len(lg):
                    v, i = lg.topk(cfg.topk)
                    return v.softmax(0) @ lb[i]
                return lg.softmax(0) @ lb

            if cfg.topk_scope == "joint":
                pred[:, qi] = combine(torch.cat(all_logits), torch.cat(all_labels))
            else:
                pred[:, qi] = torch.stack([combine(lg, lb) for lg, lb in per_ref]).mean(0)
        pred = pred.view(-1, h, w)
        if cfg.feedback == "hard":
            pred = F.one_hot(pred.argmax(0), pred.shape[0]).permute(2, 0, 1).float()
        labels.append(pred)
        out.append(pred)
    return out


def random_video(t: int = 6, d: int = 8, h: int = 7, w: int = 9, c: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(d, h, w, generator=g) for _ in range(t)]
    labels = torch.rand(c, h, w, generator=g)
    return feats, labels / labels.sum(0)


CASES = {
    "crw": PropagationConfig(n_context=3, topk=4, radius=2.5, tile=4),
    "crw-pad": PropagationConfig(n_context=3, topk=4, radius=2.0, pad_with_first=True, tile=3),
    "no-long-term": PropagationConfig(n_context=2, long_term=False, topk=3, radius=2.0, pad_with_first=False, tile=4),
    "per-frame": PropagationConfig(n_context=2, topk=3, topk_scope="per_frame", radius=0, pad_with_first=False, tile=5),
    "all-hard": PropagationConfig(n_context=2, topk=0, radius=3, feedback="hard", pad_with_first=False, tile=4),
    "radius-first": PropagationConfig(n_context=2, topk=5, radius=2, radius_on_first=True, pad_with_first=False),
    "only-first": PropagationConfig(n_context=0, topk=4, radius=2, pad_with_first=False),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("similarity", ["cosine", "euclidean"])
def test_tiled_propagation_matches_the_reference(name, similarity):
    cfg = CASES[name].with_overrides(temperature=0.3)
    feats, labels = random_video()
    got = list(propagate_labels(iter(feats), labels, cfg, similarity=similarity))
    want = reference_propagation(feats, labels, cfg, similarity)
    assert len(got) == len(want) == len(feats) - 1
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-4)


def test_soft_labels_stay_a_distribution():
    feats, labels = random_video(c=4)
    for out in propagate_labels(iter(feats), labels, CASES["crw"]):
        torch.testing.assert_close(out.sum(0), torch.ones(out.shape[1:]), atol=1e-5, rtol=0)
        assert out.min() >= 0


def test_follows_a_translating_pattern():
    """Features move with the content one cell per frame: the labels must move with them."""
    g = torch.Generator().manual_seed(1)
    world = torch.randn(16, 12, 30, generator=g)
    feats = [world[:, :, 10 - t : 22 - t] for t in range(6)]  # content shifts right by one cell per frame
    labels = torch.zeros(2, 12, 12)
    labels[0] = 1
    labels[1, 4:8, 4:8], labels[0, 4:8, 4:8] = 1, 0
    outs = list(propagate_labels(iter(feats), labels, PropagationConfig(n_context=3, topk=1, radius=3)))
    for t, out in enumerate(outs, start=1):
        expected = torch.zeros(12, 12, dtype=torch.long)
        expected[4:8, 4 + t : 8 + t] = 1
        # Columns < t hold content never seen before (it entered from the left): nothing to propagate there.
        assert torch.equal(out.argmax(0)[:, t:], expected[:, t:]), f"frame {t}"


def test_presets_and_overrides():
    crw = PRESETS["crw"]
    assert (crw.n_context, crw.topk, crw.radius, crw.temperature, crw.topk_scope) == (20, 10, 12, 0.05, "joint")
    assert PRESETS["uvc"].topk_scope == "per_frame" and PRESETS["corrflow"].feedback == "hard"
    assert crw.with_overrides(topk=5).topk == 5
    with pytest.raises(KeyError, match="unknown propagation option"):
        crw.with_overrides(top_k=5)
    with pytest.raises(ValueError):
        PropagationConfig(temperature=0)


class StrideFour:
    """A fixed feature extractor: 4×4-cell colour means plus the cell position, so every cell is distinct."""

    name, stride, similarity = "fixed", 4, "euclidean"

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        colour = F.avg_pool2d(frames.float() / 25.0, 4)
        n, _, h, w = colour.shape
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        return torch.cat([colour, 3.0 * torch.stack([yy, xx]).float().expand(n, -1, -1, -1)], 1)


def test_segment_video_static_scene_keeps_the_mask_even_when_padded():
    g = torch.Generator().manual_seed(0)
    frame = torch.randint(0, 255, (3, 22, 30), generator=g, dtype=torch.uint8)  # 22, 30: not multiples of 4
    frames = frame.expand(5, -1, -1, -1).clone()
    mask = torch.zeros(22, 30, dtype=torch.uint8)
    mask[4:12, 8:20] = 3  # object id 3, boundaries on the 4-px grid
    mask[16:20, 0:8] = 7
    mask[0:4, 24:28] = 9  # id not propagated: becomes background
    out = segment_video(frames, mask, [3, 7], StrideFour(), PRESETS["tiny"].with_overrides(temperature=0.01))
    expected = mask.clone()
    expected[expected == 9] = 0
    assert out.shape == (5, 22, 30) and out.dtype == torch.uint8
    assert torch.equal(out[0], expected)  # the reference frame is the given mask
    for t in range(2, 5):
        assert torch.equal(out[t], out[1]), f"frame {t}"  # nothing moves: nothing changes
    # Bilinear upsampling of cell-level soft maps (CRW) rounds object corners; everything else is kept.
    assert (out[1] == expected).float().mean() > 0.97
    assert (out[1][5:11, 9:19] == 3).all() and (out[1][17:19, 1:7] == 7).all()


def test_segment_video_uses_area_averaged_one_hot_labels():
    """An object covering a quarter of each of four cells must not vanish or grow through index casting."""
    frames = torch.full((3, 3, 16, 16), 100, dtype=torch.uint8)
    mask = torch.zeros(16, 16, dtype=torch.uint8)
    mask[2:6, 2:6] = 1  # 4x4 object straddling cell (0, 0) only: area fraction 1 in no cell
    captured = {}

    def spy(features, labels, config, similarity):
        captured["labels"] = labels
        return propagate_labels(features, labels, config, similarity=similarity)

    import vidssl.eval.label_propagation as lp

    original = lp.propagate_labels
    lp.propagate_labels = spy
    try:
        segment_video(frames, mask, [1], StrideFour(), PRESETS["tiny"])
    finally:
        lp.propagate_labels = original
    lab = captured["labels"]
    assert lab.shape == (2, 4, 4)
    assert lab[1, 0, 0] == pytest.approx(4 / 16) and lab[1, 0, 1] == pytest.approx(4 / 16)
    assert lab[1, 1, 1] == pytest.approx(4 / 16)
    torch.testing.assert_close(lab.sum(0), torch.ones(4, 4))


def test_real_blackswan_lab_features_beat_identity(real_dir):
    """Integration on real 480p DAVIS frames, downscaled 4× to stay fast: Lab propagation > copying the mask."""
    from vidssl.data.datasets.davis import find_sequences
    from vidssl.eval.davis_metrics import evaluate_sequence, summarize
    from vidssl.eval.propagation_features import LabFeatures

    root = real_dir / "vos" / "davis2016"
    if not root.is_dir():
        pytest.skip("davis2016 fixture absent")
    (seq,) = find_sequences(root, sequences=["blackswan"])
    idx = list(range(0, 50, 5))
    frames = torch.from_numpy(seq.read_frames(idx)).permute(0, 3, 1, 2)
    frames = F.interpolate(frames.float(), size=(120, 214), mode="area").round().to(torch.uint8)
    gt_full = torch.from_numpy(np.stack([seq.read_mask(t) for t in idx]))
    gt = F.interpolate(gt_full[:, None].float(), size=(120, 214), mode="nearest")[:, 0].to(torch.uint8)
    pred = segment_video(frames, gt[0], [1], LabFeatures(stride=4), PRESETS["crw"].with_overrides(radius=6))
    gts = {t: gt[t].numpy() for t in range(len(idx))}
    lab = summarize(evaluate_sequence("b", gts, pred.numpy(), num_frames=len(idx))).scores["J&F-Mean"]
    ident = summarize(evaluate_sequence("b", gts, gt[:1].expand(len(idx), -1, -1).numpy(), num_frames=len(idx)))
    assert lab > ident.scores["J&F-Mean"] + 0.1
