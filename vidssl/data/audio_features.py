"""Audio features in plain torch (no torchaudio): log-magnitude spectrogram and log-mel spectrogram.

Framing is explicit: a signal of ``S`` samples gives ``1 + (S - win) // hop`` frames (no centre padding), each
frame Hann-windowed (periodic) and zero-padded to ``n_fft`` before the real FFT, so ``n_fft // 2 + 1`` bins.

* L3 (Arandjelović & Zisserman, ICCV 2017; PAPERS.md §4.1): log spectrogram with 10 ms windows and 5 ms hop. At
  48 kHz that is 257 bins × 199 frames for 1 s; at our 16 kHz, ``log_spectrogram(wave)`` gives a 160-sample window,
  80-sample hop, ``n_fft = 160`` → **81 bins × 199 frames** for 1 s.
* log-mel (the audio tower's input): 25 ms windows, 10 ms hop, ``n_fft = 512`` at 16 kHz, 64 mel bands →
  **64 × 98** for 1 s. The filterbank is built here: HTK mel scale ``2595 log10(1 + f / 700)`` (default) or
  Slaney's (linear below 1 kHz, logarithmic above, as librosa's default), triangles optionally area-normalised
  (Slaney), laid out ``[n_freqs, n_mels]`` like torchaudio's ``melscale_fbanks``.

Both accept ``[..., S]`` waveforms (e.g. ``[B, 1, S]`` from ``reader.get_audio``) on any device.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

__all__ = [
    "LogMelSpectrogram",
    "LogSpectrogram",
    "hz_to_mel",
    "log_mel_spectrogram",
    "log_spectrogram",
    "mel_filterbank",
    "mel_to_hz",
    "stft_magnitude",
]

MelScale = Literal["htk", "slaney"]

# Slaney / librosa constants: 3 mels per 200 Hz below 1 kHz, then 27 mels per factor 6.4
_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freq: torch.Tensor, scale: MelScale = "htk") -> torch.Tensor:
    """Frequency in Hz → mel."""
    f = torch.as_tensor(freq, dtype=torch.float64)
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    log_part = _MIN_LOG_MEL + torch.log(f.clamp_min(1e-10) / _MIN_LOG_HZ) / _LOGSTEP
    return torch.where(f >= _MIN_LOG_HZ, log_part, f / _F_SP)


def mel_to_hz(mel: torch.Tensor, scale: MelScale = "htk") -> torch.Tensor:
    """Mel → frequency in Hz (inverse of :func:`hz_to_mel`)."""
    m = torch.as_tensor(mel, dtype=torch.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return torch.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * torch.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_filterbank(
    n_freqs: int,
    n_mels: int,
    sample_rate: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: MelScale = "htk",
    norm: Literal["slaney"] | None = None,
) -> torch.Tensor:
    """Triangular mel filters.

    Args:
        n_freqs: FFT bins (``n_fft // 2 + 1``), spanning 0 .. ``sample_rate / 2``.
        n_mels: bands.
        sample_rate: Hz.
        f_min: lowest edge (Hz).
        f_max: highest edge (Hz), default Nyquist.
        scale: ``htk`` or ``slaney`` mel formula.
        norm: ``slaney`` divides each triangle by its width in Hz / 2 (constant energy per band); ``None`` keeps
            peak 1.

    Returns:
        float32 ``[n_freqs, n_mels]``; ``spec.transpose(-1, -2) @ fb`` maps ``[..., F, T]`` power to mel bands.
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    freqs = torch.linspace(0.0, sample_rate / 2, n_freqs, dtype=torch.float64)
    m_pts = torch.linspace(float(hz_to_mel(torch.tensor(f_min), scale)), float(hz_to_mel(torch.tensor(f_max), scale)),
                           n_mels + 2, dtype=torch.float64)
    f_pts = mel_to_hz(m_pts, scale)
    width = f_pts.diff()  # [n_mels + 1]
    slopes = f_pts.unsqueeze(0) - freqs.unsqueeze(1)  # [n_freqs, n_mels + 2]
    down = -slopes[:, :-2] / width[:-1]
    up = slopes[:, 2:] / width[1:]
    fb = torch.clamp(torch.minimum(down, up), min=0.0)
    if norm == "slaney":
        fb = fb * (2.0 / (f_pts[2:] - f_pts[:-2])).unsqueeze(0)
    return fb.float()


def stft_magnitude(wave: torch.Tensor, win: int, hop: int, n_fft: int | None = None) -> torch.Tensor:
    """Magnitude of the short-time Fourier transform.

    Args:
        wave: float ``[..., S]`` (S >= win).
        win: window length in samples (Hann, periodic).
        hop: hop in samples.
        n_fft: FFT size >= win (zero padding); default ``win``.

    Returns:
        float ``[..., n_fft // 2 + 1, 1 + (S - win) // hop]``.
    """
    n_fft = n_fft or win
    if n_fft < win:
        raise ValueError(f"n_fft ({n_fft}) must be >= the window ({win})")
    if wave.shape[-1] < win:
        raise ValueError(f"signal of {wave.shape[-1]} samples is shorter than one window ({win})")
    window = torch.hann_window(win, periodic=True, dtype=wave.dtype, device=wave.device)
    frames = wave.unfold(-1, win, hop) * window  # [..., T, win]
    spec = torch.fft.rfft(frames, n=n_fft, dim=-1).abs()  # [..., T, F]
    return spec.transpose(-1, -2)


def log_spectrogram(
    wave: torch.Tensor,
    sample_rate: int = 16000,
    win_ms: float = 10.0,
    hop_ms: float = 5.0,
    n_fft: int | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """L3's log-magnitude spectrogram: ``log(|STFT| + eps)``.

    Returns:
        float ``[..., n_fft // 2 + 1, frames]``; 81 × 199 for 1 s at 16 kHz with the defaults.
    """
    win = round(sample_rate * win_ms / 1000)
    hop = round(sample_rate * hop_ms / 1000)
    return torch.log(stft_magnitude(wave.float(), win, hop, n_fft) + eps)


def log_mel_spectrogram(
    wave: torch.Tensor,
    sample_rate: int = 16000,
    win_ms: float = 25.0,
    hop_ms: float = 10.0,
    n_fft: int = 512,
    n_mels: int = 64,
    f_min: float = 0.0,
    f_max: float | None = None,
    scale: MelScale = "htk",
    norm: Literal["slaney"] | None = None,
    eps: float = 1e-6,
    filterbank: torch.Tensor | None = None,
) -> torch.Tensor:
    """``log(mel(|STFT|²) + eps)``.

    Returns:
        float ``[..., n_mels, frames]``; 64 × 98 for 1 s at 16 kHz with the defaults.
    """
    win = round(sample_rate * win_ms / 1000)
    hop = round(sample_rate * hop_ms / 1000)
    power = stft_magnitude(wave.float(), win, hop, n_fft) ** 2
    fb = filterbank if filterbank is not None else mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate, f_min, f_max,
                                                                  scale, norm)
    mel = torch.matmul(power.transpose(-1, -2), fb.to(power)).transpose(-1, -2)
    return torch.log(mel + eps)


class LogSpectrogram(nn.Module):
    """Module form of :func:`log_spectrogram` (for the audio tower; no parameters)."""

    def __init__(self, sample_rate: int = 16000, win_ms: float = 10.0, hop_ms: float = 5.0,
                 n_fft: int | None = None) -> None:
        super().__init__()
        self.sample_rate, self.win_ms, self.hop_ms, self.n_fft = sample_rate, win_ms, hop_ms, n_fft

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``[..., S]`` → ``[..., F, T]``."""
        return log_spectrogram(wave, self.sample_rate, self.win_ms, self.hop_ms, self.n_fft)


class LogMelSpectrogram(nn.Module):
    """Module form of :func:`log_mel_spectrogram`; the filterbank is a (non-persistent) buffer that follows ``.to``."""

    def __init__(self, sample_rate: int = 16000, win_ms: float = 25.0, hop_ms: float = 10.0, n_fft: int = 512,
                 n_mels: int = 64, f_min: float = 0.0, f_max: float | None = None, scale: MelScale = "htk",
                 norm: Literal["slaney"] | None = None) -> None:
        super().__init__()
        self.sample_rate, self.win_ms, self.hop_ms, self.n_fft = sample_rate, win_ms, hop_ms, n_fft
        fb = mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate, f_min, f_max, scale, norm)
        self.register_buffer("filterbank", fb, persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``[..., S]`` → ``[..., n_mels, T]``."""
        return log_mel_spectrogram(wave, self.sample_rate, self.win_ms, self.hop_ms, self.n_fft,
                                   filterbank=self.filterbank)
