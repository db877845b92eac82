"""Vondrick pointer attention: softmax over ALL reference pixels, copy semantics, temperatures."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidssl.models import create_head
from vidssl.models.heads import attention_logits, copy_labels, flatten_pixels


def _feats(b=2, r=3, d=8, h=4, w=5):
    torch.manual_seed(0)
    return torch.randn(b, r, d, h, w), torch.randn(b, d, h, w)


def test_logits_shape_and_softmax_over_all_references() -> None:
    head = create_head("colorization", in_features=8, embed_dim=6)
    ref, tgt = _feats()
    logits = head(ref, tgt)
    assert logits.shape == (2, 4 * 5, 3 * 4 * 5)  # [B, N_target, N_ref over all 3 frames]
    attn = torch.softmax(logits, dim=-1)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 20))  # each target pixel: a distribution over refs
    # Joint normalisation over frames, not per frame: per-frame sums are not all 1.
    per_frame = attn.reshape(2, 20, 3, 20).sum(-1)
    assert not torch.allclose(per_frame, torch.ones_like(per_frame))


def test_matches_loop_reference() -> None:
    head = create_head("colorization", in_features=8, embed_dim=6).train()
    ref, tgt = _feats(b=1, r=2, h=2, w=3)
    logits = head(ref, tgt)
    e_ref = head.embed(ref[0])  # [R, E, h, w]
    e_tgt = head.embed(tgt)[0]  # [E, h, w]
    for y in range(2):
        for x in range(3):
            j = y * 3 + x
            for r in range(2):
                for yy in range(2):
                    for xx in range(3):
                        i = (r * 2 + yy) * 3 + xx
                        want = (e_ref[r, :, yy, xx] * e_tgt[:, y, x]).sum() / 1.0
                        torch.testing.assert_close(logits[0, j, i], want)


def test_temperature_train_vs_eval() -> None:
    head = create_head("colorization", in_features=8, embed_dim=6)
    ref, tgt = _feats()
    train_logits = head.train()(ref, tgt)
    eval_logits = head.eval()(ref, tgt)
    torch.testing.assert_close(eval_logits, train_logits / 0.5)  # T = 1 in training, 0.5 at test
    torch.testing.assert_close(head(ref, tgt, temperature=2.0), train_logits / 2.0)


def test_copy_labels_copies_colour_of_matching_pixel() -> None:
    # Orthogonal one-hot embeddings with a sharp temperature: each target points at exactly one reference pixel.
    # Fewer targets than references, so a softmax over the wrong (target) axis cannot pass by symmetry.
    ref = torch.eye(6).unsqueeze(0)  # [1, N_ref, E]
    pick = torch.tensor([3, 0, 5])
    tgt = ref[:, pick]  # target j equals reference pick[j]
    colours = torch.tensor([[0, 1, 2, 3, 0, 1]])
    probs = copy_labels(attention_logits(ref, tgt, temperature=0.01), F.one_hot(colours, 4))
    assert probs.shape == (1, 3, 4)
    torch.testing.assert_close(probs.sum(-1), torch.ones(1, 3))
    assert probs.argmax(-1).tolist() == [colours[0, pick].tolist()]


def test_predict_returns_colour_maps() -> None:
    head = create_head("colorization", in_features=8, embed_dim=6).eval()
    ref, tgt = _feats()
    colours = torch.randint(0, 16, (2, 3, 4, 5))
    probs = head.predict(ref, tgt, colours, num_colors=16)
    assert probs.shape == (2, 16, 4, 5)
    torch.testing.assert_close(probs.sum(1), torch.ones(2, 4, 5))


def test_flatten_pixels_order() -> None:
    feats = torch.arange(2 * 3 * 2 * 2).reshape(1, 2, 3, 2, 2).float()  # [B, R, E, h, w]
    flat = flatten_pixels(feats)
    assert flat.shape == (1, 8, 3)
    torch.testing.assert_close(flat[0, (1 * 2 + 1) * 2 + 0], feats[0, 1, :, 1, 0])
