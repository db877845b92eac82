"""Corpus statistics of a manifest: a text table and a PNG (durations, resolutions, fps, codecs, audio, failures).

Measured columns are summarised over ``ok`` rows; failures are counted by status with an example reason each, so
one look says what the corpus holds and what is broken. The PNG holds six panels: duration and fps histograms,
displayed resolutions (scatter), codecs, audio presence and statuses.

Examples:
  vidssl-data stats manifest.csv                         # prints the table, writes manifest.stats.png
  vidssl-data stats manifest.csv --png report.png --json report.json
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_tools.atomic import atomic_write_bytes, atomic_write_json
from data_tools.options import UsageError
from vidssl.data.manifest import read_manifest

HELP = "corpus statistics: a text table and a PNG"
_TOP = 8  # values listed per categorical column


@dataclass
class CorpusStats:
    """What ``stats`` reports (also written with ``--json``).

    Attributes:
        videos: rows in the manifest.
        ok: rows with status ``ok``.
        hours: total duration of ``ok`` rows.
        duration: min / median / mean / max seconds over ``ok`` rows.
        frames: total decoded frames of ``ok`` rows.
        fps: most common frame rates (rounded to 0.01).
        resolutions: most common displayed ``WxH``.
        codecs: video codecs.
        pix_fmts: pixel formats.
        audio: rows with / without audio.
        vfr: rows with variable frame rate.
        rotated: rows with rotation metadata.
        labels: distinct labels; ``splits``: rows per split.
        statuses: rows per status; ``reasons``: one example reason per failing status.
        size_gb: total bytes of ``ok`` rows / 1e9.
    """

    videos: int = 0
    ok: int = 0
    hours: float = 0.0
    duration: dict[str, float] = field(default_factory=dict)
    frames: int = 0
    fps: dict[str, int] = field(default_factory=dict)
    resolutions: dict[str, int] = field(default_factory=dict)
    codecs: dict[str, int] = field(default_factory=dict)
    pix_fmts: dict[str, int] = field(default_factory=dict)
    audio: dict[str, int] = field(default_factory=dict)
    vfr: int = 0
    rotated: int = 0
    labels: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    size_gb: float = 0.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the stats options to ``parser``."""
    parser.add_argument("manifest", metavar="MANIFEST", help="manifest (.csv or .parquet)")
    parser.add_argument("--png", default=None, help="figure to write (default: MANIFEST with .stats.png)")
    parser.add_argument("--no-png", action="store_true", help="text only (no matplotlib needed)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the numbers as JSON")


def _top(values: pd.Series) -> dict[str, int]:
    counts = Counter(str(v) for v in values if str(v) != "")
    return dict(counts.most_common(_TOP))


def compute_stats(df: pd.DataFrame) -> CorpusStats:
    """Summarise a manifest (see :class:`CorpusStats`)."""
    ok = df[df["status"].astype(str) == "ok"]
    dur = ok["duration"].astype(float).to_numpy()
    statuses = Counter(df["status"].astype(str))
    reasons = {s: str(df.loc[df["status"] == s, "reason"].iloc[0]) for s in statuses if s != "ok"}
    return CorpusStats(
        videos=len(df), ok=len(ok), hours=round(float(dur.sum()) / 3600, 4),
        duration={k: round(float(f(dur)), 3) for k, f in
                  (("min", np.min), ("median", np.median), ("mean", np.mean), ("max", np.max))} if len(dur) else {},
        frames=int(ok["num_frames"].sum()),
        fps=_top(ok["fps"].astype(float).round(2)),
        resolutions=_top(ok["width"].astype(str) + "x" + ok["height"].astype(str)),
        codecs=_top(ok["codec"]), pix_fmts=_top(ok["pix_fmt"]),
        audio={"with audio": int(ok["has_audio"].sum()), "without": int((~ok["has_audio"].astype(bool)).sum())},
        vfr=int(ok["is_vfr"].sum()), rotated=int((ok["rotation"] != 0).sum()),
        labels=int(df.loc[df["label"].astype(str) != "", "label"].nunique()),
        splits={(k or "(none)"): int(v) for k, v in Counter(df["split"].astype(str)).most_common()},
        statuses=dict(statuses.most_common()), reasons=reasons,
        size_gb=round(float(ok["size_bytes"].sum()) / 1e9, 4),
    )


