"""Losses: pure functions returning ``(loss, diagnostics)``, each checked against a loop-based reference.

| function | paper | used by |
|---|---|---|
| :func:`order_loss` | Shuffle and Learn (arXiv:1603.08561), VCOP | order verification / clip order |
| :func:`triplet_ranking_loss` | Wang & Gupta (arXiv:1505.00687) | tracking triplets |
| :func:`colorization_loss` | Vondrick et al. (arXiv:1806.09594) | colourisation propagation |
| :func:`avc_loss` | L3 (arXiv:1705.08168) | audio-visual correspondence |
"""

from vidssl.losses.avc import avc_loss
from vidssl.losses.classification import balanced_accuracy, cross_entropy_with_diagnostics
from vidssl.losses.colorization import colorization_loss
from vidssl.losses.order import order_loss
from vidssl.losses.triplet import (
    NegativeSelection,
    mine_negatives,
    triplet_ranking_loss,
    triplet_ranking_loss_from_selection,
)

__all__ = [
    "NegativeSelection",
    "avc_loss",
    "balanced_accuracy",
    "colorization_loss",
    "cross_entropy_with_diagnostics",
    "mine_negatives",
    "order_loss",
    "triplet_ranking_loss",
    "triplet_ranking_loss_from_selection",
]
