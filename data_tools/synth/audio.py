"""Sound tied to what is seen: every object hums, and every wall impact clicks at the exact frame time.

* Pitch comes from the object's hue (eight hues, a minor third apart: 196 to 659 Hz) and timbre from its
  shape (partials and tremolo), so one frame's objects predict the spectrum of any 1-s window (L3 correspondence,
  PAPERS.md §4.1).
* Loudness follows the object's rim speed (translation + spin + growth), so audio energy follows visible motion.
* Each impact adds a 6 ms noise click whose onset is the first sample at the impact frame's presentation time, so
  audio-visual synchronisation (AVTS, §4.2) is learnable and testable sample-exactly after decoding.
* A faint noise floor avoids digital silence, whose boundaries would be a shortcut (§4.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from data_tools.synth.colour import HUES

if TYPE_CHECKING:
    from data_tools.synth.config import SynthConfig
    from data_tools.synth.scene import Scene

__all__ = ["CLICK_SECONDS", "SoundSpec", "render_audio", "sound_for"]

BASE_PITCH = 196.0  # G3
# A minor third: neighbouring hues are clearly different notes (~3 log-mel bins apart at 64 bins), and the top one
# (659 Hz) keeps its partials low enough that impact clicks dominate the high frequencies.
PITCH_STEP = 2.0 ** (3 / 12)
# shape -> (partials as (frequency ratio, amplitude), tremolo Hz)
TIMBRES: dict[str, tuple[tuple[tuple[float, float], ...], float]] = {
    "circle": (((1.0, 1.0),), 0.0),  # pure tone
    "ellipse": (((1.0, 1.0), (2.0, 0.6)), 0.0),  # tone + octave
    "square": (((1.0, 1.0), (3.0, 1 / 3), (5.0, 1 / 5), (7.0, 1 / 7), (9.0, 1 / 9)), 0.0),  # odd harmonics
    "triangle": (tuple((float(n), 1.0 / n) for n in range(1, 9)), 0.0),  # sawtooth-like, all harmonics
    "star": (((1.0, 1.0), (2.76, 0.6), (5.40, 0.4)), 0.0),  # inharmonic, bell-like
    "cross": (((1.0, 1.0), (2.0, 0.3)), 9.0),  # tremolo
}
MAIN_GAIN, DISTRACTOR_GAIN = 0.22, 0.12
IDLE_LOUDNESS = 0.25  # fraction of the gain heard when an object stands still
FULL_SPEED = 2.0  # px/frame (at 64x64) at which an object is at full loudness
CLICK_SECONDS, CLICK_GAIN = 0.006, 0.5
NOISE_FLOOR = 0.003


@dataclass(frozen=True)
class SoundSpec:
    """What one object sounds like.

    Attributes:
        f0: fundamental frequency in Hz (from the hue).
        partials: ``(frequency ratio, amplitude)`` pairs (from the shape).
        tremolo_hz: amplitude-modulation rate (0 = none).
        gain: peak amplitude at full speed.
    """

    f0: float
    partials: tuple[tuple[float, float], ...]
    tremolo_hz: float
    gain: float


def sound_for(shape: str, hue: int, main: bool) -> SoundSpec:
    """The sound of an object of ``shape`` and hue index ``hue`` (main objects are louder)."""
    if not 0 <= hue < len(HUES):
        raise ValueError(f"hue index must be 0..{len(HUES) - 1}, got {hue}")
    partials, tremolo = TIMBRES[shape]
    return SoundSpec(
        f0=BASE_PITCH * PITCH_STEP**hue,
        partials=partials,
        tremolo_hz=tremolo,
        gain=MAIN_GAIN if main else DISTRACTOR_GAIN,
    )


def _tone(spec: SoundSpec, t: np.ndarray, phase: float, nyquist: float) -> np.ndarray:
    """Sum of partials (below Nyquist), normalised to peak ~1."""
    out = np.zeros_like(t)
    total = 0.0
    for ratio, amp in spec.partials:
        freq = spec.f0 * ratio
        if freq >= 0.9 * nyquist:  # would alias; drop (only high pitches at low sample rates)
            continue
        out += amp * np.sin(2 * np.pi * freq * t + phase * ratio)
        total += amp
    out /= max(total, 1e-9)
    if spec.tremolo_hz > 0:
        out *= 0.6 + 0.4 * np.sin(2 * np.pi * spec.tremolo_hz * t)
    return out


def render_audio(scene: Scene, config: SynthConfig) -> np.ndarray:
    """The soundtrack of a scene.

    Args:
        scene: planned scene (objects with sounds, tracks, impacts).
        config: generator settings (sample rate, fps, length, scale).

    Returns:
        ``float32 [config.num_samples]`` mono waveform in [-1, 1]; sample ``k`` plays at ``k / sample_rate`` s,
        frame ``i`` at ``i / fps`` s.
    """
    sr = config.sample_rate
    n = config.num_samples
    rng = np.random.default_rng(np.random.SeedSequence(scene.audio_seed))
    t = np.arange(n, dtype=np.float64) / sr
    frame_times = np.arange(config.num_frames, dtype=np.float64) / float(config.rate)
    wave = rng.normal(0.0, NOISE_FLOOR, size=n)
    for obj, track in zip(scene.objects, scene.tracks):
        speed = track.speed() / config.scale
        loudness = IDLE_LOUDNESS + (1 - IDLE_LOUDNESS) * np.clip(speed / FULL_SPEED, 0.0, 1.0)
        envelope = np.interp(t, frame_times, loudness)  # follows the per-frame speed smoothly
        wave += obj.sound.gain * envelope * _tone(obj.sound, t, rng.uniform(0, 2 * np.pi), sr / 2)
    click_len = round(CLICK_SECONDS * sr)
    decay = np.exp(-np.arange(click_len) / (click_len / 4))
    for impact in scene.impacts:
        start = config.frame_sample(impact.frame)
        seg = slice(start, min(start + click_len, n))
        burst = rng.uniform(-1.0, 1.0, size=click_len)
        burst[0] = 1.0  # a full-scale first sample: the onset is the declared sample, not a random later one
        wave[seg] += CLICK_GAIN * (burst * decay)[: seg.stop - seg.start]
    return np.clip(wave, -1.0, 1.0).astype(np.float32)