def format_table(stats: CorpusStats) -> str:
    """The text table ``stats`` prints."""

    def counts(d: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v}" for k, v in d.items()) or "-"

    d = stats.duration
    rows = [
        ("videos", f"{stats.videos} ({stats.ok} ok)"),
        ("total", f"{stats.hours:.2f} h, {stats.frames} frames, {stats.size_gb:.3f} GB"),
        ("duration s", f"min {d['min']:.2f}, median {d['median']:.2f}, mean {d['mean']:.2f}, max {d['max']:.2f}"
         if d else "-"),
        ("fps", counts(stats.fps)),
        ("resolution", counts(stats.resolutions)),
        ("codec", counts(stats.codecs)),
        ("pix_fmt", counts(stats.pix_fmts)),
        ("audio", counts(stats.audio)),
        ("vfr / rotated", f"{stats.vfr} / {stats.rotated}"),
        ("labels", str(stats.labels)),
        ("splits", counts(stats.splits)),
        ("status", counts(stats.statuses)),
    ]
    rows += [(f"  {s}", r[:100]) for s, r in stats.reasons.items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def plot_stats(df: pd.DataFrame, stats: CorpusStats, title: str) -> bytes:
    """The six-panel PNG as bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[df["status"].astype(str) == "ok"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    ax = axes[0, 0]
    ax.hist(ok["duration"].astype(float), bins=30, color="tab:blue")
    ax.set(title="duration (s)", ylabel="videos")
    ax = axes[0, 1]
    ax.scatter(ok["width"], ok["height"], s=10, alpha=0.5)
    ax.set(title="displayed resolution", xlabel="width", ylabel="height")
    ax = axes[0, 2]
    ax.hist(ok["fps"].astype(float), bins=30, color="tab:green")
    ax.set(title="fps", ylabel="videos")
    for ax, (name, counts) in zip(axes[1], (("codec", stats.codecs), ("audio", stats.audio),
                                            ("status", stats.statuses)), strict=True):
        colors = ["tab:red" if name == "status" and k != "ok" else "tab:gray" for k in counts]
        ax.bar(list(counts), list(counts.values()), color=colors)
        ax.set(title=name, ylabel="videos")
        ax.tick_params(axis="x", labelrotation=30)
    fig.suptitle(f"{title}: {stats.videos} videos, {stats.ok} ok, {stats.hours:.2f} h")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    """Print the table and write the figure; returns the exit code (0: a report, failures in the corpus included)."""
    start = time.monotonic()
    try:
        df = read_manifest(args.manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    stats = compute_stats(df)
    print(format_table(stats))
    written = []
    if not args.no_png:
        png = Path(args.png) if args.png else Path(args.manifest).with_suffix(".stats.png")
        atomic_write_bytes(png, plot_stats(df, stats, Path(args.manifest).name))
        written.append(str(png))
    if args.json:
        atomic_write_json(args.json, asdict(stats))
        written.append(args.json)
    failed = stats.videos - stats.ok
    print(f"stats: {stats.videos} videos, {stats.ok} ok, {failed} failed, {stats.hours:.2f} h in "
          f"{time.monotonic() - start:.1f} s" + (f" -> {', '.join(written)}" if written else ""))
    return 0


def main(args: argparse.Namespace) -> int:
    """Entry point for ``vidssl-data stats``."""
    try:
        return run(args)
    except UsageError as exc:
        print(f"stats: {exc}", file=sys.stderr)
        return 2
