"""A trainable Siamese correlation tracking head (SiamFC) on top of a frozen or fine-tuned backbone.

Bertinetto, Valmadre, Henriques, Vedaldi, Torr, "Fully-Convolutional Siamese Networks for Object Tracking"
(arXiv:1606.09549): an *exemplar* crop around the target and a larger *search* crop are embedded by the same
network; the exemplar embedding is cross-correlated with the search embedding ("a convolution of the search features
with the exemplar features as the kernel") giving a response map whose peak is the target's new position. Training
uses a logistic loss on every response cell: positive within radius R of the true position, negative elsewhere,
the two classes weighted equally. Crops follow SiamFC: a square of side ``sqrt((w + 2p)(h + 2p))`` with context
``p = (w + h) / 4`` around the box, resized to the exemplar size; the search crop covers the same scale, twice as wide.
At test time three scales are searched, off-scale responses are penalised, a cosine window damps large jumps, and
the size is updated with a learning rate.

Here the embedding is ``adapter(backbone.forward_features(x))`` with a small trainable adapter, so a *frozen*
pretrained backbone can be compared with a frozen random one (``finetune_backbone=False``), or both fine-tuned.
Registry backbones pad their convolutions, which breaks the translation equivariance SiamFC relies on (its network
has no padding); as in SiamRPN++ (Li et al., arXiv:1812.11703) the exemplar is therefore embedded from a
search-sized crop and only the central cells are kept, so the exemplar features never see the padding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from vidssl.data.transforms.color import IMAGENET_MEAN, IMAGENET_STD
from vidssl.eval.box_tracking_metrics import TrackingScores, evaluate_tracks
from vidssl.eval.tracking_data import BoxTrack

__all__ = ["HeadConfig", "SiamHead", "crop_and_resize", "evaluate_tracking", "track_boxes", "train_tracking_head"]


@dataclass(frozen=True)
class HeadConfig:
    """Tracking-head settings; defaults suit 64×64 synthetic frames (SiamFC uses 127/255 crops on real video).

    Attributes:
        exemplar_size: exemplar crop side in pixels (a multiple of the backbone stride).
        search_size: search crop side (twice the exemplar, as SiamFC); raise it for faster motion.
        embed_dim: adapter output channels.
        finetune_backbone: train the backbone too (else it stays frozen in eval mode and only the adapter learns).
        steps: optimisation steps.
        batch_size: exemplar/search pairs per step.
        lr: AdamW learning rate (cosine-decayed to 0).
        max_gap: largest frame gap between exemplar and search frames during training.
        max_shift: largest random offset of the target from the search-crop centre, as a fraction of the crop.
        pos_radius: response cells within this many search-crop pixels of the target are positives.
        scales: search scales at test time.
        scale_penalty: factor on the peak of off-scale responses (SiamFC 0.9745).
        scale_lr: how fast the box size follows the best scale.
        window_influence: weight of the cosine window on the normalised response (SiamFC 0.176).
        seed: pair sampling and initialisation seed.
    """

    exemplar_size: int = 32
    search_size: int = 64
    embed_dim: int = 64
    finetune_backbone: bool = False
    steps: int = 300
    batch_size: int = 16
    lr: float = 3e-3
    max_gap: int = 6
    max_shift: float = 0.2
    pos_radius: float = 6.0
    scales: tuple[float, ...] = (0.96, 1.0, 1.04)
    scale_penalty: float = 0.97
    scale_lr: float = 0.5
    window_influence: float = 0.25
    seed: int = 0


def crop_and_resize(images: torch.Tensor, centres: torch.Tensor, sides: torch.Tensor, size: int) -> torch.Tensor:
    """Square crops resampled to ``size × size`` (bilinear; outside the image is 0, the mean after normalising).

    Args:
        images: ``float [B, C, H, W]``.
        centres: ``float [B, 2]`` crop centres ``(x, y)`` in pixels (pixel ``j`` spans ``[j, j + 1)``).
        sides: ``float [B]`` crop sides in pixels.
        size: output side.

    Returns:
        ``float [B, C, size, size]``.
    """
    b, _, h, w = images.shape
    theta = images.new_zeros(b, 2, 3)
    theta[:, 0, 0] = sides / w
    theta[:, 1, 1] = sides / h
    theta[:, 0, 2] = 2 * centres[:, 0] / w - 1
    theta[:, 1, 2] = 2 * centres[:, 1] / h - 1
    grid = F.affine_grid(theta, [b, images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def exemplar_side(boxes: torch.Tensor) -> torch.Tensor:
    """SiamFC context square ``sqrt((w + 2p)(h + 2p))``, ``p = (w + h) / 4``, for boxes ``[..., 4]``."""
    wh = (boxes[..., 2:] - boxes[..., :2]).clamp_min(1.0)
    p = wh.sum(-1) / 4
    return torch.sqrt((wh[..., 0] + 2 * p) * (wh[..., 1] + 2 * p))


class SiamHead(nn.Module):
    """Backbone + adapter embedding, cross-correlation, learnable response scale and bias.

    Args:
        backbone: a 2D registry backbone (``forward_features``, ``num_features``, ``spatial_stride``).
        embed_dim: adapter channels.
        finetune_backbone: whether the backbone trains.
        mean: input normalisation mean (RGB in [0, 1]).
        std: input normalisation std.

        exemplar_size: exemplar side ``Sz`` in pixels of the crop (a multiple of the stride).
        search_size: search side ``Sx``; exemplars are cropped at this size too, centred on the target.

    Shapes:
        ``forward(z [B, 3, Sx, Sx], x [B, 3, Sx, Sx]) -> [B, 1, n, n]`` with ``n = (Sx - Sz) / stride + 1``.
    """

    def __init__(self, backbone: nn.Module, *, embed_dim: int = 64, finetune_backbone: bool = False,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 exemplar_size: int = 32, search_size: int = 64) -> None:  # fmt: skip
        super().__init__()
        self.backbone = backbone
        self.finetune_backbone = finetune_backbone
        self.stride = int(backbone.spatial_stride)
        if exemplar_size % self.stride or search_size % self.stride or search_size <= exemplar_size:
            raise ValueError(f"exemplar {exemplar_size} and search {search_size} must be multiples of the stride "
                             f"{self.stride}, search larger")  # fmt: skip
        self.exemplar_cells = exemplar_size // self.stride
        self.response_size = (search_size - exemplar_size) // self.stride + 1
        d = int(backbone.num_features)
        self.adapter = nn.Sequential(
            nn.Conv2d(d, embed_dim, 3, padding=1, bias=False), nn.BatchNorm2d(embed_dim), nn.ReLU(inplace=True),
            nn.Conv2d(embed_dim, embed_dim, 1),
        )  # fmt: skip
        self.gain = nn.Parameter(torch.tensor(5.0))  # response = gain * mean(z * x) + bias (SiamFC "adjust")
        self.bias = nn.Parameter(torch.tensor(0.0))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        for p in backbone.parameters():
            p.requires_grad_(finetune_backbone)

    def train(self, mode: bool = True) -> SiamHead:
        """Like ``nn.Module.train`` but a frozen backbone stays in eval mode (its BN statistics never move)."""
        super().train(mode)
        if not self.finetune_backbone:
            self.backbone.eval()
        return self

    def normalize(self, frames: torch.Tensor) -> torch.Tensor:
        """``uint8 [B, 3, H, W]`` → normalised float."""
        return (frames.float() / 255.0 - self.mean) / self.std

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised crops ``[B, 3, S, S]`` → embeddings ``[B, E, S/stride, S/stride]``."""
        with torch.set_grad_enabled(self.finetune_backbone and torch.is_grad_enabled()):
            f = self.backbone.forward_features(x)
        return self.adapter(f)

    def embed_exemplar(self, z: torch.Tensor) -> torch.Tensor:
        """Search-sized crops centred on the target → the central ``exemplar_cells²`` embedding cells."""
        f = self.embed(z)
        top = (f.shape[-1] - self.exemplar_cells) // 2
        return f[..., top : top + self.exemplar_cells, top : top + self.exemplar_cells]

    def correlate(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Cross-correlate exemplar embeddings ``[B, E, hz, wz]`` (or ``[1, ...]``, shared) with ``[B, E, hx, wx]``."""
        b = x.shape[0]
        z = z.expand(b, -1, -1, -1)
        out = F.conv2d(x.reshape(1, -1, *x.shape[-2:]), z, groups=b)  # one group per pair
        return out.view(b, 1, *out.shape[-2:]) / z[0].numel() * self.gain + self.bias

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Response maps for normalised exemplar-centred and search crops (both ``search_size``)."""
        return self.correlate(self.embed_exemplar(z), self.embed(x))


def _labels(n: int, stride: int, offsets: torch.Tensor, radius: float) -> torch.Tensor:
    """``float [B, 1, n, n]``: 1 where a response cell is within ``radius`` px of the target offset ``[B, 2]``."""
    cell = (torch.arange(n, dtype=torch.float32) - (n - 1) / 2) * stride
    dx = cell.view(1, 1, n) - offsets[:, 0].view(-1, 1, 1)
    dy = cell.view(1, n, 1) - offsets[:, 1].view(-1, 1, 1)
    return ((dx**2 + dy**2) <= radius**2).float().unsqueeze(1)


def balanced_logistic_loss(response: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """SiamFC's loss: mean logistic loss, positives and negatives weighted equally (0.5 each per map)."""
    pos = labels.sum((1, 2, 3), keepdim=True).clamp_min(1)
    neg = (1 - labels).sum((1, 2, 3), keepdim=True).clamp_min(1)
    weight = labels * 0.5 / pos + (1 - labels) * 0.5 / neg
    return F.binary_cross_entropy_with_logits(response, labels, weight=weight, reduction="sum") / response.shape[0]


def _sample_pairs(
    tracks: Sequence[BoxTrack],
    cfg: HeadConfig,
    rng: np.random.Generator,
    stride: int,
    model: SiamHead,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One batch: exemplar crops, search crops (target shifted off-centre), labels."""
    z_imgs, x_imgs, z_box, x_box = [], [], [], []
    while len(z_imgs) < cfg.batch_size:
        tr = tracks[rng.integers(len(tracks))]
        vis = np.flatnonzero(tr.visible)
        t = int(rng.choice(vis))
        near = vis[(np.abs(vis - t) <= cfg.max_gap) & (vis != t)]
        if near.size == 0:
            continue
        t2 = int(rng.choice(near))
        z_imgs.append(tr.frames[t])
        x_imgs.append(tr.frames[t2])
        z_box.append(tr.boxes[t])
        x_box.append(tr.boxes[t2])
    zb, xb = torch.tensor(np.stack(z_box)), torch.tensor(np.stack(x_box))
    shift = torch.tensor(rng.uniform(-cfg.max_shift, cfg.max_shift, (cfg.batch_size, 2)), dtype=torch.float32)
    scale = torch.tensor(rng.uniform(0.95, 1.05, cfg.batch_size), dtype=torch.float32)
    x_side = exemplar_side(xb) * cfg.search_size / cfg.exemplar_size * scale
    x_centre = (xb[:, :2] + xb[:, 2:]) / 2 - shift * x_side[:, None]  # crop centre moved, target off-centre
    to_tensor = lambda imgs: model.normalize(torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)).to(device)  # noqa: E731
    z_side = exemplar_side(zb) * cfg.search_size / cfg.exemplar_size
    z = crop_and_resize(to_tensor(z_imgs), ((zb[:, :2] + zb[:, 2:]) / 2).to(device), z_side.to(device),
                        cfg.search_size)  # fmt: skip
    x = crop_and_resize(to_tensor(x_imgs), x_centre.to(device), x_side.to(device), cfg.search_size)
    return z, x, _labels(model.response_size, stride, shift * cfg.search_size, cfg.pos_radius).to(device)


@dataclass
class HeadTraining:
    """A trained head and its loss curve (one value per step)."""

    model: SiamHead
    losses: list[float] = field(default_factory=list)


def train_tracking_head(
    backbone: nn.Module, tracks: Sequence[BoxTrack], config: HeadConfig = HeadConfig(), *,
    mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD, device: str = "cpu",
    progress: bool = False, desc: str = "head",
) -> HeadTraining:  # fmt: skip
    """Train a :class:`SiamHead` on labelled tracks with SiamFC's balanced logistic loss.

    Args:
        backbone: 2D backbone (frozen unless ``config.finetune_backbone``).
        tracks: training tracks (:func:`vidssl.eval.tracking_data.load_synth_tracks`).
        config: settings.
        mean: normalisation the backbone expects.
        std: normalisation std.
        device: where to train.
        progress: show a progress bar with the running loss.
        desc: progress-bar label.

    Returns:
        The model (eval mode) and its per-step losses.
    """
    if not tracks:
        raise ValueError("no training tracks")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = SiamHead(
        backbone,
        embed_dim=config.embed_dim,
        finetune_backbone=config.finetune_backbone,
        mean=mean,
        std=std,
        exemplar_size=config.exemplar_size,
        search_size=config.search_size,
    ).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / config.steps)))
    model.train()
    out = HeadTraining(model)
    bar = tqdm(range(config.steps), desc=desc, unit="step", disable=not progress, leave=False)
    for _ in bar:
        z, x, labels = _sample_pairs(tracks, config, rng, model.stride, model, torch.device(device))
        loss = balanced_logistic_loss(model(z, x), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        out.losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(out.losses[-20:]):.3f}")
    model.eval()
    return out


@torch.no_grad()
def track_boxes(model: SiamHead, frames: np.ndarray, init_box: Sequence[float], config: HeadConfig = HeadConfig()
                ) -> np.ndarray:  # fmt: skip
    """Track one object through ``frames uint8 [T, H, W, 3]`` from its first box; returns ``float64 [T, 4]``."""
    model.eval()
    device = next(model.parameters()).device
    h, w = frames.shape[1:3]
    box = torch.tensor(init_box, dtype=torch.float32)
    centre, size = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]).clamp_min(1.0)
    first = model.normalize(torch.from_numpy(frames[:1]).permute(0, 3, 1, 2)).to(device)
    z_side = exemplar_side(box).view(1) * config.search_size / config.exemplar_size
    z = model.embed_exemplar(crop_and_resize(first, centre[None].to(device), z_side.to(device), config.search_size))
    scales = torch.tensor(config.scales, dtype=torch.float32)
    n = model.response_size
    up = (n - 1) * model.stride + 1  # response upsampled to one value per search-crop pixel (SiamFC: bicubic)
    hann = torch.hann_window(up + 2, periodic=False)[1:-1]
    window = (hann[:, None] * hann[None, :]).to(device)
    out = np.zeros((len(frames), 4))
    out[0] = box.numpy()
    for t in range(1, len(frames)):
        p = size.sum() / 4
        side = torch.sqrt((size[0] + 2 * p) * (size[1] + 2 * p)) * config.search_size / config.exemplar_size
        img = model.normalize(torch.from_numpy(frames[t : t + 1]).permute(0, 3, 1, 2)).to(device)
        k = len(scales)
        x = crop_and_resize(img.expand(k, -1, -1, -1), centre.expand(k, 2).to(device), (side * scales).to(device),
                            config.search_size)  # fmt: skip
        resp = model.correlate(z, model.embed(x))
        resp = F.interpolate(resp, size=(up, up), mode="bicubic", align_corners=True)[:, 0]
        peaks = resp.flatten(1).amax(1) * torch.where(scales == 1.0, 1.0, config.scale_penalty).to(device)
        best = int(peaks.argmax())
        r = resp[best] - resp[best].min()
        wi = config.window_influence
        r = (1 - wi) * r / r.sum().clamp_min(1e-12) + wi * window / window.sum()
        iy, ix = divmod(int(r.argmax()), up)
        # Upsampled index i sits at (i - (up - 1) / 2) search-crop pixels from the centre; crop px → frame px.
        disp = torch.tensor([ix - (up - 1) / 2, iy - (up - 1) / 2]) * (side * scales[best] / config.search_size)
        centre = centre + disp
        centre = torch.stack([centre[0].clamp(0, w), centre[1].clamp(0, h)])
        size = size * (1 - config.scale_lr + config.scale_lr * scales[best])
        out[t] = torch.cat([centre - size / 2, centre + size / 2]).numpy()
    return out


def evaluate_tracking(model: SiamHead, tracks: Sequence[BoxTrack], config: HeadConfig = HeadConfig(), *,
                      progress: bool = False) -> tuple[TrackingScores, dict[str, np.ndarray]]:  # fmt: skip
    """One-pass evaluation (OTB): mean IoU and success AUC over ``tracks``; also returns the predicted boxes."""
    preds = {}
    for tr in tqdm(tracks, desc="track", unit="track", disable=not progress, leave=False):
        preds[tr.name] = track_boxes(model, tr.frames, tr.boxes[0], config)
    return evaluate_tracks(preds, {tr.name: tr.boxes for tr in tracks}), preds
