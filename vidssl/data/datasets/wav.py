"""Reading precomputed WAV audio from memory (the optional ``wav`` member of a WebDataset sample).

A small RIFF parser (PCM 8/16/24/32-bit integers and 32/64-bit IEEE float; the stdlib ``wave`` module reads only
integer PCM) and a fetch function with the reader's ``get_audio`` semantics: a window in seconds on the video clock,
zeros outside the recording, mono by channel average, linear resampling when the stored rate differs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Wav", "parse_wav"]


@dataclass(frozen=True)
class Wav:
    """Decoded WAV audio.

    Attributes:
        samples: float32 ``[C, S]`` in [-1, 1].
        sample_rate: Hz.
        start_s: file-clock time of sample 0 (the video's ``audio_start``).
    """

    samples: torch.Tensor
    sample_rate: int
    start_s: float = 0.0

    def fetch(self, start_s: float, end_s: float, sample_rate: int = 16000) -> torch.Tensor:
        """Mono ``float32 [1, round((end_s - start_s) * sample_rate)]``, zero-padded outside the recording."""
        mono = self.samples.mean(0, keepdim=True)
        if sample_rate != self.sample_rate:  # linear resampling; shards are written at 16 kHz so this is rare
            n = round(mono.shape[1] * sample_rate / self.sample_rate)
            mono = F.interpolate(mono[None], size=max(n, 1), mode="linear", align_corners=False)[0]
        n_out = round((end_s - start_s) * sample_rate)
        first = round((start_s - self.start_s) * sample_rate)
        out = torch.zeros(1, n_out)
        lo, hi = max(first, 0), min(first + n_out, mono.shape[1])
        if hi > lo:
            out[:, lo - first : hi - first] = mono[:, lo:hi]
        return out


def parse_wav(data: bytes, start_s: float = 0.0) -> Wav:
    """Parse a RIFF/WAVE byte string.

    Raises:
        ValueError: not a WAV file, or an unsupported sample format.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt, payload = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            payload = body
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    if fmt is None or payload is None:
        raise ValueError("WAV file without fmt or data chunk")
    tag, channels, rate, _, _, bits = fmt
    if tag == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the sub-format decides; treat by bit depth
        tag = 3 if bits == 64 else 1
    width = bits // 8
    usable = len(payload) - len(payload) % (width * channels)
    raw = payload[:usable]
    if tag == 3 and bits in (32, 64):
        arr = np.frombuffer(raw, dtype=np.float32 if bits == 32 else np.float64).astype(np.float32)
    elif tag == 1 and bits == 8:
        arr = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == 1 and bits in (16, 32):
        dtype = np.int16 if bits == 16 else np.int32
        arr = np.frombuffer(raw, dtype=dtype).astype(np.float32) / float(2 ** (bits - 1))
    elif tag == 1 and bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        arr = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    else:
        raise ValueError(f"unsupported WAV format tag {tag} with {bits} bits")
    samples = torch.from_numpy(arr.reshape(-1, channels).T.copy())
    return Wav(samples, int(rate), start_s)
