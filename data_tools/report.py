"""The last lines a tool prints: a one-line summary, then what failed and why (capped), on stderr."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable

import pandas as pd

__all__ = ["print_failures", "status_summary", "summary_line"]

_SHOWN = 10  # failures listed by name; the rest are counted


def status_summary(statuses: Counter) -> str:
    """``"3 failed (corrupt 2, not_a_video 1)"`` or ``"0 failed"``."""
    bad = {s: n for s, n in statuses.items() if s != "ok"}
    if not bad:
        return "0 failed"
    detail = ", ".join(f"{s} {n}" for s, n in sorted(bad.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{sum(bad.values())} failed ({detail})"


def summary_line(tool: str, *, total: int, statuses: Counter, seconds: float, processed: int, resumed: int,
                 workers: int, out: str, unit: str = "videos") -> str:
    """The final summary: counts, failures by class, speed, what was resumed, and where the output went."""
    rate = processed / seconds if seconds > 0 else 0.0
    resumed_txt = f", {resumed} resumed from an earlier run" if resumed else ""
    where = f"{workers} workers" if workers > 0 else "in-process"
    return (f"{tool}: {total} {unit}, {statuses.get('ok', 0)} ok, {status_summary(statuses)}; "
            f"{processed} processed in {seconds:.1f} s ({rate:.2f}/s, {where}){resumed_txt} -> {out}")


def print_failures(tool: str, rows: pd.DataFrame | Iterable[dict], *, key: str = "path") -> None:
    """List the first failures with their status and reason on stderr."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty or "status" not in df.columns:
        return
    bad = df[df["status"] != "ok"]
    for _, row in bad.head(_SHOWN).iterrows():
        print(f"{tool}: {row.get(key, '')}: {row['status']}: {row.get('reason', '')}", file=sys.stderr)
    if len(bad) > _SHOWN:
        print(f"{tool}: ... and {len(bad) - _SHOWN} more (see the status and reason columns)", file=sys.stderr)
