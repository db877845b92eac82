"""Backbones: every module is imported explicitly here so that its ``@register_backbone`` entries exist.

See :mod:`vidssl.models.backbones.base` for the contract (``forward_features``, ``num_features``, strides,
``input_layout``).
"""

from vidssl.models.backbones import l3_vgg, resnet2d, resnet3d, tiny
from vidssl.models.backbones.base import Backbone, InputLayout, global_pool
from vidssl.models.backbones.l3_vgg import L3Tower
from vidssl.models.backbones.resnet2d import ResNet2d
from vidssl.models.backbones.resnet3d import S3DBackbone, VideoResNetBackbone
from vidssl.models.backbones.tiny import TinyCNN2d, TinyCNN3d

__all__ = [
    "Backbone",
    "InputLayout",
    "L3Tower",
    "ResNet2d",
    "S3DBackbone",
    "TinyCNN2d",
    "TinyCNN3d",
    "VideoResNetBackbone",
    "global_pool",
    "l3_vgg",
    "resnet2d",
    "resnet3d",
    "tiny",
]
