"""Tracking evaluation: label propagation on DAVIS-layout folders scored with the official J&F, or a SiamFC head.

Label propagation (default)::

    vidssl track --davis-root DAVIS --out OUT [--checkpoint RUN_DIR] [--sequences a,b] [key=value ...]

runs the CRW protocol (PAPERS.md §3.4) with every feature source: ``identity`` (first mask copied), ``lab`` (raw
Lab pixels at the feature stride), ``random`` (randomly initialised backbone) and ``checkpoint`` (the run's backbone),
then writes indexed PNG predictions, overlays and ``OUT/metrics.json``, and prints a table. ``key=value`` overrides
the propagation settings (``topk=5 radius=6 n_context=7 temperature=0.07 topk_scope=per_frame feedback=hard``).

Tracking head::

    vidssl track --boxes-root SYNTH_CORPUS --out OUT [--checkpoint RUN_DIR] [key=value ...]

trains a SiamFC head on the corpus's train-split boxes on top of a scratch backbone (and the checkpoint's backbone
when given), evaluates mean IoU and success AUC on the test split against a static-box baseline, and writes
``OUT/head_metrics.json`` and ``OUT/success.png``. ``key=value`` overrides the head settings (``steps=600``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import typing
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

HELP = "label propagation on DAVIS-layout folders scored with J&F, or a trainable SiamFC tracking head"
METHODS = ("identity", "lab", "random", "checkpoint")
_EPILOG = """propagation settings (key=value; defaults = --preset):
  n_context=20      previous frames in the context; more bridges occlusions, costs linearly
  topk=10           context nodes kept per query; lower = sharper masks, 0 = all
  topk_scope=joint  joint (CRW) or per_frame (UVC: top-k per reference, predictions averaged)
  radius=12         locality in feature cells for the previous frames; raise for fast motion, 0 = none
  temperature=0.05  softmax temperature; ~0.05 for L2-normalised features, 1.0 for the uvc/corrflow presets
  feedback=soft     soft (CRW) or hard (CorrFlow argmax) labels fed back
  long_term=true    keep the first frame in every context; pad_with_first=true: CRW's front padding
  tile=8            query tile side in cells; larger = more memory, less overhead
head settings (key=value, with --boxes-root):
  steps=300 batch_size=16 lr=0.003 finetune_backbone=false exemplar_size=32 search_size=64 max_gap=6
  (raise steps and the corpus size for better heads; search_size bigger for faster motion)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the track options."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples in the description readable
    parser.epilog = _EPILOG
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--davis-root", metavar="DIR", help="DAVIS-layout folder (JPEGImages/ + Annotations/)")
    src.add_argument("--boxes-root", metavar="DIR", help="synthetic corpus (vidssl-data synth): train the SiamFC head")
    parser.add_argument("--out", required=True, metavar="OUT", help="output folder (created)")
    parser.add_argument("--checkpoint", metavar="RUN_DIR", help="training run folder (or checkpoint.pt) to evaluate")
    parser.add_argument("--sequences", metavar="A,B", help="comma-separated sequence names (default: all)")
    parser.add_argument("--resolution", default="480p", help="DAVIS resolution folder when present (default: 480p)")
    parser.add_argument(
        "--methods", default=",".join(METHODS),
        help="comma-separated subset of identity,lab,random,checkpoint (checkpoint needs --checkpoint)",
    )  # fmt: skip
    parser.add_argument(
        "--preset", default="auto", choices=("auto", "crw", "tiny", "uvc", "corrflow"),
        help="propagation protocol (auto: tiny for frames <= 128 px, else crw = CRW's DAVIS settings)",
    )  # fmt: skip
    parser.add_argument(
        "--backbone", default=None,
        help="architecture of the random-init baseline (default: the checkpoint's, else resnet18_s8 for DAVIS-size "
        "frames and tiny_cnn2d for <= 128 px; `vidssl list-models --kind backbone`)",
    )  # fmt: skip
    parser.add_argument(
        "--keep-layer4", action="store_true",
        help="ResNets: keep layer4 (default drops it, as CRW's test encoder: stride-8 res3 features)",
    )  # fmt: skip
    parser.add_argument(
        "--output-stride", type=int, default=0, choices=(0, 4, 8, 16),
        help="feature stride of the backbones and the Lab baseline (0 = auto: 4 for frames <= 128 px so 64x64 "
        "frames give 16x16 maps and small objects survive, 8 otherwise as CRW); tiny_cnn2d and ResNets only",
    )  # fmt: skip
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--batch", type=int, default=4, help="frames per feature batch; lower it if memory is short")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random-init backbone and the head")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    parser.add_argument("--no-gif", action="store_true", help="skip the animated GIFs (faster on many sequences)")
    parser.add_argument("--no-predictions", action="store_true", help="skip writing the indexed PNG predictions")
    parser.add_argument("--train-videos", type=int, default=None, help="head: cap on training videos")
    parser.add_argument("--test-videos", type=int, default=None, help="head: cap on test videos")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="protocol or head settings to change")


