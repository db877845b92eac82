"""Label propagation with frozen dense features (the CRW protocol and its historical variants).

For each target frame t the labels of a *context* of earlier frames are copied through a feature affinity
(Jabri et al., "Space-Time Correspondence as a Contrastive Random Walk", arXiv:2006.14613, ``code/test.py``;
PAPERS.md §3.4). Per target node q and context node k::

    logit(q, k) = <f_q, f_k> / τ            (features L2-normalised per location: "cosine")
    keep the top-k logits over the whole context jointly, softmax over those k
    label(q) = Σ softmax · label(k)          (soft labels, fed back for later frames: no argmax in the loop)

Context = the reference frame (long-term memory, never radius-restricted) + the ``n_context`` previous frames,
whose nodes are only allowed within Euclidean ``radius`` feature cells of the query's position.

The affinity is computed in square tiles of query cells: a tile only meets context nodes inside its window grown
by the radius, so memory is bounded and work scales with the radius, not the frame size (DAVIS 480p at stride 8:
60×107 cells, 21 context frames, radius 12 → about 26 GFLOP per frame instead of a 6420×134820 matrix).

Protocol variants (PAPERS.md §3.4 table, §3.5) selected by :class:`PropagationConfig` and :data:`PRESETS`:

======== ================================ ========================== ===== ============== ===========
preset   context                          top-k (scope)              τ     locality       feedback
======== ================================ ========================== ===== ============== ===========
crw      first + 20 previous (front pad)  10, joint over context     0.05  radius 12      soft
uvc      first + 7 previous               5, per reference, averaged 1.0   none           soft
corrflow previous frame only              all in window              1.0   radius 6       hard argmax
tiny     first + 5 previous               5, joint                   0.05  radius 4       soft
======== ================================ ========================== ===== ============== ===========

``tiny`` is for 64×64 synthetic frames with stride-4 features (16×16 maps; "radius ~¼ of the map", PAPERS.md §8);
at stride 8 an 8×8 map leaves objects of ~10 px less than one cell, and they vanish at the argmax.
CorrFlow's window is a 13×13 square at stride 4; here the locality is always a disk (radius 6 ≈ that square).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from vidssl.eval.propagation_features import FeatureExtractor

__all__ = ["PRESETS", "PropagationConfig", "propagate_labels", "segment_video"]

_MASKED = -1e10  # CRW's value for disallowed context nodes (finite, so a softmax never produces NaN)


@dataclass(frozen=True)
class PropagationConfig:
    """Label-propagation settings; defaults are CRW's README evaluation (PAPERS.md §3.4).

    Attributes:
        n_context: previous frames kept as short-term context (CRW ``--videoLen 20``). More helps long
            occlusions, costs linearly.
        long_term: keep the reference (first annotated) frame in every context, unrestricted by the radius.
        topk: context nodes kept per query before the softmax (CRW 10); 0 keeps all. Lower = sharper labels.
        topk_scope: ``"joint"`` = top-k over the concatenated context (CRW); ``"per_frame"`` = top-k and softmax
            within each reference frame, predictions averaged over references (UVC, TimeCycle).
        radius: locality radius in feature cells for the short-term frames (CRW 12 at stride 8); ``0`` = none.
            Raise it for fast motion, lower it when labels leak onto similar-looking distant objects.
        radius_on_first: also restrict the reference frame by the radius (CRW does not).
        temperature: softmax temperature τ (CRW 0.05 for L2-normalised features; 1.0 for unnormalised).
        feedback: ``"soft"`` feeds soft predictions back (CRW); ``"hard"`` one-hot argmax (CorrFlow).
        pad_with_first: CRW's front padding: early frames see ``n_context`` copies of the reference frame as
            short-term context (radius-restricted) instead of a shorter context.
        tile: query tile side in feature cells; bigger tiles use more memory, smaller ones waste less compute.
    """

    n_context: int = 20
    long_term: bool = True
    topk: int = 10
    topk_scope: Literal["joint", "per_frame"] = "joint"
    radius: float = 12.0
    radius_on_first: bool = False
    temperature: float = 0.05
    feedback: Literal["soft", "hard"] = "soft"
    pad_with_first: bool = True
    tile: int = 8

    def __post_init__(self) -> None:
        if self.n_context < 0 or self.topk < 0 or self.radius < 0 or self.tile < 1:
            raise ValueError(f"n_context, topk, radius must be >= 0 and tile >= 1: {self}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.n_context == 0 and not self.long_term:
            raise ValueError("empty context: set n_context > 0 or long_term=True")
        if self.topk_scope not in ("joint", "per_frame") or self.feedback not in ("soft", "hard"):
            raise ValueError(f"topk_scope must be joint|per_frame and feedback soft|hard: {self}")

    def with_overrides(self, **overrides: object) -> PropagationConfig:
        """A copy with ``overrides`` applied; unknown keys raise ``KeyError`` naming the valid ones."""
        known = {f.name for f in fields(self)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise KeyError(f"unknown propagation option(s) {bad}; valid: {sorted(known)}")
        return replace(self, **overrides)


PRESETS: dict[str, PropagationConfig] = {
    "crw": PropagationConfig(),
    "uvc": PropagationConfig(n_context=7, topk=5, topk_scope="per_frame", radius=0, temperature=1.0,
                             pad_with_first=False),
    "corrflow": PropagationConfig(n_context=1, long_term=False, topk=0, radius=6, temperature=1.0, feedback="hard",
                                  pad_with_first=False),
    "tiny": PropagationConfig(n_context=5, topk=5, radius=4, pad_with_first=False),
}  # fmt: skip


class _Bank:
    """Ring buffer of the short-term context: keys ``[N, h, w, D]`` and labels ``[N, h, w, C]``, channels last.

    Channels-last makes a tile's window (a rectangle of cells) a gather of contiguous ``D``-vectors; the order of
    frames in the ring does not matter (joint top-k and per-frame averaging are both order-free).
    """

    def __init__(self, size: int, keys: torch.Tensor, labels: torch.Tensor) -> None:
        self.keys = keys.new_empty((size, *keys.shape))
        self.labels = labels.new_empty((size, *labels.shape))
        self.count, self.next = 0, 0

    def push(self, keys: torch.Tensor, labels: torch.Tensor) -> None:
        if self.keys.shape[0] == 0:
            return
        self.keys[self.next], self.labels[self.next] = keys, labels
        self.next = (self.next + 1) % self.keys.shape[0]
        self.count = min(self.count + 1, self.keys.shape[0])


@functools.lru_cache(maxsize=4096)
def _far_mask(box: tuple[int, int, int, int], win: tuple[int, int, int, int], radius: float) -> torch.Tensor:
    """``bool [nq, nw]``: window cells farther than ``radius`` from each query cell (cached per tile).

    ``box = (y0, y1, x0, x1)`` are the query cells, ``win = (ya, yb, xa, xb)`` the context cells; every frame of a
    video uses the same tiles, so each mask is built once.
    """
    (y0, y1, x0, x1), (ya, yb, xa, xb) = box, win
    qy, qx = torch.meshgrid(torch.arange(y0, y1), torch.arange(x0, x1), indexing="ij")
    ky, kx = torch.meshgrid(torch.arange(ya, yb), torch.arange(xa, xb), indexing="ij")
    d2 = (qy.reshape(-1, 1) - ky.reshape(1, -1)) ** 2 + (qx.reshape(-1, 1) - kx.reshape(1, -1)) ** 2
    return d2 > radius**2


def _weighted_labels(logits: torch.Tensor, labels: torch.Tensor, topk: int) -> torch.Tensor:
    """Top-k then softmax over the last axis of ``logits [..., n]``; ``labels [..., n, C]`` → ``[..., C]``."""
    if topk and topk < logits.shape[-1]:
        logits, idx = logits.topk(topk, dim=-1)
        labels = torch.gather(labels, -2, idx.unsqueeze(-1).expand(*idx.shape, labels.shape[-1]))
    return torch.einsum("...k,...kc->...c", logits.softmax(dim=-1), labels)


def _predict_tile(
    query: torch.Tensor,
    ref: tuple[torch.Tensor, torch.Tensor] | None,
    bank: _Bank,
    box: tuple[int, int, int, int],
    cfg: PropagationConfig,
) -> torch.Tensor:
    """Labels ``[ty, tx, C]`` for the query cells ``box = (y0, y1, x0, x1)`` of ``query [h, w, D]``."""
    y0, y1, x0, x1 = box
    h, w = query.shape[:2]
    q = query[y0:y1, x0:x1].reshape(-1, query.shape[-1])  # [nq, D]
    r = math.floor(cfg.radius)
    win = (max(0, y0 - r), min(h, y1 + r), max(0, x0 - r), min(w, x1 + r)) if cfg.radius else (0, h, 0, w)
    far = _far_mask(box, win, cfg.radius).to(q.device) if cfg.radius else None
    ya, yb, xa, xb = win
    parts: list[tuple[torch.Tensor, torch.Tensor]] = []  # (logits [nq, F, n], labels [nq or 1, F, n, C])
    if ref is not None:
        keys, labels = ref
        if cfg.radius_on_first and far is not None:
            keys, labels = keys[ya:yb, xa:xb], labels[ya:yb, xa:xb]
        logits = q @ keys.reshape(-1, keys.shape[-1]).T
        if cfg.radius_on_first and far is not None:
            logits = logits.masked_fill(far, _MASKED)
        parts.append((logits[:, None], labels.reshape(1, 1, -1, labels.shape[-1])))
    if bank.count:
        n = bank.count
        keys = bank.keys[:n, ya:yb, xa:xb].reshape(-1, bank.keys.shape[-1])  # [F * nw, D]: the one copy per tile
        logits = (q @ keys.T).view(q.shape[0], n, -1)  # one GEMM for all frames
        if far is not None:
            logits = logits.masked_fill(far[:, None, :], _MASKED)
        parts.append((logits, bank.labels[:n, ya:yb, xa:xb].reshape(1, n, -1, bank.labels.shape[-1])))
    if cfg.topk_scope == "joint":
        logits = torch.cat([lg.flatten(1) for lg, _ in parts], 1) / cfg.temperature
        labels = torch.cat([lb.flatten(1, 2) for _, lb in parts], 1).expand(q.shape[0], -1, -1)
        pred = _weighted_labels(logits, labels, cfg.topk)
    else:  # one prediction per reference frame, averaged (UVC)
        nq = q.shape[0]
        preds = [_weighted_labels(lg / cfg.temperature, lb.expand(nq, -1, -1, -1), cfg.topk) for lg, lb in parts]
        pred = torch.cat(preds, 1).mean(1)
    return pred.reshape(y1 - y0, x1 - x0, -1)


def _prepare(feats: torch.Tensor, similarity: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``[D, h, w]`` → (query, key) vectors ``[h, w, D']`` whose dot product is the similarity.

    Cosine: both are the L2-normalised features. Euclidean: ``-½‖q − k‖² = q·k − ½‖k‖² − ½‖q‖²`` and the last term
    is constant per query (softmax and top-k ignore it), so queries get an extra 1 and keys an extra ``-½‖k‖²``.
    """
    x = feats.float().permute(1, 2, 0)
    if similarity == "cosine":
        x = F.normalize(x, dim=-1).contiguous()
        return x, x
    if similarity == "euclidean":
        ones = torch.ones_like(x[..., :1])
        return torch.cat([x, ones], -1), torch.cat([x, -0.5 * (x**2).sum(-1, keepdim=True)], -1)
    raise ValueError(f"similarity must be 'cosine' or 'euclidean', got {similarity!r}")


