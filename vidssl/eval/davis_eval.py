"""Run label propagation for several feature sources over DAVIS-layout sequences, score, and write everything.

What :func:`run_davis_evaluation` writes under ``out_dir``::

    predictions/<method>/<seq>/<frame>.png   indexed PNGs at original resolution, DAVIS palette (official format)
    overlays/<seq>.png                       ground truth and every method over 6 frames spread over the video
    overlays/<seq>_<method>.gif              the propagated masks over the whole video (optional)
    metrics.json                             J, F, J&F (mean, recall, decay) per method: global, per sequence,
                                             per object; seconds per method; the propagation settings

A method is a :class:`~vidssl.eval.propagation_features.FeatureExtractor`, or ``None`` for the identity baseline
(the first mask copied to every frame: PAPERS.md §3.1 table, 22.9 J&F on DAVIS-2017 val).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from vidssl.data.datasets.davis import DavisSequence, write_indexed_png
from vidssl.eval.davis_metrics import DavisSummary, ObjectScores, evaluate_sequence, summarize
from vidssl.eval.label_propagation import PropagationConfig, segment_video
from vidssl.eval.overlays import comparison_sheet, write_gif
from vidssl.eval.propagation_features import FeatureExtractor

__all__ = ["DavisReport", "json_ready", "predict_sequence", "run_davis_evaluation"]


@dataclass
class DavisReport:
    """Scores of every method.

    Attributes:
        summaries: method → :class:`~vidssl.eval.davis_metrics.DavisSummary` over all objects of all sequences.
        seconds: method → wall-clock seconds spent predicting (feature extraction + propagation).
        frames: method → frames predicted.
        config: the propagation settings used.
        out_dir: where the files were written.
    """

    summaries: dict[str, DavisSummary]
    seconds: dict[str, float]
    frames: dict[str, int]
    config: PropagationConfig
    out_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the content of ``metrics.json``)."""
        return {
            "config": asdict(self.config),
            "methods": {
                name: {**s.to_dict(), "seconds": round(self.seconds[name], 3), "frames": self.frames[name]}
                for name, s in self.summaries.items()
            },
            **self.extra,
        }


def predict_sequence(
    seq: DavisSequence,
    frames: np.ndarray,
    extractor: FeatureExtractor | None,
    config: PropagationConfig,
    *,
    batch: int = 4,
    progress: bool = False,
) -> np.ndarray:
    """Predict ``uint8 [T, H, W]`` object ids for every frame from the first annotated frame's mask.

    Frames before the first annotation are background; ``extractor=None`` copies the reference mask (identity).
    """
    ref_t = seq.first_annotated
    ref = seq.read_mask(ref_t)
    ids = seq.object_ids
    ref = np.where(np.isin(ref, ids), ref, 0).astype(np.uint8)
    out = np.zeros(frames.shape[:3], dtype=np.uint8)
    if extractor is None:
        out[ref_t:] = ref
        return out
    clip = torch.from_numpy(np.ascontiguousarray(frames[ref_t:])).permute(0, 3, 1, 2)
    pred = segment_video(clip, torch.from_numpy(ref), ids, extractor, config, batch=batch, progress=progress,
                         desc=f"{seq.name}:{getattr(extractor, 'name', '')}")  # fmt: skip
    out[ref_t:] = pred.numpy()
    return out


def run_davis_evaluation(
    sequences: Sequence[DavisSequence],
    methods: Mapping[str, FeatureExtractor | None],
    config: PropagationConfig,
    out_dir: str | Path,
    *,
    batch: int = 4,
    gifs: bool = True,
    write_predictions: bool = True,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> DavisReport:
    """Propagate, score and visualise every method on every sequence.

    Args:
        sequences: DAVIS-layout sequences (:func:`vidssl.data.datasets.davis.find_sequences`).
        methods: table name → feature extractor, or ``None`` for the identity baseline.
        config: propagation settings shared by all methods.
        out_dir: output folder (layout in the module docstring).
        batch: frames per feature-extractor call (lower it if memory is short at 480p).
        gifs: also write one animated GIF per sequence and method.
        write_predictions: write the indexed PNG predictions.
        progress: progress bars.
        log: called with one line per sequence and method (e.g. ``print``).

    Returns:
        The :class:`DavisReport`; ``metrics.json`` is written too.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scores: dict[str, list[ObjectScores]] = {m: [] for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    counts = dict.fromkeys(methods, 0)
    bar = tqdm(total=len(sequences) * len(methods), desc="track", unit="run", disable=not progress)
    for seq in sequences:
        frames = seq.read_frames()
        gt = seq.read_annotations()
        rows: dict[str, np.ndarray] = {"ground truth": _dense(gt, frames.shape[:3])}
        seq_scores: dict[str, float] = {}
        for name, extractor in methods.items():
            start = time.perf_counter()
            pred = predict_sequence(seq, frames, extractor, config, batch=batch, progress=progress)
            seconds[name] += time.perf_counter() - start
            counts[name] += seq.num_frames - seq.first_annotated
            objects = evaluate_sequence(seq.name, gt, pred, num_frames=seq.num_frames, object_ids=seq.object_ids)
            scores[name] += objects
            seq_scores[name] = summarize(objects).scores["J&F-Mean"]
            rows[name] = pred
            if write_predictions:
                folder = out_dir / "predictions" / name / seq.name
                for t, path in enumerate(seq.frame_paths):
                    write_indexed_png(folder / f"{path.stem}.png", pred[t], seq.palette)
            if gifs:
                write_gif(out_dir / "overlays" / f"{seq.name}_{name}.gif", frames, pred, seq.palette)
            if log:
                log(f"{seq.name:<20} {name:<24} J&F {seq_scores[name]:.3f}  ({time.perf_counter() - start:.1f} s)")
            bar.update(1)
        comparison_sheet(out_dir / "overlays" / f"{seq.name}.png", frames, rows, seq.palette, scores=seq_scores,
                         title=f"{seq.name}: {seq.num_frames} frames, objects {list(seq.object_ids)}")  # fmt: skip
    bar.close()
    report = DavisReport({m: summarize(s) for m, s in scores.items()}, seconds, counts, config, out_dir)
    (out_dir / "metrics.json").write_text(json.dumps(json_ready(report.to_dict()), indent=2) + "\n")
    return report


def _dense(annotations: Mapping[int, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.uint8)
    for t, m in annotations.items():
        out[t] = m
    return out


def json_ready(value: Any) -> Any:
    """Plain JSON: numpy scalars to Python, NaN (e.g. no scored frame) to ``null``, paths to strings."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return str(value) if isinstance(value, Path) else value
