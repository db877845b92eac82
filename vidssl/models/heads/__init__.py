"""Heads: small modules named by role. Every module is imported explicitly so its ``@register_head`` entries exist.

Head input layouts (the ``input_layout`` attribute): ``BD`` pooled features; ``BD*`` pooled or dense
``[B, D, *S]``; ``BND`` N per-frame/per-clip features of a tuple; ``BD+BD`` two inputs (vision, audio);
``BRDHW+BDHW`` reference frames' and target frame's dense features.
"""

from vidssl.models.heads import av_fusion, classification, colorization, order, projection
from vidssl.models.heads.av_fusion import AVFusionHead
from vidssl.models.heads.classification import ClassificationHead
from vidssl.models.heads.colorization import ColorizationHead, attention_logits, copy_labels, flatten_pixels
from vidssl.models.heads.order import OrderHead, VCOPHead, clip_order_permutations
from vidssl.models.heads.projection import EmbeddingHead, ProjectionHead, projection_mlp

__all__ = [
    "AVFusionHead",
    "ClassificationHead",
    "ColorizationHead",
    "EmbeddingHead",
    "OrderHead",
    "ProjectionHead",
    "VCOPHead",
    "attention_logits",
    "av_fusion",
    "classification",
    "clip_order_permutations",
    "colorization",
    "copy_labels",
    "flatten_pixels",
    "order",
    "projection",
    "projection_mlp",
]
