"""Audio-visual correspondence: Look, Listen and Learn (Arandjelović & Zisserman, ICCV 2017, arXiv:1705.08168).

PAPERS.md §4.1 (L3) and §4.2 (AVTS hard negatives). Does this frame and this 1 s of audio come from the same video at
the same time? ::

    plan: AudioVisualPairs planner: a frame (or short clip) + a 1-s audio window; positive = the window centred on
          the frame (label 1), negative = a window of another video (label 0), 50 / 50 (L3); optionally a share of
          negatives from the same video shifted by >= 1 window (AVTS "hard" negatives) after a curriculum
    make_example: frame(s) with one crop / flip / jitter draw ─▶ uint8 [T, 3, S, S]; waveform ─▶ float32 [samples]
    forward: vision tower (task.backbone) ─▶ [B, Dv];  waveform ─▶ log-mel (or L3 log-spectrogram) ─▶ input BN ─▶
             audio tower ─▶ [B, Da];  AVFusionHead: concat ─▶ fc 128 ─▶ ReLU ─▶ fc 2 (softmax CE) or fc 1 (BCE)

Faithfulness notes (PAPERS.md §4.4):

* negatives come from *other* videos (L3); same-video shifted negatives are AVTS's hard negatives and mixing them in
  from step 0 makes training fail or slow, so they only start after ``hard_after_steps`` training steps
  (``p_shifted`` of all examples from then on; AVTS: about 25 % hard / 75 % easy negatives).
* positives and negatives are balanced in expectation (``p_aligned = 0.5``) and positives' windows lie inside the
  audio stream, so silence at stream boundaries cannot tell them apart (the planner takes care of it).
* every waveform is resampled identically by the reader and cut / padded to exactly ``window_s * sample_rate``
  samples, so the length carries no label information.
* L3's audio input is a log-magnitude spectrogram with 10 ms windows and 5 ms hop (257 × 199 at 48 kHz; 81 × 199 at
  the 16 kHz our datasets deliver): ``audio_features=logspec``. ``logmel`` (64 bands × 98 frames, 25 ms / 10 ms)
  is the tiny default.

Options beyond L3 (used by the tiny preset; defaults keep L3): ``audio_pool=time`` keeps the audio tower's frequency
rows (max over time only) because a global max over frequency discards the pitch, which on the synthetic corpus is
what the object's colour predicts; ``audio_time_pool`` averages the spectrogram over time before the tower (cost);
``fusion=distance`` is AVE-Net's distance fusion (:class:`DistanceFusionHead`).

The curriculum clock ``steps`` is a buffer (saved in checkpoints); ``plan`` runs in DataLoader workers, which are
forked from the training process at the start of every epoch, so the hard-negative share switches on at the first
epoch boundary after ``hard_after_steps`` (with ``num_workers=0`` it switches on at that exact step).

Data: on the synthetic corpus the task trains on ``vidssl-data synth --neutral-background`` (gray backgrounds, same
scenes): a hued background is a per-video key unrelated to the sound, and on a few hundred videos the model memorises
background -> soundtrack (held-out 0.46) instead of learning colour -> pitch (0.72 with the tiny preset, 280 training
videos, 350 steps; docs/notes/tasks_sal_avc.md). Real corpora need many videos for the same reason (L3: ~500 k).

Diagnostics: ``avc_acc`` (accuracy, chance 0.5 at ``p_aligned = 0.5``), ``balanced_acc``, ``acc_aligned``,
``acc_other``, ``acc_shifted`` (accuracy on each kind of example; nan when the batch has none), ``p_shifted`` (share
of hard negatives currently planned). Control: the ``--mismatched-audio`` corpus (every video carries another
video's soundtrack; with ``--neutral-background`` too), where ``avc_acc`` must sit at 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidssl.data.audio_features import LogMelSpectrogram, LogSpectrogram
from vidssl.data.planners.audio_visual import KINDS, AudioVisualPairs
from vidssl.data.transforms.clip import ColorJitter, RandomHorizontalFlip, Resize
from vidssl.data.transforms.color import normalize
from vidssl.losses.avc import avc_loss
from vidssl.losses.classification import balanced_accuracy
from vidssl.models import ClipEncoder, create_backbone
from vidssl.models.heads.av_fusion import AVFusionHead
from vidssl.tasks.base import ControlSpec, DecodedSample, PretextBenchmarkSpec, TaskOutput
from vidssl.train.config_schema import opt
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["BENCHMARK", "AudioVisualCorrespondence", "TaskConfig", "avc_diagnostics", "build_task"]

BENCHMARK = PretextBenchmarkSpec(
    metric="avc_acc",
    chance=0.5,
    control=ControlSpec(
        synth_flags=("--mismatched-audio",),
        description="every video carries another video's audio: nothing ties sound to picture, accuracy must be 0.5",
    ),
    recipe="configs/pretrain/av_correspondence_tiny.yaml",
    # Gray backgrounds: with the default hued ones the frame's dominant colour is a per-video key unrelated to the
    # sound, and on a few hundred videos AVC memorises background -> soundtrack instead of learning colour -> pitch
    # (held-out 0.46 vs 0.72 after 1,000 steps; docs/notes/tasks_sal_avc.md).
    synth_flags=("--neutral-background",),
    # --quick's 120-video corpus (84 training videos) is memorised (held-out 0.45 after 336 steps); 400 videos and
    # the recipe's 10 epochs (350 steps) are what the tiny preset was measured with (0.72).
    quick_overrides=("run.epochs=10",),
    quick_videos=400,
)


@dataclass
class TaskConfig:
    """Options of the ``av_correspondence`` task (defaults: L3's settings where our data allows, PAPERS.md §4.1)."""

    num_frames: int = opt(1, "frames in the visual input (L3: 1); > 1 gives a short clip around the window centre")
    frame_stride: int = opt(1, "frame step inside the clip (num_frames > 1)")
    clip_pooling: Literal["mean", "max", "concat"] = opt(
        "mean", "how a 2D backbone's per-frame features of a clip are combined (num_frames > 1)")
    window_s: float = opt(1.0, "seconds of audio per example (L3 and AVTS: 1 s)")
    sample_rate: int = opt(16000, "audio rate the dataset delivers (the training datasets decode at 16 kHz)")
    p_aligned: float = opt(0.5, "share of positives (L3: 50 / 50)")
    p_shifted: float = opt(0.0, "share of same-video time-shifted (hard) negatives once the curriculum allows them "
                           "(AVTS: ~0.25 of negatives); 0 = L3 (other-video negatives only)")
    hard_after_steps: int = opt(0, "training steps with easy negatives only before hard ones are mixed in "
                                "(curriculum, AVTS)")
    min_shift_s: float = opt(0.0, "smallest shift of a hard negative; 0 = one window (no overlap; AVTS found "
                             "overlapping 'super-hard' shifts hurt)")
    audio_features: Literal["logmel", "logspec"] = opt(
        "logmel", "logmel: 64 bands x 98 frames per second (25 ms / 10 ms); logspec: L3's log-magnitude spectrogram "
        "(10 ms / 5 ms windows: 81 x 199 at 16 kHz, 257 x 199 at 48 kHz)")
    n_mels: int = opt(64, "mel bands (logmel)")
    audio_model: str = opt("l3_audio", "audio tower registry name (l3_audio: L3's 64-512 VGG; l3_audio_tiny for CPU)")
    audio_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "audio tower builder kwargs"})
    audio_time_pool: int = opt(1, "average-pool the log spectrogram over time by this factor before the audio tower "
                               "(1 = off; 4 turns 98 frames per second into 24: ~4x cheaper, pitch and timbre kept)")
    audio_pool: Literal["global", "time"] = opt(
        "global", "how the audio tower's map becomes a vector: global (L3: max over frequency and time) or time "
        "(max over time only, frequency rows flattened: keeps *which* band sounds, i.e. the pitch, which a global "
        "max throws away on small towers)")
    fusion: Literal["concat", "distance"] = opt(
        "concat", "concat: L3's concat -> fc -> ReLU -> fc; distance: AVE-Net (Arandjelovic & Zisserman 2018): each "
        "embedding -> fc fusion_hidden -> L2-normalised, their squared distance -> fc (a match is a small distance, "
        "which a concat MLP has to discover as a conjunction)")
    fusion_hidden: int = opt(128, "fusion fc width (L3: concat 512+512 -> 128 -> 2)")
    outputs: Literal[1, 2] = opt(2, "2 = L3's 2-way softmax; 1 = one logit with sigmoid BCE (the same model)")
    hflip: bool = opt(True, "mirror the frame(s) with p=0.5 (L3 augmentation)")
    color_jitter: float = opt(0.0, "brightness/saturation/contrast jitter strength, one draw per example (0 = off)")


