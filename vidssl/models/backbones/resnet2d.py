"""2D ResNets from torchvision (He et al., arXiv:1512.03385) with a dense (stride-8/16) option.

Dense features are what correspondence methods need: CRW (Jabri et al., arXiv:2006.14613) trains a ResNet-18 whose
"layer3 and layer4 strides [are] set to 1" and at test time removes layer4, giving stride-8 res3 features
(PAPERS.md §3.4); Vondrick et al. (arXiv:1806.09594) use a stride-8 embedding, "32×32×64 features per frame" for
256² inputs (PAPERS.md §3.1). Two ways to reach stride 8/16 are offered:

* ``dilate=False`` (CRW): the stride-2 convolutions of layer3/layer4 become stride 1, nothing else changes, so the
  receptive field shrinks; this is what CRW's released code does.
* ``dilate=True`` (DeepLab, arXiv:1606.00915; torchvision's ``replace_stride_with_dilation``): the 3×3 convolutions
  of the modified stages are dilated so the receptive field is kept. torchvision only allows this for Bottleneck
  ResNets; here it is applied to both block types.

Weights are never downloaded (``weights=None``); load local files with :func:`vidssl.models.weights.load_weights`.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torchvision.models import resnet18, resnet50
from torchvision.models.resnet import BasicBlock, Bottleneck

from vidssl.models.backbones.base import Backbone
from vidssl.models.registry import register_backbone

__all__ = ["ResNet2d"]

_BUILDERS = {"resnet18": resnet18, "resnet50": resnet50}


class ResNet2d(Backbone):
    """torchvision ResNet-18/50 trunk (no avgpool/fc) on frames ``[B, C, H, W]``.

    Args:
        arch: ``"resnet18"`` or ``"resnet50"``.
        output_stride: 32 (standard), 16 (layer4 at stride 1) or 8 (layer3 and layer4 at stride 1).
        dilate: dilate the convolutions of the stages whose stride was removed (keeps the receptive field).
        drop_layer4: remove layer4, as CRW's test-time encoder does (``--remove-layers layer4``); features are
            then res3 (256-d for ResNet-18, 1024-d for ResNet-50).
        in_channels: input channels; 1 for grayscale inputs (colourisation sees only the L channel).

    Shapes:
        ``forward_features``: ``[B, C, H, W] -> [B, D, H/s, W/s]`` with ``s = spatial_stride`` (for H, W divisible
        by s). ``forward``: ``[B, D]`` (global average pool).
    """

    input_layout = "BCHW"

    def __init__(
        self,
        arch: Literal["resnet18", "resnet50"] = "resnet18",
        *,
        output_stride: Literal[8, 16, 32] = 32,
        dilate: bool = False,
        drop_layer4: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if arch not in _BUILDERS:
            raise ValueError(f"unknown arch {arch!r}; choose from {sorted(_BUILDERS)}")
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        net = _BUILDERS[arch](weights=None)
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3 = net.layer1, net.layer2, net.layer3
        self.layer4: nn.Module = nn.Identity() if drop_layer4 else net.layer4

        # Which stages lose their stride: stride 16 -> layer4, stride 8 -> layer3 and layer4.
        stride, dilation = 8, 1  # after layer2
        stages = [(net.layer3, output_stride >= 16)] + ([] if drop_layer4 else [(net.layer4, output_stride >= 32)])
        for layer, keep_stride in stages:
            if keep_stride:
                stride *= 2
            else:
                dilation *= 2
                _remove_stride(layer, dilation if dilate else 1)
        self.spatial_stride = stride
        last = net.layer3 if drop_layer4 else net.layer4
        self.num_features = _out_channels(last)
        self.arch, self.output_stride, self.dilate, self.drop_layer4 = arch, output_stride, dilate, drop_layer4

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> [B, D, H/s, W/s]`` dense features (``s = spatial_stride``)."""
        self._check_input(x)
        x = self.stem(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def _out_channels(layer: nn.Sequential) -> int:
    block = layer[-1]
    if isinstance(block, Bottleneck):
        return block.conv3.out_channels
    if isinstance(block, BasicBlock):
        return block.conv2.out_channels
    raise TypeError(f"unexpected block type {type(block).__name__}")


def _remove_stride(layer: nn.Sequential, dilation: int) -> None:
    """Set the stage's stride to 1 in place; dilate its 3×3 convs when ``dilation > 1``.

    As in torchvision's ``_make_layer``, the first block keeps the previous dilation (``dilation // 2``) and the
    following blocks use ``dilation``, so the first block's sampling grid matches the stride it replaces.
    """
    for i, block in enumerate(layer):
        d = max(dilation // 2, 1) if i == 0 else dilation
        for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d)):
            conv.stride = (1, 1)
            if conv.kernel_size == (3, 3):
                conv.dilation, conv.padding = (d, d), (d, d)


@register_backbone("resnet18")
def build_resnet18(**kwargs: Any) -> ResNet2d:
    """ResNet-18 trunk, stride 32, 512-d (arXiv:1512.03385); output_stride/dilate/drop_layer4 options."""
    return ResNet2d("resnet18", **kwargs)


@register_backbone("resnet18_s8")
def build_resnet18_s8(**kwargs: Any) -> ResNet2d:
    """ResNet-18, layer3/4 at stride 1 (CRW), stride 8, 512-d; drop_layer4=True: CRW test encoder."""
    kwargs.setdefault("output_stride", 8)
    return ResNet2d("resnet18", **kwargs)


@register_backbone("resnet50")
def build_resnet50(**kwargs: Any) -> ResNet2d:
    """ResNet-50 trunk, stride 32, 2048-d (arXiv:1512.03385); output_stride/dilate/drop_layer4 options."""
    return ResNet2d("resnet50", **kwargs)


@register_backbone("resnet50_s8")
def build_resnet50_s8(**kwargs: Any) -> ResNet2d:
    """ResNet-50 dilated to stride 8 (DeepLab-style, receptive field kept), 2048-d."""
    kwargs.setdefault("output_stride", 8)
    kwargs.setdefault("dilate", True)
    return ResNet2d("resnet50", **kwargs)