def _parse_value(text: str, kind: Any, key: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key}: expected true/false, got {text!r}")
    if kind in (int, float):
        return kind(text)
    if origin is tuple:
        return tuple(float(x) for x in text.split(",") if x)
    if origin is typing.Literal:
        if text not in typing.get_args(kind):
            raise ValueError(f"{key}: choose from {typing.get_args(kind)}, got {text!r}")
        return text
    return text


def parse_overrides(items: list[str], cls: type) -> dict[str, Any]:
    """``["topk=5", ...]`` → typed kwargs for dataclass ``cls``; unknown keys and bad values raise ``ValueError``."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        if key not in known:
            raise ValueError(f"unknown setting {key!r}; valid: {', '.join(sorted(known))}")
        out[key] = _parse_value(value, hints[key], key)
    return out


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    head = "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(header, widths)))
    return "\n".join([head, "  ".join("-" * w for w in widths), *lines])


def _backbone_kwargs(name: str, keep_layer4: bool) -> dict[str, Any]:
    return {"drop_layer4": True} if name.startswith("resnet") and not keep_layer4 else {}


def _stride_kwargs(name: str, stride: int) -> dict[str, Any]:
    """``output_stride`` for builders that take it (only strides change, weights fit); ResNets go down to 8."""
    if name.startswith("tiny_cnn2d"):
        return {"output_stride": stride}
    if name.startswith("resnet"):
        return {"output_stride": max(stride, 8)}
    return {}


def _run_davis(args: argparse.Namespace, methods: list[str]) -> int:
    from vidssl.data.datasets.davis import find_sequences
    from vidssl.eval.davis_eval import run_davis_evaluation
    from vidssl.eval.label_propagation import PRESETS, PropagationConfig
    from vidssl.eval.propagation_features import LabFeatures, load_run_backbone, random_backbone, run_model_name

    names = [s for s in args.sequences.split(",") if s] if args.sequences else None
    seqs = find_sequences(args.davis_root, resolution=args.resolution, sequences=names)
    if not seqs:
        print(f"track: no annotated sequences under {args.davis_root}", file=sys.stderr)
        return 1
    small = min(seqs[0].size) <= 128
    preset = args.preset if args.preset != "auto" else ("tiny" if small else "crw")
    config = PRESETS[preset].with_overrides(**parse_overrides(args.overrides, PropagationConfig))
    stride = args.output_stride or (4 if small else 8)
    run = None
    if args.checkpoint:
        dense = _stride_kwargs(run_model_name(args.checkpoint), stride)
        run = load_run_backbone(args.checkpoint, res3_if_resnet=not args.keep_layer4, **dense)
    arch = args.backbone or (run.name if run else ("tiny_cnn2d" if small else "resnet18_s8"))
    if run and arch == run.name:
        arch_kwargs = dict(run.kwargs)
    else:
        arch_kwargs = {**_backbone_kwargs(arch, args.keep_layer4), **_stride_kwargs(arch, stride)}
    extractors: dict[str, Any] = {}
    for m in methods:
        if m == "identity":
            extractors[m] = None
        elif m == "lab":
            extractors[m] = LabFeatures(stride=stride, device=args.device)  # same grid as the backbones
        elif m == "random":
            extractors[f"random-{arch}"] = random_backbone(arch, seed=args.seed, device=args.device, **arch_kwargs)
        elif m == "checkpoint" and run is not None:
            extractors[m] = run.features(device=args.device)
    print(f"track: {len(seqs)} sequences, methods {', '.join(extractors)}, preset {preset}: {asdict(config)}")
    start = time.perf_counter()
    report = run_davis_evaluation(
        seqs, extractors, config, args.out, batch=args.batch, gifs=not args.no_gif,
        write_predictions=not args.no_predictions, progress=not args.quiet, log=print,
    )  # fmt: skip
    keys = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
    rows = []
    for name, summary in report.summaries.items():
        per_frame = report.seconds[name] / max(report.frames[name], 1)
        rows.append([name] + [f"{summary.scores[k]:.3f}" for k in keys] + [f"{per_frame:.3f}"])
    header = ["method", "J&F", *keys[1:], "s/frame"]
    print(_table(rows, header))
    best = max(report.summaries, key=lambda n: report.summaries[n].scores["J&F-Mean"])
    objects = next(iter(report.summaries.values())).num_objects
    jf = report.summaries[best].scores["J&F-Mean"]
    print(f"track: {len(seqs)} sequences, {objects} objects in {time.perf_counter() - start:.0f} s; best J&F "
          f"{jf:.3f} ({best}); wrote {Path(args.out) / 'metrics.json'}")  # fmt: skip
    return 0


def _run_head(args: argparse.Namespace) -> int:
    import numpy as np

    from vidssl.eval.box_tracking_metrics import evaluate_tracks, static_tracker
    from vidssl.eval.davis_eval import json_ready
    from vidssl.eval.overlays import box_sheet, plot_success
    from vidssl.eval.propagation_features import load_run_backbone
    from vidssl.eval.tracking_data import load_synth_tracks
    from vidssl.eval.tracking_head import HeadConfig, evaluate_tracking, train_tracking_head
    from vidssl.models import create_backbone

    config = HeadConfig(**parse_overrides(args.overrides, HeadConfig))
    train = load_synth_tracks(args.boxes_root, "train", max_videos=args.train_videos)
    test = load_synth_tracks(args.boxes_root, "test", max_videos=args.test_videos)
    if not train or not test:
        print(f"track: no train or test tracks in {args.boxes_root}", file=sys.stderr)
        return 1
    run = load_run_backbone(args.checkpoint) if args.checkpoint else None
    arch = run.name if run else (args.backbone or "tiny_cnn2d")
    kwargs = dict(run.kwargs) if run else {}
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        scratch = create_backbone(arch, **kwargs)
    candidates = {f"scratch-{arch}": (scratch, None)}
    if run:
        candidates["checkpoint"] = (run.backbone, run)
    print(f"track: head on {len(train)} train / {len(test)} test tracks, {asdict(config)}")
    results: dict[str, Any] = {}
    curves = {}
    gt = {t.name: t.boxes for t in test}
    static = evaluate_tracks({t.name: static_tracker(len(t.frames), t.boxes[0]) for t in test}, gt)
    results["static"] = {"scores": static.to_dict()}
    shown = test[:4]  # example tracks drawn in head_examples.png
    drawn: dict[str, dict[str, np.ndarray]] = {t.name: {"truth": t.boxes} for t in shown}
    curves["static"] = (np.linspace(0, 1, 21), static.success)
    for name, (backbone, r) in candidates.items():
        norm = {"mean": r.mean, "std": r.std} if r else {}
        start = time.perf_counter()
        trained = train_tracking_head(backbone, train, config, device=args.device, progress=not args.quiet,
                                      desc=name, **norm)  # fmt: skip
        scores, boxes = evaluate_tracking(trained.model, test, config, progress=not args.quiet)
        for t in shown:
            drawn[t.name][name] = boxes[t.name]
        results[name] = {"scores": scores.to_dict(), "losses": trained.losses[:: max(1, config.steps // 100)],
                         "seconds": time.perf_counter() - start}  # fmt: skip
        curves[name] = (np.linspace(0, 1, 21), scores.success)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "head_metrics.json").write_text(json.dumps(json_ready({"config": asdict(config), **results}), indent=2))
    plot_success(out / "success.png", curves, title=f"SiamFC head, {len(test)} test tracks")
    box_sheet(out / "head_examples.png", {t.name: t.frames for t in shown}, drawn)
    rows = [[n, f"{v['scores']['mean_iou']:.3f}", f"{v['scores']['auc']:.3f}"] for n, v in results.items()]
    print(_table(rows, ["tracker", "mean IoU", "success AUC"]))
    best = max(results, key=lambda n: results[n]["scores"]["auc"])
    print(f"track: best success AUC {results[best]['scores']['auc']:.3f} ({best}); wrote {out / 'head_metrics.json'}")
    return 0


def main(args: argparse.Namespace) -> int:
    """Run propagation or the tracking head; exit code 2 on bad arguments."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        print(f"track: unknown method(s) {bad}; choose from {', '.join(METHODS)}", file=sys.stderr)
        return 2
    if "checkpoint" in methods and not args.checkpoint:
        methods.remove("checkpoint")
    try:
        return _run_head(args) if args.boxes_root else _run_davis(args, methods)
    except (ValueError, KeyError, FileNotFoundError) as err:
        print(f"track: {err}", file=sys.stderr)
        return 2
