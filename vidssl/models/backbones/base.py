"""The backbone contract shared by every registered backbone.

Input layouts (letters are fixed across vidssl: B batch, C channels, T time, H/W space, F frequency):

* ``"BCHW"``  2D frame networks: ``float [B, 3, H, W]`` normalised RGB frames.
* ``"BCTHW"`` 3D clip networks: ``float [B, 3, T, H, W]`` (data arrives as ``[B, T, C, H, W]``; the adapters in
  :mod:`vidssl.models.adapters` are the only place that permutes).
* ``"B1FT"``  audio spectrogram networks: ``float [B, 1, F, T]`` log-mel / log-magnitude spectrogram with F
  frequency bins and T spectrogram frames; ``[B, F, T]`` ("BFT") is accepted and unsqueezed.
* ``"BTCHW"`` clip adapters around 2D networks (:class:`~vidssl.models.adapters.ClipEncoder`).

``forward_features`` returns the dense map before global pooling, with the channel axis second:
``[B, D, H', W']`` for BCHW, ``[B, D, T', H', W']`` for BCTHW and BTCHW, ``[B, D, F', T']`` for B1FT, where
``H' = ceil(H / spatial_stride)`` (exactly ``H / spatial_stride`` when divisible) and likewise for time with
``temporal_stride``. For audio, ``spatial_stride`` is the stride along frequency and ``temporal_stride`` along
spectrogram frames. ``forward`` returns globally pooled features ``[B, num_features]``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["Backbone", "InputLayout", "PoolMode", "global_pool"]

InputLayout = Literal["BCHW", "BCTHW", "B1FT", "BTCHW"]
PoolMode = Literal["avg", "max"]


def global_pool(features: torch.Tensor, mode: PoolMode = "avg") -> torch.Tensor:
    """Pool every axis after the channel axis: ``[B, D, *S] -> [B, D]``."""
    if features.ndim == 2:
        return features
    flat = features.flatten(2)
    if mode == "avg":
        return flat.mean(dim=2)
    if mode == "max":
        return flat.amax(dim=2)
    raise ValueError(f"unknown pool mode {mode!r}; choose 'avg' or 'max'")


class Backbone(nn.Module):
    """Base class: subclasses set the attributes below and implement :meth:`forward_features`.

    Attributes:
        num_features: channels ``D`` of ``forward_features`` and width of ``forward``'s output.
        spatial_stride: input pixels per output cell along H and W (frequency for audio).
        temporal_stride: input frames per output cell along T (spectrogram frames for audio); 1 for 2D networks.
        input_layout: one of ``"BCHW"``, ``"BCTHW"``, ``"B1FT"``, ``"BTCHW"`` (module docstring).
        min_frames: smallest T the network accepts (3D networks; 1 otherwise).
        pool: global pooling used by :meth:`forward` (``"avg"``; L3 towers use ``"max"``).
    """

    num_features: int
    spatial_stride: int
    temporal_stride: int = 1
    input_layout: InputLayout
    min_frames: int = 1
    pool: PoolMode = "avg"

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Dense features before global pooling (layouts in the module docstring)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled features ``[B, num_features]``."""
        return global_pool(self.forward_features(x), self.pool)

    def extra_repr(self) -> str:
        """Shown by ``print(model)``."""
        return (
            f"layout={self.input_layout}, num_features={self.num_features}, "
            f"stride=(t={self.temporal_stride}, s={self.spatial_stride})"
        )

    def _check_input(self, x: torch.Tensor) -> None:
        """Fail with a message naming the expected layout instead of a cryptic conv shape error."""
        want = {"BCHW": 4, "BCTHW": 5, "B1FT": 4, "BTCHW": 5}[self.input_layout]
        if x.ndim != want:
            raise ValueError(
                f"{type(self).__name__} expects {self.input_layout} input ({want} dims), got shape {tuple(x.shape)}"
            )
        t_axis = {"BCTHW": 2, "BTCHW": 1}.get(self.input_layout)
        if t_axis is not None and x.shape[t_axis] < self.min_frames:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_frames} frames, got T={x.shape[t_axis]}")
