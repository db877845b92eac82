"""Run a benchmark and write its report.

Examples:
  vidssl bench quality --quick --out bench_quick      # the quality benchmark, tiny preset (< 10 min)
  vidssl bench quality --out bench_full                # full preset (about an hour on 2 CPU cores)

``quality`` runs ``benchmarks/quality.py`` of this checkout (same options): a synthetic corpus, every registered
pretext task plus scratch and supervised baselines, linear-probe and fine-tune accuracy at K labels per class over
seeds, label-propagation J&F, held-out pretext metrics with their controls; it writes OUT/results.md,
OUT/results.json (with "targets") and OUT/plots/.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HELP = "run a benchmark (quality) and write its report"
BENCHMARKS = {"quality": "quality.py"}


def _benchmark_module(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` of the checkout this package lives in (benchmarks/ is not a package)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / BENCHMARKS[name]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: `vidssl bench` needs a source checkout (pip install -e .)")
    spec = importlib.util.spec_from_file_location(f"vidssl_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``vidssl bench NAME [options]``; the options are the benchmark script's own."""
    sub = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
    q = sub.add_parser("quality", help="what each pretext task buys downstream (issue 7)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _benchmark_module("quality").add_arguments(q)


def main(args: argparse.Namespace) -> int:
    """Run the chosen benchmark; its exit status (3: a reused run folder does not match, nothing reported)."""
    import shlex

    module = _benchmark_module(args.benchmark)
    return int(module.run(args, shlex.join(["vidssl", *sys.argv[1:]])) or 0)