@torch.no_grad()
def propagate_labels(
    features: Iterable[torch.Tensor],
    reference_labels: torch.Tensor,
    config: PropagationConfig = PRESETS["crw"],
    *,
    similarity: Literal["cosine", "euclidean"] = "cosine",
) -> Iterator[torch.Tensor]:
    """Propagate the reference frame's labels through the following frames.

    Args:
        features: dense features ``[D, h, w]`` of the reference frame, then of each following frame, in order
            (an iterator, so features can be computed lazily in batches).
        reference_labels: ``float [C, h, w]`` labels of the reference frame at feature resolution: one channel per
            object plus background, each the one-hot mask resized (area-averaged) to the feature grid.
        config: protocol settings.
        similarity: ``"cosine"`` (dot product of L2-normalised features, CRW) or ``"euclidean"`` (negative half
            squared distance, for raw-pixel features whose magnitude matters).

    Yields:
        ``float [C, h, w]`` soft labels for each frame after the reference, in order (channels sum to 1 when the
        reference labels do).

    Example:
        >>> feats = [torch.randn(16, 8, 8)] * 3   # a static video
        >>> labels = torch.zeros(2, 8, 8); labels[0] = 1; labels[1, 2:5, 2:5], labels[0, 2:5, 2:5] = 1, 0
        >>> out = list(propagate_labels(iter(feats), labels, PRESETS["tiny"]))
        >>> len(out), bool((out[-1].argmax(0) == labels.argmax(0)).all())
        (2, True)
    """
    cfg = config
    it = iter(features)
    try:
        _, ref_keys = _prepare(next(it), similarity)
    except StopIteration:
        return
    if tuple(reference_labels.shape[-2:]) != tuple(ref_keys.shape[:2]):
        raise ValueError(f"labels {tuple(reference_labels.shape)} vs features {tuple(ref_keys.shape)}: same h, w")
    ref_labels = reference_labels.float().to(ref_keys.device).permute(1, 2, 0).contiguous()
    bank = _Bank(cfg.n_context, ref_keys, ref_labels)
    if cfg.pad_with_first:
        for _ in range(cfg.n_context):
            bank.push(ref_keys, ref_labels)
    elif not cfg.long_term:
        bank.push(ref_keys, ref_labels)
    ref = (ref_keys, ref_labels) if cfg.long_term else None
    for raw in it:
        query, keys = _prepare(raw, similarity)
        h, w = query.shape[:2]
        out = torch.empty(h, w, ref_labels.shape[-1], device=query.device)
        for y0 in range(0, h, cfg.tile):
            for x0 in range(0, w, cfg.tile):
                box = (y0, min(h, y0 + cfg.tile), x0, min(w, x0 + cfg.tile))
                out[box[0] : box[1], box[2] : box[3]] = _predict_tile(query, ref, bank, box, cfg)
        if cfg.feedback == "hard":
            out = F.one_hot(out.argmax(-1), out.shape[-1]).float()
        bank.push(keys, out)
        yield out.permute(2, 0, 1)


