"""Meters for the inner loop: smoothed values, throughput and data-wait fraction, shown in a tqdm bar.

torchvision's reference ``MetricLogger.log_every`` (STYLE.md §6) times each iteration and how long the loop waited
for data; here the same two numbers drive a progress bar and the epoch summary::

    meters = MetricLogger(total=len(loader), desc="epoch 3/10")
    for batch in meters.iterate(loader):
        ...
        meters.update(clips=batch_size * world_size, loss=loss)
    meters.summary()   # {"loss": ..., "clips_per_s": ..., "data_wait": 0.12, "time_s": ...}

A data-wait fraction near 1 means the GPU/CPU waits on decoding: raise ``data.num_workers`` or transcode the videos.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

__all__ = ["MetricLogger", "SmoothedValue"]

B = TypeVar("B")


class SmoothedValue:
    """A value tracked over a sliding window (for display) and over everything seen (for the epoch average).

    Args:
        window: values kept for the smoothed median.
    """

    def __init__(self, window: int = 20) -> None:
        self.recent: deque[float] = deque(maxlen=window)
        self.total = 0.0
        self.count = 0.0

    def update(self, value: float, n: float = 1.0) -> None:
        """Add ``value`` observed over ``n`` examples (``n`` weights the global average)."""
        self.recent.append(float(value))
        self.total += float(value) * n
        self.count += n

    @property
    def median(self) -> float:
        """Median of the window (robust to one slow or odd batch)."""
        if not self.recent:
            return math.nan
        s = sorted(self.recent)
        return s[len(s) // 2]

    @property
    def global_avg(self) -> float:
        """Weighted mean of everything seen."""
        return self.total / self.count if self.count else math.nan


class MetricLogger:
    """Times iterations, accumulates meters and draws a progress bar.

    Args:
        total: iterations expected (for the bar and ETA).
        desc: bar label (``"epoch 3/10"``).
        enabled: draw the bar (rank 0 with ``run.progress``); meters work either way.
        window: smoothing window.
    """

    def __init__(self, total: int, desc: str = "", *, enabled: bool = True, window: int = 20) -> None:
        self.total, self.desc, self.enabled, self.window = total, desc, enabled, window
        self.meters: dict[str, SmoothedValue] = {}
        self.data_time = 0.0
        self.iter_time = 0.0
        self.clips = 0
        self.iterations = 0
        self._bar: tqdm | None = None
        self._clip_times: deque[tuple[float, float]] = deque(maxlen=window)
        self._pending_clips = 0

    def iterate(self, iterable: Iterable[B]) -> Iterator[B]:
        """Yield items of ``iterable``, timing the wait for each item and the whole iteration."""
        # Redirected to a file, every refresh is a new line: refresh less often there.
        interval = 0.1 if sys.stderr.isatty() else 5.0
        self._bar = tqdm(total=self.total, desc=self.desc, disable=not self.enabled, dynamic_ncols=True, leave=True,
                         mininterval=interval)
        it = iter(iterable)
        try:
            while True:
                t0 = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                t1 = time.perf_counter()
                yield item
                t2 = time.perf_counter()
                self.data_time += t1 - t0
                self.iter_time += t2 - t0
                self.iterations += 1
                self._clip_times.append((self._pending_clips, t2 - t0))
                self._pending_clips = 0
                self._bar.update(1)
        finally:
            self._bar.set_postfix_str(self._postfix(final=True), refresh=True)
            self._bar.close()

    def update(self, clips: int = 0, **values: float) -> None:
        """Record this iteration's values; ``clips`` counts examples over all processes (for clips/s)."""
        self.clips += clips
        self._pending_clips += clips
        for k, v in values.items():
            self.meters.setdefault(k, SmoothedValue(self.window)).update(float(v), n=max(clips, 1))
        if self._bar is not None and self.enabled:
            self._bar.set_postfix_str(self._postfix(), refresh=False)

    def _postfix(self, final: bool = False) -> str:
        parts = []
        for k, m in list(self.meters.items())[:4]:
            parts.append(f"{k}={(m.global_avg if final else m.median):.4g}")
        parts.append(f"clips/s={self.throughput(recent=not final):.1f}")
        parts.append(f"data={100 * self.data_wait:.0f}%")
        return " ".join(parts)

    def throughput(self, recent: bool = False) -> float:
        """Examples per second, over the window or the whole epoch."""
        if recent and self._clip_times:
            n = sum(c for c, _ in self._clip_times)
            t = sum(t for _, t in self._clip_times)
        else:
            n, t = self.clips, self.iter_time
        return n / t if t > 0 else 0.0

    @property
    def data_wait(self) -> float:
        """Fraction of loop time spent waiting for the next batch."""
        return self.data_time / self.iter_time if self.iter_time > 0 else 0.0

    def smoothed(self) -> dict[str, float]:
        """Window medians of every meter (for step logs)."""
        return {k: m.median for k, m in self.meters.items()}

    def summary(self) -> dict[str, Any]:
        """Epoch averages plus ``clips_per_s``, ``data_wait`` and ``time_s``."""
        out: dict[str, Any] = {k: m.global_avg for k, m in self.meters.items()}
        out.update(clips_per_s=self.throughput(), data_wait=self.data_wait, time_s=self.iter_time)
        return out
