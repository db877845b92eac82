"""Audio features: shapes, numpy reference, tone peaks, mel filterbank properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidssl.data.audio_features import (
    LogMelSpectrogram,
    LogSpectrogram,
    hz_to_mel,
    log_mel_spectrogram,
    log_spectrogram,
    mel_filterbank,
    mel_to_hz,
    stft_magnitude,
)

SR = 16000


def tone(freq: float, seconds: float = 1.0, sr: int = SR) -> torch.Tensor:
    t = torch.arange(int(seconds * sr), dtype=torch.float64) / sr
    return torch.sin(2 * torch.pi * freq * t).float()


def numpy_stft_mag(x: np.ndarray, win: int, hop: int, n_fft: int) -> np.ndarray:
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic Hann
    frames = [x[s : s + win] * w for s in range(0, len(x) - win + 1, hop)]
    return np.abs(np.fft.rfft(np.stack(frames), n=n_fft, axis=1)).T


def test_l3_log_spectrogram_shape_and_reference():
    x = torch.randn(2, 1, SR, generator=torch.Generator().manual_seed(0))
    spec = log_spectrogram(x)
    assert spec.shape == (2, 1, 81, 199)  # 160-sample window, 80 hop, 81 bins x 199 frames for 1 s
    ref = np.log(numpy_stft_mag(x[1, 0].double().numpy(), 160, 80, 160) + 1e-6)
    np.testing.assert_allclose(spec[1, 0].numpy(), ref, atol=1e-4, rtol=1e-4)
    assert LogSpectrogram()(x).shape == spec.shape


@pytest.mark.parametrize("freq", [500.0, 1000.0, 3000.0, 6500.0])
def test_tone_peaks_at_its_bin(freq):
    spec = log_spectrogram(tone(freq))  # bin width 16000 / 160 = 100 Hz
    peak_bins = spec.argmax(dim=0)
    assert torch.all(peak_bins == round(freq / 100))
    mag = stft_magnitude(tone(freq), 400, 160, 512)
    assert torch.all((mag.argmax(dim=0) - freq * 512 / SR).abs() <= 0.5 + 1e-6)


def test_mel_scales_round_trip_and_known_values():
    f = torch.tensor([0.0, 100.0, 700.0, 1000.0, 4000.0, 8000.0])
    for scale in ("htk", "slaney"):
        torch.testing.assert_close(mel_to_hz(hz_to_mel(f, scale), scale), f.double(), atol=1e-6, rtol=0)
    assert abs(float(hz_to_mel(torch.tensor(1000.0), "htk")) - 999.985) < 0.01  # 2595 log10(1 + 1000/700)
    assert float(hz_to_mel(torch.tensor(1000.0), "slaney")) == pytest.approx(15.0)


def test_mel_filterbank_triangles():
    fb = mel_filterbank(257, 40, SR)
    assert fb.shape == (257, 40) and fb.min() >= 0 and fb.max() <= 1 + 1e-6
    peaks = fb.argmax(dim=0)
    assert torch.all(peaks.diff() >= 0)  # band centres increase
    inner = fb[:, 1:-1].sum(1)  # adjacent triangles overlap to sum ~1 inside the covered range
    covered = (torch.arange(257) > peaks[1]) & (torch.arange(257) < peaks[-2])
    torch.testing.assert_close(inner[covered], torch.ones(int(covered.sum())), atol=1e-5, rtol=0)
    slaney = mel_filterbank(257, 40, SR, scale="slaney", norm="slaney")
    widths = (slaney > 0).sum(0)
    assert slaney.max(0).values[0] > slaney.max(0).values[-1]  # narrow low bands get taller under area norm
    assert widths[0] < widths[-1]


def test_log_mel_shape_and_tone_band():
    x = torch.stack([tone(440.0), tone(3000.0)]).unsqueeze(1)  # [2, 1, S]
    mel = log_mel_spectrogram(x)
    assert mel.shape == (2, 1, 64, 98)
    fb = mel_filterbank(257, 64, SR)
    for i, f in enumerate((440.0, 3000.0)):
        expected_band = int(fb[round(f * 512 / SR)].argmax())
        assert abs(int(mel[i, 0].mean(-1).argmax()) - expected_band) <= 1
    module = LogMelSpectrogram()
    torch.testing.assert_close(module(x), mel)
    assert "filterbank" not in module.state_dict()


def test_short_signal_and_bad_fft_raise():
    with pytest.raises(ValueError, match="shorter than one window"):
        log_spectrogram(torch.zeros(100))
    with pytest.raises(ValueError, match="n_fft"):
        stft_magnitude(torch.zeros(1000), 400, 160, 256)