def _feature_stream(frames: torch.Tensor, extractor: FeatureExtractor, batch: int) -> Iterator[torch.Tensor]:
    """Features ``[D, h, w]`` frame by frame, computed ``batch`` frames at a time."""
    for start in range(0, frames.shape[0], batch):
        yield from extractor(frames[start : start + batch])


@torch.no_grad()
def segment_video(
    frames: torch.Tensor,
    reference_mask: torch.Tensor,
    object_ids: Sequence[int],
    extractor: FeatureExtractor,
    config: PropagationConfig = PRESETS["crw"],
    *,
    batch: int = 4,
    progress: bool = False,
    desc: str = "",
) -> torch.Tensor:
    """Segment every frame of a video from the first frame's mask (CRW protocol steps 2–7, PAPERS.md §3.4).

    Frames are padded (edge replicate) to a multiple of the extractor's stride so feature cells align with pixels;
    the reference labels are one one-hot channel per object plus background, area-averaged to the feature grid
    (not nearest-index casting); the propagated soft maps are upsampled bilinearly to full resolution and only then
    arg-maxed.

    Args:
        frames: ``uint8 [T, 3, H, W]`` RGB; frame 0 is the reference.
        reference_mask: ``[H, W]`` object ids of frame 0 (0 = background; ids not in ``object_ids`` count as 0).
        object_ids: objects to propagate.
        extractor: feature source (:mod:`vidssl.eval.propagation_features`).
        config: protocol settings.
        batch: frames per feature-extractor call.
        progress: show a progress bar.
        desc: progress-bar label.

    Returns:
        ``uint8 [T, H, W]`` predicted object ids at the original resolution (frame 0 = the reference mask).
    """
    t_len, _, height, width = frames.shape
    s = extractor.stride
    pad_h, pad_w = (-height) % s, (-width) % s
    padded = F.pad(frames.float(), (0, pad_w, 0, pad_h), mode="replicate").to(torch.uint8) if pad_h or pad_w else frames
    ids = torch.tensor([0, *object_ids], dtype=torch.long)
    ref = reference_mask.long()
    onehot = (ref[None] == ids[:, None, None]).float()
    onehot[0] = 1.0 - onehot[1:].sum(0)  # unknown ids → background
    onehot = F.pad(onehot[None], (0, pad_w, 0, pad_h), mode="replicate")[0]

    out = torch.zeros(t_len, height, width, dtype=torch.uint8)
    out[0] = ids[onehot[:, :height, :width].argmax(0)].to(torch.uint8)
    stream = _feature_stream(padded, extractor, batch)
    first = next(stream)
    labels = F.adaptive_avg_pool2d(onehot[None].to(first.device), first.shape[-2:])[0]
    steps = propagate_labels(itertools.chain([first], stream), labels, config, similarity=extractor.similarity)
    bar = tqdm(total=t_len - 1, desc=desc or "propagate", unit="frame", disable=not progress, leave=False)
    for t, soft in enumerate(steps, start=1):
        full = F.interpolate(soft[None], size=padded.shape[-2:], mode="bilinear", align_corners=False)[0]
        out[t] = ids[full[:, :height, :width].argmax(0).cpu()].to(torch.uint8)
        bar.update(1)
    bar.close()
    return out