class AudioVisualCorrespondence(nn.Module):
    """L3 correspondence (+ AVTS hard negatives) implementing :class:`vidssl.tasks.base.Task`.

    Args:
        backbone: the vision tower (registry backbone, 2D ``BCHW`` or 3D ``BCTHW``); saved as the backbone.
        audio_tower: the audio tower (registry backbone on ``[B, 1, F, T]``).
        options: task options.
        resize: short side before cropping (0 = keep).
        crop_size: square crop side (random position in training).
        mean: per-channel normalisation mean (RGB in [0, 1]).
        std: per-channel std.
    """

    name = "av_correspondence"
    uses_other_video = True

    def __init__(self, backbone: nn.Module, audio_tower: nn.Module, options: TaskConfig | None = None, *,
                 resize: int = 0, crop_size: int = 64, mean: Sequence[float] = (0.5, 0.5, 0.5),
                 std: Sequence[float] = (0.25, 0.25, 0.25)) -> None:
        super().__init__()
        self.options = o = options or TaskConfig()
        if not 0 <= o.p_aligned + o.p_shifted <= 1:
            raise ValueError(f"task.p_aligned + task.p_shifted must be in [0, 1], got {o.p_aligned} + {o.p_shifted}")
        self.backbone = backbone
        # A 2D tower on one frame needs no adapter; clips (or 3D towers) go through ClipEncoder, which folds time
        # into the batch for 2D towers and permutes to BCTHW for 3D ones.
        self.clip_encoder = (ClipEncoder(backbone, pooling=o.clip_pooling, num_frames=o.num_frames)
                             if o.num_frames > 1 or backbone.input_layout == "BCTHW" else None)
        vision_dim = self.clip_encoder.num_features if self.clip_encoder is not None else backbone.num_features
        self.audio_tower = audio_tower
        if o.audio_features == "logmel":
            self.spectrogram: nn.Module = LogMelSpectrogram(o.sample_rate, n_mels=o.n_mels)
        else:
            self.spectrogram = LogSpectrogram(o.sample_rate, win_ms=10.0, hop_ms=5.0)
        # Log spectra are far from zero mean / unit scale (about -14 .. 5); a parameter-free BN on the input fixes
        # the scale once for every dataset and sample rate (L3's marl re-implementation divides log values by 5).
        self.audio_norm = nn.BatchNorm2d(1, affine=False)
        if o.audio_pool not in ("global", "time"):
            raise ValueError(f"task.audio_pool must be 'global' or 'time', got {o.audio_pool!r}")
        if o.audio_time_pool < 1:
            raise ValueError(f"task.audio_time_pool must be >= 1, got {o.audio_time_pool}")
        self.num_samples = round(o.window_s * o.sample_rate)
        audio_dim = audio_tower.num_features
        if o.audio_pool == "time":  # frequency rows of the tower's map, from one dummy window
            was_training = audio_tower.training
            audio_tower.eval()
            with torch.no_grad():
                spec = self.spectrogram(torch.zeros(1, self.num_samples)).unsqueeze(1)
                audio_dim = audio_tower.forward_features(self._pool_time(spec))[0, :, :, 0].numel()
            audio_tower.train(was_training)
        if o.fusion not in ("concat", "distance"):
            raise ValueError(f"task.fusion must be 'concat' or 'distance', got {o.fusion!r}")
        head_cls = DistanceFusionHead if o.fusion == "distance" else AVFusionHead
        self.head = head_cls(vision_dim, audio_dim, hidden=o.fusion_hidden, num_classes=o.outputs)
        self.resize, self.crop_size = resize, crop_size
        self.mean, self.std = tuple(mean), tuple(std)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))  # curriculum clock, saved and resumed

    # ============ worker side ============
    def current_p_shifted(self) -> float:
        """0 during the first ``hard_after_steps`` training steps (easy negatives only), then ``p_shifted``."""
        return self.options.p_shifted if int(self.steps) >= self.options.hard_after_steps else 0.0

    def planner(self) -> AudioVisualPairs:
        """The pair planner for the current curriculum stage."""
        o = self.options
        return AudioVisualPairs(num_frames=o.num_frames, stride=o.frame_stride, window_s=o.window_s,
                                p_aligned=o.p_aligned, p_shifted=self.current_p_shifted(),
                                min_shift_s=o.min_shift_s or None)

    def plan(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Frame indices ``[T]`` and one audio window; ``targets`` ``label`` (1 aligned) and ``kind``."""
        return self.planner()(meta, rng, other)

    def make_example(self, sample: DecodedSample, rng: np.random.Generator) -> dict[str, Any]:
        """Frame(s) with one augmentation draw, the fixed-length waveform and the targets.

        Returns:
            ``frames`` uint8 ``[T, 3, S, S]``, ``audio`` float32 ``[window_s * sample_rate]`` (mono), ``label`` int64
            (1 = same video, same time), ``kind`` int64 (index into ``("aligned", "other", "shifted")``),
            ``video_id`` (of the frames).
        """
        o, c = self.options, self.crop_size
        frames = sample.take(sample.plan.indices)  # [T, 3, H, W]
        if self.resize:
            frames = Resize(self.resize)(frames)
        h, w = frames.shape[-2:]
        if h < c or w < c:
            frames = Resize(c)(frames)
            h, w = frames.shape[-2:]
        top, left = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        frames = frames[..., top : top + c, left : left + c]
        if o.hflip:
            frames = RandomHorizontalFlip()(frames, rng)
        if o.color_jitter > 0:
            frames = ColorJitter(o.color_jitter, o.color_jitter, o.color_jitter, 0.0, p=0.8)(frames, rng)
        (wave,) = sample.audio  # [C, S]
        wave = wave.float().mean(dim=0)[: self.num_samples]
        if wave.numel() < self.num_samples:  # a window the reader clamped at the end of a stream
            wave = F.pad(wave, (0, self.num_samples - wave.numel()))
        return {
            "frames": frames.contiguous(),
            "audio": wave.contiguous(),
            "label": torch.tensor(int(sample.plan.targets["label"]), dtype=torch.int64),
            "kind": torch.tensor(int(sample.plan.targets["kind"]), dtype=torch.int64),
            "video_id": sample.meta.video_id,
        }

    # ============ device side ============
    def embed_vision(self, frames: torch.Tensor) -> torch.Tensor:
        """``uint8 [B, T, 3, H, W] -> [B, Dv]``."""
        x = normalize(frames.flatten(0, 1), self.mean, self.std).reshape(frames.shape)
        if self.clip_encoder is not None:
            return self.clip_encoder(x)
        return self.backbone(x[:, 0])

    def audio_input(self, audio: torch.Tensor) -> torch.Tensor:
        """``float32 [B, S] -> [B, 1, F, T']`` normalised log spectrogram (the audio tower's input)."""
        return self.audio_norm(self._pool_time(self.spectrogram(audio.float()).unsqueeze(1)))

    def _pool_time(self, spec: torch.Tensor) -> torch.Tensor:
        k = self.options.audio_time_pool
        return F.avg_pool2d(spec, (1, k), ceil_mode=True) if k > 1 else spec

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """``float32 [B, S] -> [B, Da]`` (``Da`` = tower width, or width x frequency rows for ``audio_pool=time``)."""
        x = self.audio_input(audio)
        if self.options.audio_pool == "time":
            return self.audio_tower.forward_features(x).amax(dim=-1).flatten(1)
        return self.audio_tower(x)

    def predict(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, outputs], target [B])`` for training and held-out evaluation."""
        if batch["audio"].shape[-1] != self.num_samples:
            raise ValueError(f"audio windows have {batch['audio'].shape[-1]} samples, expected {self.num_samples} "
                             f"(task.window_s x task.sample_rate); set task.sample_rate to the dataset's audio rate")
        logits = self.head(self.embed_vision(batch["frames"]), self.embed_audio(batch["audio"]))
        return logits, batch["label"]

    def forward(self, batch: Mapping[str, Any]) -> TaskOutput:
        """Correspondence cross-entropy (2-way softmax or sigmoid BCE) and the diagnostics listed above."""
        logits, target = self.predict(batch)
        loss, base = avc_loss(logits, target)
        diag = avc_diagnostics(logits.detach(), target, batch["kind"])
        diag.update(loss=base["loss"], p_shifted=self.current_p_shifted())
        if self.training and torch.is_grad_enabled():
            self.steps += 1
        return TaskOutput(loss=loss, diagnostics=diag, counts=int(target.shape[0]))


class DistanceFusionHead(nn.Module):
    """AVE-Net fusion (``task.fusion=distance``): fc to ``hidden`` per modality, L2-normalise, squared distance, fc.

    ``vision [B, Dv]``, ``audio [B, Da]`` -> logits ``[B, num_classes]``.
    """

    def __init__(self, vision_features: int, audio_features: int, *, hidden: int = 128, num_classes: int = 2) -> None:
        super().__init__()
        self.vision_fc = nn.Linear(vision_features, hidden)
        self.audio_fc = nn.Linear(audio_features, hidden)
        self.fc = nn.Linear(1, num_classes)

    def forward(self, vision: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """``[B, Dv], [B, Da] -> [B, num_classes]``."""
        v = F.normalize(self.vision_fc(vision), dim=1)
        a = F.normalize(self.audio_fc(audio), dim=1)
        return self.fc((v - a).pow(2).sum(dim=1, keepdim=True))


def predictions(logits: torch.Tensor) -> torch.Tensor:
    """Predicted labels of ``[B, 2]`` (argmax) or ``[B]`` / ``[B, 1]`` (logit > 0) outputs."""
    if logits.ndim == 2 and logits.shape[1] == 2:
        return logits.argmax(dim=1)
    return (logits.reshape(-1) > 0).long()


@torch.no_grad()
def avc_diagnostics(logits: torch.Tensor, target: torch.Tensor, kind: torch.Tensor) -> dict[str, float]:
    """Accuracy overall, balanced, and per example kind (``acc_aligned``, ``acc_other``, ``acc_shifted``)."""
    pred, target = predictions(logits), target.long()
    correct = (pred == target).float()
    out = {"avc_acc": float(correct.mean()), "balanced_acc": balanced_accuracy(pred, target)}
    for i, name in enumerate(KINDS):
        sel = kind == i
        out[f"acc_{name}"] = float(correct[sel].mean()) if sel.any() else float("nan")
    return out


def build_task(cfg: Any) -> AudioVisualCorrespondence:
    """Build from a resolved recipe (contract: :mod:`vidssl.tasks.registry`).

    ``cfg.model`` is the vision tower (``task.backbone``, what fine-tuning loads); the audio tower is
    ``task.audio_model`` with ``task.audio_kwargs``.
    """
    o = cfg.task.options
    backbone = create_backbone(cfg.model.name, **cfg.model.kwargs)
    audio = create_backbone(o.audio_model, **o.audio_kwargs)
    d = cfg.data
    return AudioVisualCorrespondence(backbone, audio, o, resize=d.resize, crop_size=d.crop_size, mean=d.mean,
                                     std=d.std)
