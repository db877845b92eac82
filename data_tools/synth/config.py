"""Generator parameters, the action classes and the seeding scheme of the synthetic corpus.

Everything that changes what the generator writes is either a field of :class:`SynthConfig` (user-facing knobs, saved
in ``synth_config.json``) or a constant in this package whose change must bump :data:`GENERATOR_VERSION`.

Seeding: every random draw for video ``i`` comes from ``numpy.random.SeedSequence(seed, spawn_key=(stream, i))``,
never from global state or worker ids, so a corpus is identical whatever the number of worker processes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "CLASSES",
    "GENERATOR",
    "GENERATOR_VERSION",
    "REVERSED_CLASS",
    "SynthConfig",
    "rng_for",
    "video_id",
]

GENERATOR = "vidssl-synth"
# Bump whenever rendering, audio, labels or splits change for the same seed (corpus-identity checks compare it).
GENERATOR_VERSION = "2.0"  # 2.0: larger main object with a marker, larger class motions, bounded arcs

# Ten motion classes of the main object, in time-reversed pairs: class k played backwards is class k ^ 1.
CLASSES: tuple[str, ...] = (
    "move_right",  # crosses 60-80 % of the frame rightwards, slow vertical wobble
    "move_left",
    "move_down",  # crosses 60-80 % of the frame downwards, slow horizontal wobble
    "move_up",
    "grow",  # radius grows ~1.7x over the clip while drifting slowly
    "shrink",
    "rotate_cw",  # turns 210-260 degrees clockwise on screen (its marker dot shows it) while drifting slowly
    "rotate_ccw",
    "orbit_cw",  # travels a 190-230 degree arc clockwise around a fixed point (no wall contact)
    "orbit_ccw",
)
REVERSED_CLASS: dict[int, int] = {k: k ^ 1 for k in range(len(CLASSES))}

# SeedSequence spawn-key streams: one per independent decision, so adding one never shifts the others.
STREAM_SCENE, STREAM_LABEL, STREAM_SPLIT, STREAM_AUDIO_SWAP = 0, 1, 2, 3

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def rng_for(seed: int, stream: int, index: int) -> np.random.Generator:
    """The generator for one decision stream of one item (video index, block or class)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(stream), int(index))))


def video_id(index: int) -> str:
    """Corpus id of video ``index`` (``v00000``...)."""
    return f"v{index:05d}"


@dataclass(frozen=True)
class SynthConfig:
    """User-facing generator settings (saved verbatim in ``synth_config.json``).

    Attributes:
        seed: corpus seed; the same seed gives the same labels, masks, raw frames and audio.
        width: frame width in pixels (even, >= 32). Object sizes and speeds scale with ``min(width, height) / 64``.
        height: frame height in pixels (even, >= 32).
        num_frames: frames per video (>= 8).
        fps: frames per second (stored as an exact fraction in the container).
        sample_rate: audio rate in Hz (an AAC rate).
        max_distractors: distractor objects per video are drawn uniformly from ``0..max_distractors``.
        static: shortcut control: every frame is frame 0, nothing moves, no impact clicks.
        mismatched_audio: shortcut control: each video carries another video's audio (seeded derangement).
        neutral_background: paint the background gray (chroma 0) instead of one of the eight hues. Every other
            random decision is unchanged, so the same seed gives the same scenes. With hued backgrounds the frame's
            dominant colour is a per-video key unrelated to the sound, which audio-visual correspondence memorises
            on a few hundred videos instead of learning colour -> pitch (docs/notes/tasks_sal_avc.md).
        gop: keyframe interval of the H.264 stream (x264 ``keyint``); 250 = x264's default, a "raw" corpus.
        crf: x264 constant rate factor (lower = better quality; 18 keeps the fine textures).
        preset: x264 speed preset.
        audio_bitrate: AAC bit rate in bit/s.
    """

    seed: int = 0
    width: int = 64
    height: int = 64
    num_frames: int = 48
    fps: float = 16.0
    sample_rate: int = 16000
    max_distractors: int = 2
    static: bool = False
    mismatched_audio: bool = False
    neutral_background: bool = False
    gop: int = 250
    crf: float = 18.0
    preset: str = "veryfast"
    audio_bitrate: int = 64000

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field and what to use instead."""
        checks = [
            (self.width >= 32 and self.width % 2 == 0, f"width must be even and >= 32, got {self.width}"),
            (self.height >= 32 and self.height % 2 == 0, f"height must be even and >= 32, got {self.height}"),
            (self.num_frames >= 8, f"num_frames must be >= 8 (motion needs a few frames), got {self.num_frames}"),
            (0 < self.fps <= 240, f"fps must be in (0, 240], got {self.fps}"),
            (self.sample_rate in AAC_RATES, f"sample_rate must be one of {AAC_RATES}, got {self.sample_rate}"),
            (0 <= self.max_distractors <= 4, f"max_distractors must be 0..4, got {self.max_distractors}"),
            (self.gop >= 1, f"gop must be >= 1, got {self.gop}"),
            (0 <= self.crf <= 51, f"crf must be in [0, 51], got {self.crf}"),
            (self.preset in X264_PRESETS, f"preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}"),
            (8000 <= self.audio_bitrate <= 320000, f"audio_bitrate must be 8000..320000, got {self.audio_bitrate}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def rate(self) -> Fraction:
        """``fps`` as the exact fraction written to the container (e.g. 30000/1001)."""
        return Fraction(self.fps).limit_denominator(1001)

    @property
    def duration(self) -> float:
        """Seconds spanned by the frames: ``num_frames / fps``."""
        return float(self.num_frames / self.rate)

    @property
    def num_samples(self) -> int:
        """Audio samples rendered per video (exactly ``duration`` seconds)."""
        return round(self.num_frames * self.sample_rate / self.rate)

    @property
    def scale(self) -> float:
        """Object sizes and speeds are tuned for 64x64 frames and multiplied by this."""
        return min(self.width, self.height) / 64.0

    def frame_sample(self, frame: int) -> int:
        """Index of the first audio sample at the presentation time of ``frame``."""
        return round(frame * self.sample_rate / self.rate)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy of the fields."""
        return asdict(self)
