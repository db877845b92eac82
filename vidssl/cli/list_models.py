"""List registered backbones and heads: name, kind, input layout, feature width, strides, parameter count.

Models are built on the meta device, so listing is instant and allocates no memory. PATTERN is a shell glob
(``vidssl list-models 'resnet*'``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from vidssl.models import describe, list_models

HELP = "list registered backbones and heads"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``PATTERN``, ``--kind`` and ``--json``."""
    parser.add_argument("pattern", nargs="?", default="*", metavar="PATTERN", help="shell glob on names (default: *)")
    parser.add_argument("--kind", choices=("backbone", "head"), default=None, help="only backbones or only heads")
    parser.add_argument("--json", action="store_true", help="print one JSON object per model instead of a table")


def _params(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned plain-text table (numbers right-aligned)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {"features", "stride (t, s)", "params"}
    lines = []
    for row in [header, *rows]:
        cells = [c.rjust(w) if h in numeric else c.ljust(w) for c, w, h in zip(row, widths, header)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Print the table (or JSON lines); exit code 1 when nothing matches."""
    names = list_models(args.pattern, kind=args.kind)
    if not names:
        print(f"no model matches {args.pattern!r}; `vidssl list-models` shows all", file=sys.stderr)
        return 1
    cards = sorted((describe(n) for n in names), key=lambda c: (c.kind, c.name))  # backbones first
    if args.json:
        for card in cards:
            print(json.dumps(asdict(card)))
        return 0
    header = ["name", "kind", "layout", "features", "stride (t, s)", "params", "description"]
    rows = [
        [
            c.name,
            c.kind,
            c.input_layout,
            "-" if c.num_features is None else str(c.num_features),
            "-" if c.spatial_stride is None else f"{c.temporal_stride}, {c.spatial_stride}",
            _params(c.num_params),
            c.summary,
        ]
        for c in cards
    ]
    print(format_table(rows, header))
    return 0
