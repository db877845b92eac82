"""vidssl: video self-supervised learning.

Fast frame-accurate clip loading (``vidssl.data``), temporal pretext tasks (``vidssl.tasks``), backbones and heads
(``vidssl.models``), training (``vidssl.train``) and evaluation (``vidssl.eval``). See README.md and ARCHITECTURE.md.
"""

__version__ = "0.1.0"
