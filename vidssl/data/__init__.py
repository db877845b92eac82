"""Video data: readers (``decode``), planners, datasets, transforms and audio features.

``open_video`` and ``probe_video`` are imported on first use so that planning-only code never loads a decoder.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VideoReadError", "open_video", "probe_video"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vidssl.data import decode

        return getattr(decode, name)
    raise AttributeError(f"module 'vidssl.data' has no attribute {name!r}")
