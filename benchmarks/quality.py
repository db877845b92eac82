"""Quality benchmark: what each pretext task buys downstream, with controls, seeds and a results report (issue 7).

    python benchmarks/quality.py [--quick] --out DIR [--preset configs/quality/full.yaml] [--tasks a,b]
    vidssl bench quality [--quick] --out DIR ...

Stages (each timed; budgets in ``configs/quality/{quick,full}.yaml``):

1. **Corpus**: ``python -m data_tools synth DIR/corpus`` (seeded): the train split is the unlabelled pretraining pool
   and the labelled pool the label budgets draw from; val holds the held-out pretext examples; test is scored.
2. **Pretraining**: every pretext task in the registry whose module imports and exposes ``BENCHMARK`` (picked up as
   tasks land), plus ``supervised`` (all train labels: the upper bound), each ``vidssl pretrain -c <tiny recipe>`` in a
   subprocess with the same backbone and the same step budget (``run.epochs`` x ``run.max_steps_per_epoch``); wall
   and CPU seconds of each are recorded. ``scratch`` is the random-init backbone.
3. **Classification**: for every init (scratch, supervised, tasks), K labelled videos per class
   (``vidssl.train.label_budget.labels_per_class``, seed = trial seed) and each seed: a linear probe on frozen
   features (``configs/finetune/linear_probe_tiny.yaml``'s task, head and optimiser settings) and a full fine-tune
   (``configs/finetune/supervised_tiny.yaml``'s), scored as video accuracy on the test split (clip logits averaged).
   Clips are decoded once and kept in memory (uint8), so the 2 x |K| x seeds x inits trainings fit the CPU budget.
4. **Label propagation**: ``vidssl.eval.davis_eval.run_davis_evaluation`` on the test videos' masks: identity, raw
   Lab pixels, a random-init backbone and every pretrained backbone (``tiny`` preset, stride 4, as ``vidssl track``).
5. **Pretext metrics and controls**: from ``benchmarks/pretext.py`` when it offers ``quality_pretext_metrics``;
   otherwise the held-out metric is read from the pretraining run (``metrics.json["val"]``) and each control is the
   trained task evaluated on its control (``BENCHMARK.control``: a control corpus from its synth flags, or its
   overrides), against ``BENCHMARK.chance``.

Writes ``DIR/results.json`` (every number + ``targets``), ``DIR/results.md`` and ``DIR/plots/*.png``. Rerunning with
the same ``--out`` reuses finished pretraining runs, but only after checking that each run folder's recorded corpus,
recipe and code revision match the current ones; otherwise it stops with the list of differences (exit status 3)
and reports nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality_report as report  # noqa: E402
from quality_report import PLAIN_SCRATCH, RunMismatchError  # noqa: E402

PRESET_DIR = REPO / "configs" / "quality"
SUPERVISED_RECIPE = "configs/pretrain/supervised_tiny.yaml"
LINEAR_RECIPE = "configs/finetune/linear_probe_tiny.yaml"
FINETUNE_RECIPE = "configs/finetune/supervised_tiny.yaml"
EXIT_MISMATCH = 3
CODE_DIRS = ("vidssl", "data_tools", "benchmarks", "configs")
CODE_SUFFIXES = (".py", ".yaml", ".yml")


def _log(msg: str) -> None:
    print(f"[quality {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ============ preset, revision, machine ============
def load_preset(path: str | Path) -> dict[str, Any]:
    """Read a ``configs/quality/*.yaml`` preset."""
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    for section in ("corpus", "pretrain", "classification", "tracking", "pretext"):
        data.setdefault(section, {})
    return data


def code_revision() -> dict[str, Any]:
    """Commit, dirty flag and a digest of the uncommitted code: ``git diff HEAD`` plus untracked, non-ignored files.

    Untracked code files (``.py``/``.yaml`` under vidssl/, data_tools/, benchmarks/, configs/) count because new
    modules (a task being written) change results without changing the diff; outputs (run folders) do not.
    """
    from vidssl.train.run_dir import git_revision

    rev = git_revision(REPO)
    try:
        h = hashlib.sha256()
        h.update(subprocess.run(["git", "diff", "HEAD"], cwd=REPO, capture_output=True, timeout=60).stdout)
        listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "-z"], cwd=REPO,
                                capture_output=True, timeout=60).stdout  # fmt: skip
        code = [n for n in listed.decode().split("\0") if n.split("/", 1)[0] in CODE_DIRS and n.endswith(CODE_SUFFIXES)]
        for name in sorted(code):
            path = REPO / name
            if path.is_file() and path.stat().st_size < 2**20:
                h.update(name.encode() + b"\0" + path.read_bytes())
        rev["diff"] = h.hexdigest()[:16] if rev.get("dirty") or code else ""
    except (OSError, subprocess.TimeoutExpired):
        rev["diff"] = None
    return rev


def versions() -> dict[str, str]:
    """Python and library versions."""
    import numpy
    import torch

    out = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}
    try:
        from importlib.metadata import version

        out["vidssl"] = version("vidssl")
    except Exception:
        pass
    return out


def machine() -> dict[str, Any]:
    """CPU count, model, load and host name."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"host": platform.node(), "cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "cpu": model or platform.processor(), "load_1min_at_start": round(load[0], 2)}  # fmt: skip


# ============ corpus ============
# synth flag -> the SynthConfig field it sets (how a finished corpus's flags are read back from synth_config.json)
SYNTH_FLAG_FIELDS = (("--static", "static"), ("--mismatched-audio", "mismatched_audio"),
                     ("--neutral-background", "neutral_background"))


def flags_folder(flags: Sequence[str]) -> str:
    """Folder name of a corpus variant (``mismatched_audio_neutral_background``)."""
    return "_".join(f.strip("-").replace("-", "_") for f in sorted(flags))


def _synth_spec(spec: Mapping[str, Any], flags: Sequence[str] = (), videos: int | None = None) -> dict[str, Any]:
    return {"videos": int(videos or spec.get("videos", 1000)), "seed": int(spec.get("seed", 0)),
            "splits": [float(x) for x in spec.get("splits", (0.65, 0.05, 0.30))], "flags": sorted(flags)}  # fmt: skip


def ensure_corpus(path: Path, spec: Mapping[str, Any], *, workers: int = 2, quiet: bool = True) -> dict[str, Any]:
    """Generate the synthetic corpus at ``path`` (or reuse it when its ``synth_config.json`` matches ``spec``).

    Args:
        path: corpus folder.
        spec: ``{"videos", "seed", "splits", "flags"}`` (from :func:`_synth_spec`).
        workers: synth worker processes.
        quiet: no progress output.

    Raises:
        RunMismatchError: a finished corpus there was generated with other settings.
    """
    if (path / "DONE").exists():
        cfg = json.loads((path / "synth_config.json").read_text())
        have = {"videos": cfg.get("n_videos"), "seed": cfg.get("seed"), "splits": cfg.get("splits"),
                "flags": sorted(f for f, k in SYNTH_FLAG_FIELDS if cfg.get("config", {}).get(k))}  # fmt: skip
        want = {**spec, "flags": sorted(spec["flags"])}
        if have != want:
            raise RunMismatchError(f"{path} holds a corpus made with {have}, not {want}; use another --out")
    else:
        splits = ",".join(f"{x:g}" for x in spec["splits"])
        cmd = [sys.executable, "-m", "data_tools", "synth", str(path), "--videos", str(spec["videos"]), "--seed",
               str(spec["seed"]), "--splits", splits, "--workers", str(workers), "--overwrite", *spec["flags"]]
        if quiet:
            cmd.append("--quiet")
        _log("corpus: " + shlex.join(cmd))
        subprocess.run(cmd, check=True, cwd=REPO)
    done = json.loads((path / "DONE").read_text())
    return {"path": str(path), "seed": spec["seed"], "flags": spec["flags"],
            "fingerprint": report.file_digest([path / "synth_config.json", path / "manifest.csv"]),
            "counts": done.get("split_counts", {})}  # fmt: skip


# ============ tasks ============
def discover_tasks(requested: Sequence[str] | None = None) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Pretext tasks of the registry that can run now.

    Returns:
        ``(tasks, skipped, expected)``: name → ``BENCHMARK`` spec for every usable task; name → reason for the
        others (module not written yet, no ``BENCHMARK``, recipe missing, import error); all pretext names considered.
    """
    from vidssl.tasks.registry import TASKS, task_module

    names = [n for n, e in TASKS.items() if e.kind == "pretext"]
    if requested:
        unknown = [n for n in requested if n not in names]
        if unknown:
            raise SystemExit(f"quality: unknown pretext task(s) {unknown}; registered: {', '.join(names)}")
        names = list(requested)
    tasks: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            spec = getattr(task_module(name), "BENCHMARK", None)
        except Exception as err:
            skipped[name] = f"module does not import: {type(err).__name__}: {str(err).splitlines()[0][:160]}"
            continue
        if spec is None:
            skipped[name] = "module has no BENCHMARK (PretextBenchmarkSpec)"
        elif not (REPO / spec.recipe).is_file():
            skipped[name] = f"recipe {spec.recipe} is missing"
        else:
            tasks[name] = spec
    return tasks, skipped, names


# ============ pretraining ============
def pretrain_overrides(name: str, corpus: Path, run_dir: Path, settings: Mapping[str, Any]) -> list[str]:
    """The ``key=value`` overrides of one pretraining (same budget for every task)."""
    over = [
        f"data.manifest={corpus / 'manifest.csv'}",
        f"run.out_dir={run_dir}",
        f"run.epochs={int(settings.get('epochs', 4))}",
        f"run.max_steps_per_epoch={int(settings.get('max_steps_per_epoch', 40))}",
        f"run.eval_every={int(settings.get('eval_every', settings.get('epochs', 4)))}",
        f"run.seed={int(settings.get('seed', 0))}",
        f"run.threads={int(settings.get('threads', 2))}",
        f"data.num_workers={int(settings.get('num_workers', 1))}",
        f"eval.clips_per_video={int(settings.get('eval_clips_per_video', 2))}",
        "run.progress=false",
        f"run.log_every={int(settings.get('log_every', 5))}",
        "data.test_split=",  # the benchmark scores the test split itself
    ]
    over += [str(x) for x in (settings.get("overrides") or {}).get(name, [])]
    return over


def make_stamp(corpus: Path, recipe: str, overrides: Sequence[str], code: Mapping[str, Any]) -> dict[str, Any]:
    """What a run folder must record to be reused: corpus fingerprint, recipe (+ digest), overrides, code revision."""
    return {"corpus": report.file_digest([corpus / "synth_config.json", corpus / "manifest.csv"]), "recipe": recipe,
            "recipe_digest": report.file_digest([REPO / recipe]), "overrides": list(overrides),
            "code": {k: code.get(k) for k in ("commit", "dirty", "diff")}}  # fmt: skip


def _expected_config(recipe: str, overrides: Sequence[str]) -> dict[str, Any]:
    from vidssl.train.commands import prepare_config
    from vidssl.train.config import PretrainConfig, load_config
    from vidssl.train.config_schema import to_dict

    return to_dict(prepare_config(load_config(PretrainConfig, REPO / recipe, overrides)))


def run_pretraining(
    name: str, recipe: str, overrides: Sequence[str], run_dir: Path, stamp: Mapping[str, Any]
) -> dict[str, Any]:
    """Train one backbone with ``vidssl pretrain`` in a subprocess, or reuse a finished, matching run.

    Raises:
        RunMismatchError: ``run_dir`` exists but records another corpus, recipe or code revision.
        RuntimeError: training failed.
    """
    expected = _expected_config(recipe, overrides)
    diffs = report.run_dir_mismatches(run_dir, stamp=stamp, config=expected)
    if diffs:
        raise RunMismatchError(f"{run_dir} was made from something else:\n  " + "\n  ".join(diffs)
                               + "\nrefusing to report; pass a new --out (or delete that folder) to retrain")
    cmd = [sys.executable, "-m", "vidssl", "pretrain", "-c", recipe, *overrides]
    done = (run_dir / "metrics.json").is_file() and (run_dir / "checkpoint.pt").is_file()
    info: dict[str, Any] = {"recipe": recipe, "command": shlex.join(["vidssl", *cmd[3:]]), "reused": done}
    if not done:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "quality_stamp.json").write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        _log(f"pretrain {name}: {info['command']}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        (run_dir / "quality_pretrain.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or not (run_dir / "metrics.json").is_file():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"pretraining {name} failed (exit {proc.returncode}):\n{tail}")
        timing = {"seconds": time.perf_counter() - start,
                  "cpu_seconds": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)}  # fmt: skip
        (run_dir / "quality_timing.json").write_text(json.dumps(timing) + "\n")
    timing_file = run_dir / "quality_timing.json"
    info.update(json.loads(timing_file.read_text()) if timing_file.is_file() else {})
    metrics = json.loads((run_dir / "metrics.json").read_text())
    info["steps"] = metrics.get("steps")
    info["metrics"] = metrics
    return info


# ============ classification ============
class ClipCache:
    """Decoded clips of the labelled pool and the test split, kept in memory as uint8.

    Args:
        manifest: corpus manifest.
        train_ids: train-split video ids to decode (the union of every label budget).
        cfg: the fine-tune recipe (clip geometry).
        train_clips: evenly spaced clips per training video (uncropped, ``data.resize`` side).
        test_clips: evenly spaced clips per test video (centre crop).
        max_test: test videos kept (0 = all), the first ones by id.
    """

    def __init__(self, manifest: Path, train_ids: set[str], cfg: Any, train_clips: int, test_clips: int,
                 max_test: int = 0) -> None:  # fmt: skip
        import torch

        from vidssl.data.datasets.clip_dataset import VideoClipDataset
        from vidssl.tasks.supervised import EvalClips
        from vidssl.train.data import split_videos

        d = cfg.data
        self.train_meta = [v for v in split_videos(d, d.train_split) if v.video_id in train_ids]
        test_meta = sorted(split_videos(d, d.test_split), key=lambda v: v.video_id)
        self.test_meta = test_meta[:max_test] if max_test else test_meta
        full = max(d.resize, d.crop_size)
        train_view = EvalClips(train_clips, d.num_frames, d.frame_stride, d.resize, full)
        test_view = EvalClips(test_clips, d.num_frames, d.frame_stride, d.resize, d.crop_size)

        def decode(videos: list[Any], view: Any) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
            ds = VideoClipDataset(videos, view.plan, view.make_example, clips_per_epoch=len(videos), seed=0,
                                  on_error="raise", backend=d.decode_backend, shuffle_videos=False)  # fmt: skip
            clips, labels, ids = [], [], []
            for i in range(len(ds)):
                ex = ds[i]
                clips.append(ex["clip"])
                labels.append(int(ex["label"]))
                ids.append(ex["video_id"])
            return torch.stack(clips), torch.tensor(labels), ids

        self.train_clips, self.train_labels, self.train_ids = decode(self.train_meta, train_view)
        self.test_clips, self.test_labels, self.test_ids = decode(self.test_meta, test_view)
        self.crop = d.crop_size
        self._index = {v: i for i, v in enumerate(self.train_ids)}

    def indices(self, ids: Sequence[str]) -> list[int]:
        """Rows of the training cache for ``ids``."""
        return [self._index[v] for v in ids]


def _finetune_config(recipe: str, manifest: Path, model: Mapping[str, Any], extra: Sequence[str] = ()) -> Any:
    import yaml

    from vidssl.train.commands import prepare_config
    from vidssl.train.config import FinetuneConfig, load_config

    kwargs = yaml.safe_dump(dict(model.get("kwargs") or {}), default_flow_style=True).strip()
    over = [f"data.manifest={manifest}", f"model.name={model['name']}", f"model.kwargs={kwargs}", *extra]
    return prepare_config(load_config(FinetuneConfig, REPO / recipe, over))


def _build_classifier(cfg: Any, backbone_state: Mapping[str, Any] | None, seed: int) -> Any:
    import torch

    from vidssl.tasks.registry import build_task

    torch.manual_seed(seed)
    task = build_task(cfg)
    if backbone_state is not None:
        task.backbone.load_state_dict(backbone_state)
    return task


def _video_accuracy(task: Any, clips: Any, labels: Any, batch: int = 16) -> float:
    """Video accuracy with clip logits averaged (``clips``: uint8 ``[N, K, T, 3, H, W]``)."""
    import torch

    task.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(clips), batch):
            logits = task.clip_logits(clips[i : i + batch]).mean(dim=1)
            correct += int((logits.argmax(dim=1) == labels[i : i + batch]).sum())
    return correct / max(len(clips), 1)


def _cosine(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return 0.5 * base * (1 + math.cos(math.pi * p))


def frozen_features(cfg: Any, backbone_state: Mapping[str, Any] | None, cache: ClipCache,
                    seed: int) -> tuple[Any, Any]:  # fmt: skip
    """Frozen clip features (``task.encoder``, eval mode) of every cached clip: train (centre crops) and test.

    Returns:
        ``(train [N, C, D], test [M, C', D])`` float tensors.
    """
    import torch

    from vidssl.data.transforms.clip import CenterCrop
    from vidssl.data.transforms.color import normalize

    task = _build_classifier(cfg, backbone_state, seed)
    task.eval()

    def encode(clips: torch.Tensor) -> torch.Tensor:
        n, c = clips.shape[:2]
        out = []
        with torch.no_grad():
            for i in range(0, n, 16):
                x = clips[i : i + 16].flatten(0, 1)
                out.append(task.encoder(normalize(x, task.mean, task.std)).reshape(min(16, n - i), c, -1))
        return torch.cat(out)

    return encode(CenterCrop(cache.crop)(cache.train_clips)), encode(cache.test_clips)


def linear_probe(cfg: Any, features: tuple[Any, Any], cache: ClipCache, rows: Sequence[int], seed: int,
                 steps: int, *, return_head: bool = False) -> float | tuple[float, dict[str, Any]]:  # fmt: skip
    """Train a fresh ``task.head`` on frozen features of the ``rows`` videos' clips; test video accuracy.

    Equivalent to ``vidssl finetune`` linear mode on fixed centre crops (the backbone is frozen in eval mode, so
    its features are computed once per init): the recipe's optimiser (AdamW, ``optim.lr``, ``optim.weight_decay``)
    trains the head full-batch for ``steps`` steps with a cosine lr; test clip logits are averaged per video.
    With ``return_head`` the trained head's state comes back too (the start of an LP-FT fine-tune).
    """
    import torch

    from vidssl.models.heads.classification import ClassificationHead

    train, test = features
    x = train[list(rows)]
    n, c, dim = x.shape
    labels = cache.train_labels[list(rows)].repeat_interleave(c)
    torch.manual_seed(seed)
    head = ClassificationHead(dim, cfg.data.num_classes, dropout=cfg.task.options.dropout)
    head.train()
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    x = x.reshape(n * c, dim)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = _cosine(step, steps, cfg.optim.lr, 0)
        loss = torch.nn.functional.cross_entropy(head(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    with torch.no_grad():
        logits = head(test.flatten(0, 1)).reshape(test.shape[0], test.shape[1], -1).mean(dim=1)
    acc = float((logits.argmax(dim=1) == cache.test_labels).float().mean())
    if return_head:
        return acc, {k: v.detach().clone() for k, v in head.state_dict().items()}
    return acc


def finetune(cfg: Any, backbone_state: Mapping[str, Any] | None, cache: ClipCache, rows: Sequence[int],
             seed: int, steps: int, batch_size: int, *, head_state: Mapping[str, Any] | None = None,
             backbone_lr_mult: float = 1.0) -> float:  # fmt: skip
    """Fine-tune every layer on the cached clips (random clip and random crop per draw); test video accuracy.

    Same task, head and optimiser settings as ``vidssl finetune -c configs/finetune/supervised_tiny.yaml``
    (AdamW, ``optim.lr``/``weight_decay``, linear warmup of ``optim.warmup_epochs`` epochs then cosine), on a fixed
    number of steps so every label budget costs the same.

    Args:
        cfg: the resolved fine-tune recipe.
        backbone_state: pretrained backbone weights (``None``: random init seeded by ``seed``).
        cache: decoded clips.
        rows: indices of the labelled videos in ``cache``.
        seed: trial seed (init of the head and of a random backbone; batch draws).
        steps: optimiser steps.
        batch_size: clips per step.
        head_state: start the head from this state (the linear probe's head on the same backbone, labels and seed:
            LP-FT, Kumar et al. 2022) instead of a random head, whose first gradients would otherwise flow into
            the pretrained features; ``None`` = a fresh head (plain fine-tuning).
        backbone_lr_mult: the backbone's lr is ``optim.lr`` times this (a discriminative lr as in ULMFiT's
            ``lr_decay``; 1 = one lr everywhere).
    """
    import numpy as np
    import torch

    task = _build_classifier(cfg, backbone_state, seed)
    if head_state is not None:
        try:
            task.head.load_state_dict(head_state)
        except RuntimeError as exc:  # a linear recipe whose head differs from the fine-tune recipe's
            raise ValueError("classification.finetune.head_init=linear needs the linear-probe and fine-tune "
                             f"recipes to build the same head; they do not ({exc}); set head_init: fresh") from exc
    task.train()
    rng = np.random.default_rng(seed)
    backbone_ids = {id(p) for p in task.backbone.parameters()}
    groups = [{"params": [p for p in task.parameters() if id(p) in backbone_ids], "lr_mult": backbone_lr_mult},
              {"params": [p for p in task.parameters() if id(p) not in backbone_ids], "lr_mult": 1.0}]
    opt = torch.optim.AdamW(groups, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    rows = np.asarray(rows)
    per_epoch = max(1, math.ceil(len(rows) / batch_size))
    warmup = min(steps // 2, round(cfg.optim.warmup_epochs * per_epoch))
    c = cache.crop
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = _cosine(step, steps, cfg.optim.lr, warmup) * g["lr_mult"]
        pick = rng.choice(rows, size=min(batch_size, len(rows)), replace=len(rows) < batch_size)
        clip_idx = rng.integers(0, cache.train_clips.shape[1], size=len(pick))
        full = cache.train_clips[torch.from_numpy(pick), torch.from_numpy(clip_idx)]  # [B, T, 3, H, W]
        h, w = full.shape[-2:]
        tops, lefts = rng.integers(0, h - c + 1, size=len(pick)), rng.integers(0, w - c + 1, size=len(pick))
        batch = torch.stack([f[..., t : t + c, le : le + c] for f, t, le in zip(full, tops, lefts)])
        out = task({"clip": batch, "label": cache.train_labels[torch.from_numpy(pick)]})
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    return _video_accuracy(task, cache.test_clips, cache.test_labels)


def run_classification(inits: Mapping[str, Path | None], corpus: Path, settings: Mapping[str, Any],
                       threads: int) -> dict[str, Any]:  # fmt: skip
    """Linear probe and fine-tune accuracy of every init at every K and seed.

    Args:
        inits: init name → pretraining run folder (``None``: random init).
        corpus: corpus folder.
        settings: the preset's ``classification`` section.
        threads: torch CPU threads.

    Returns:
        ``{"linear": {init: {K: [acc per seed]}}, "finetune": {...}, "seconds": float}``.
    """
    import torch

    from vidssl.train.checkpoint import load_checkpoint
    from vidssl.train.data import split_videos
    from vidssl.train.label_budget import labels_per_class

    torch.set_num_threads(threads)
    start = time.perf_counter()
    manifest = corpus / "manifest.csv"
    ks = [int(k) for k in settings.get("labels_per_class", (1, 4, 16))]
    seeds = [int(s) for s in settings.get("seeds", (0, 1, 2))]
    modes = list(settings.get("modes", ("linear", "finetune")))
    states: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for name, run in inits.items():
        if run is None:
            states[name], models[name] = None, {"name": "tiny_cnn2d", "kwargs": {}}
        else:
            ckpt = load_checkpoint(run)
            states[name], models[name] = ckpt["backbone"], ckpt["config"]["model"]
    base = _finetune_config(FINETUNE_RECIPE, manifest, {"name": "tiny_cnn2d", "kwargs": {}})
    pool = split_videos(base.data, base.data.train_split)
    budgets = {(k, s): [v.video_id for v in labels_per_class(pool, k, seed=s)] for k in ks for s in seeds}
    wanted = set().union(*budgets.values())
    cache = ClipCache(manifest, wanted, base, int(settings.get("train_clips", 3)), int(settings.get("test_clips", 2)),
                      int(settings.get("max_test_videos", 0)))  # fmt: skip
    _log(f"classification: cached {len(cache.train_ids)} labelled + {len(cache.test_ids)} test videos in "
         f"{time.perf_counter() - start:.0f} s; K={ks}, seeds={seeds}, inits={list(inits)}")
    out: dict[str, Any] = {m: {n: {str(k): [] for k in ks} for n in inits} for m in modes}
    lin, ft = settings.get("linear", {}), settings.get("finetune", {})
    head_init = str(ft.get("head_init", "fresh"))
    if head_init not in ("fresh", "linear"):
        raise ValueError(f"classification.finetune.head_init must be 'fresh' or 'linear', got {head_init!r}")
    lpft = head_init == "linear"
    lr_mult = float(ft.get("backbone_lr_mult", 1.0))
    # With LP-FT or a lower backbone lr, also fine-tune scratch the plain way (fresh head, one lr): a random
    # backbone needs its full lr, and the targets compare against the better of the two scratch numbers.
    plain_scratch = lpft or lr_mult != 1.0
    feats: dict[tuple[str, int], Any] = {}
    for name in inits:
        lin_cfg = _finetune_config(LINEAR_RECIPE, manifest, models[name])
        ft_cfg = _finetune_config(FINETUNE_RECIPE, manifest, models[name])
        for k in ks:
            for s in seeds:
                rows = cache.indices(budgets[(k, s)])
                # scratch: a different random backbone per seed (the init seed is the trial seed)
                head = None
                if "linear" in modes or lpft:
                    fkey = (name, s if states[name] is None else 0)  # scratch: one random backbone per seed
                    if fkey not in feats:
                        feats[fkey] = frozen_features(lin_cfg, states[name], cache, fkey[1])
                    acc, head = linear_probe(lin_cfg, feats[fkey], cache, rows, s, int(lin.get("steps", 200)),
                                             return_head=True)
                    if "linear" in modes:
                        out["linear"][name][str(k)].append(acc)
                if "finetune" in modes:
                    steps, bs = int(ft.get("steps", 30)), int(ft.get("batch_size", 16))
                    out["finetune"][name][str(k)].append(finetune(
                        ft_cfg, states[name], cache, rows, s, steps, bs, head_state=head if lpft else None,
                        backbone_lr_mult=lr_mult))
                    if states[name] is None and plain_scratch:  # the strongest from-scratch reference too
                        out["finetune"].setdefault(PLAIN_SCRATCH, {str(kk): [] for kk in ks})[str(k)].append(
                            finetune(ft_cfg, None, cache, rows, s, steps, bs))
            accs = {m: out[m][name][str(k)] for m in modes}
            _log(f"classification {name} K={k}: " + ", ".join(f"{m} {[round(a, 3) for a in v]}"
                                                            for m, v in accs.items()))
    out["seconds"] = time.perf_counter() - start
    out["test_videos"] = len(cache.test_ids)
    out["labelled_pool"] = len(pool)
    return out


# ============ label propagation ============
def run_tracking(inits: Mapping[str, Path], corpus: Path, out_dir: Path, settings: Mapping[str, Any],
                 threads: int) -> dict[str, Any]:  # fmt: skip
    """Label propagation J&F on test videos: identity, Lab pixels, random init, and every pretrained backbone."""
    import torch

    from vidssl.data.datasets.davis import find_sequences
    from vidssl.eval.davis_eval import run_davis_evaluation
    from vidssl.eval.label_propagation import PRESETS
    from vidssl.eval.propagation_features import LabFeatures, load_run_backbone, random_backbone, run_model_name

    torch.set_num_threads(threads)
    start = time.perf_counter()
    davis = corpus / "davis"
    test_ids = [line.strip() for line in (corpus / "splits" / "test.txt").read_text().splitlines() if line.strip()]
    have = {p.name for p in (davis / "JPEGImages").iterdir() if p.is_dir()}
    names = sorted(v for v in test_ids if v in have)
    limit = int(settings.get("sequences", 0))
    names = names[:limit] if limit else names
    if not names:
        return {"skipped": f"no test sequences with frames under {davis}"}
    seqs = find_sequences(davis, sequences=names)
    stride = int(settings.get("stride", 4))
    methods: dict[str, Any] = {"identity": None, "lab": LabFeatures(stride=stride)}
    methods["random"] = random_backbone("tiny_cnn2d", seed=int(settings.get("seed", 0)), output_stride=stride)
    init_methods = {"scratch": "random"}
    for name, run in inits.items():
        arch = run_model_name(run)  # output_stride as `vidssl track` sets it (tiny_cnn2d and ResNets only)
        dense = {"output_stride": stride} if arch.startswith("tiny_cnn2d") else (
            {"output_stride": max(stride, 8)} if arch.startswith("resnet") else {})
        methods[name] = load_run_backbone(run, res3_if_resnet=True, **dense).features(label=name)
        init_methods[name] = name
    config = PRESETS[str(settings.get("preset", "tiny"))]
    rep = run_davis_evaluation(seqs, methods, config, out_dir, gifs=False, write_predictions=False, progress=False)
    result = {
        "methods": {m: {k: float(v) for k, v in s.scores.items()} for m, s in rep.summaries.items()},
        "init_methods": init_methods,
        "sequences": len(seqs),
        "objects": next(iter(rep.summaries.values())).num_objects,
        "preset": str(settings.get("preset", "tiny")),
        "stride": stride,
        "seconds": time.perf_counter() - start,
    }
    _log("tracking J&F: " + ", ".join(f"{m} {v['J&F-Mean']:.3f}" for m, v in result["methods"].items()))
    return result


# ============ pretext metrics and controls ============
def _chance_value(chance: float | str, metrics: Mapping[str, Any]) -> float | None:
    if isinstance(chance, int | float):
        return float(chance)
    value = metrics.get(chance)
    return None if value is None else float(value)


def _pretext_module() -> Any:
    """``benchmarks/pretext.py`` when it offers ``run_task``, ``Settings`` and ``QUICK`` (else ``None``)."""
    try:
        import pretext as bench  # benchmarks/pretext.py, the pretext benchmark (another engineer's)
    except Exception:
        return None
    return bench if all(hasattr(bench, n) for n in ("run_task", "Settings", "FULL")) else None


def run_pretext(tasks: Mapping[str, Any], runs: Mapping[str, Path], corpus_spec: Mapping[str, Any],
                corpora: Mapping[str, Path], out: Path, preset: Mapping[str, Any], code: Mapping[str, Any],
                threads: int, record: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:  # fmt: skip
    """Held-out pretext metric and control of every task.

    With ``benchmarks/pretext.py`` present, its ``run_task`` defines the metric, the chance level and the control
    (the recipe trained *and* validated on its control: the control corpus made with ``BENCHMARK.control``'s synth
    flags and/or its overrides); this benchmark gives it a runner that returns the already trained run for the
    normal corpus and trains the control with the same step budget as every other pretraining (run folders
    ``DIR/runs/<task>.control``, checked like the others). Without it, the held-out metric is read from the run
    and the trained task is evaluated on its control data (a weaker control: see the report's source line).

    Args:
        tasks: name → ``BENCHMARK`` spec.
        runs: name → trained run folder.
        corpus_spec: the main corpus's synth settings (control corpora copy its seed and splits).
        corpora: name → the corpus folder the task pretrained on (the main corpus, or the variant made with its
            ``BENCHMARK.synth_flags``); an override-only control trains there too.
        out: the benchmark's output folder.
        preset: the preset (``pretrain`` budget, ``pretext.control_videos``).
        code: the code revision (for the control runs' stamps).
        threads: torch CPU threads.
        record: filled with ``"<task>.control"`` → pretraining info (timing, steps, command) of each control run.

    Returns:
        ``(per-task results, source)``.
    """
    import torch

    torch.set_num_threads(threads)
    bench = _pretext_module()
    record = {} if record is None else record
    results: dict[str, Any] = {}
    for name, spec in tasks.items():
        ctrl = spec.control
        task_manifest = corpora[name] / "manifest.csv"
        try:
            manifests: dict[tuple[str, ...], Path] = {spec.corpus_flags: task_manifest}
            control_corpus = corpora[name]
            if ctrl.synth_flags:
                cspec = _synth_spec(corpus_spec, spec.control_flags,
                                    videos=int(preset["pretext"].get("control_videos", 200)))
                control_corpus = out / "controls" / flags_folder(cspec["flags"])
                ensure_corpus(control_corpus, cspec, workers=int(preset["corpus"].get("workers", 2)))
                manifests[spec.control_flags] = control_corpus / "manifest.csv"
            if bench is None:
                results[name] = _fallback_pretext(name, spec, runs[name], control_corpus, preset)
                continue

            def runner(recipe: str, manifest: Path, out_dir: Path, extra: Sequence[str], settings: Any,
                       name: str = name, control_corpus: Path = control_corpus,
                       task_manifest: Path = task_manifest) -> Mapping[str, Any]:  # fmt: skip
                if Path(manifest) == task_manifest and not extra:
                    return json.loads((runs[name] / "metrics.json").read_text())
                run_dir = out / "runs" / f"{name}.control"
                over = [*pretrain_overrides(name, control_corpus, run_dir, preset["pretrain"]), *extra]
                stamp = make_stamp(control_corpus, recipe, over, code)
                info = run_pretraining(f"{name} (control)", recipe, over, run_dir, stamp)
                record[f"{name}.control"] = info
                return info["metrics"]

            # FULL mode: a task's quick_overrides are for pretext.py --quick, not for this benchmark's budget (the
            # control must train exactly like the run it controls).
            res = bench.run_task(name, spec, manifests, bench.Settings(mode=bench.FULL, work=out / "pretext"),
                                 runner=runner)  # fmt: skip
            d = res.details
            results[name] = {
                "metric": res.metric, "value": res.trained, "chance": res.chance,
                "control": {"value": res.control, "chance": d.get("control_chance"),
                            "description": ctrl.description, "at_chance_within_3se": d.get("control_at_chance"),
                            "se": d.get("control_se"), "examples": d.get("held_out_examples")},
            }  # fmt: skip
        except RunMismatchError:
            raise
        except Exception as err:  # a control that cannot run is reported, not fatal
            why = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            val = json.loads((runs[name] / "metrics.json").read_text()).get("val") or {}
            # the trained run's held-out metric does not depend on the control: keep it
            results[name] = {"metric": spec.metric, "value": val.get(spec.metric),
                             "chance": _chance_value(spec.chance, val), "control": {"reason": why}}  # fmt: skip
        _log(f"pretext {name}: {results[name]}")
    source = ("benchmarks/pretext.py run_task (control = recipe trained and validated on the control)" if bench
              else "fallback in benchmarks/quality.py (control = trained task evaluated on the control)")  # fmt: skip
    return results, source


def _fallback_pretext(name: str, spec: Any, run: Path, control_corpus: Path,
                      preset: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Held-out metric from the run; control = the trained task evaluated on its control (no ``pretext.py``)."""
    import torch

    from vidssl.tasks.registry import build_task
    from vidssl.train.checkpoint import load_checkpoint
    from vidssl.train.commands import prepare_config
    from vidssl.train.config import PretrainConfig, load_config
    from vidssl.train.distributed import DistInfo
    from vidssl.train.evaluation import evaluate_pretext

    val = json.loads((run / "metrics.json").read_text()).get("val") or {}
    entry: dict[str, Any] = {"metric": spec.metric, "value": val.get(spec.metric),
                             "chance": _chance_value(spec.chance, val)}  # fmt: skip
    over = [*pretrain_overrides(name, control_corpus, run, preset["pretrain"]), *spec.control.overrides]
    cfg = prepare_config(load_config(PretrainConfig, REPO / spec.recipe, over))
    torch.manual_seed(0)
    task = build_task(cfg)
    task.load_state_dict(load_checkpoint(run)["model"], strict=False)
    values = evaluate_pretext(cfg, task, cfg.data.val_split, DistInfo())
    entry["control"] = {"value": values.get(spec.metric), "chance": _chance_value(spec.chance, values),
                        "description": spec.control.description, "examples": values.get("examples")}  # fmt: skip
    return entry


# ============ analysis ============
def _pretext_state(results: Mapping[str, Any], task: str) -> str:
    """One clause on whether ``task``'s own objective was learnt (held-out metric vs chance)."""
    p = (results.get("pretext") or {}).get(task) or {}
    value, chance = p.get("value"), p.get("chance")
    if value is None or chance is None:
        return "its held-out pretext metric is not available"
    gap = 100 * (value - chance)
    verdict = ("the pretext objective itself was barely learnt within the budget" if gap < 5
               else "the pretext objective was learnt")  # fmt: skip
    return f"held-out {p.get('metric')} {value:.3f} vs chance {chance:.3f} ({gap:+.1f} pts): {verdict}"


def analyse(results: Mapping[str, Any]) -> list[str]:
    """One line per missed target: the measured numbers that locate the missing signal, and the next thing to try.

    Explanations are built from the numbers of this run (pretext metric vs chance, supervised vs scratch, random-init
    vs Lab), not asserted; the levers named are the ones the presets expose.
    """
    lines = []
    summary = results.get("classification_summary", {})
    info = results.get("classification_info") or {}
    steps = (results.get("preset_settings") or {}).get("pretrain", {})
    budget = f"{steps.get('epochs')} x {steps.get('max_steps_per_epoch')} pretraining steps"
    ft = (results.get("preset_settings") or {}).get("classification", {}).get("finetune", {})
    if results.get("preset") == "quick":
        n = info.get("test_videos")
        lines.append(f"Quick preset ({budget}, {n} test videos: one video = {100 / max(n or 1, 1):.1f} points): the "
                     "numbers check the pipeline and are dominated by noise; misses here do not measure the tasks.")
    tracking = (results.get("tracking") or {}).get("methods") or {}
    for name, t in (results.get("targets") or {}).items():
        if t["met"]:
            continue
        if name.startswith("linear_probe_vs_random/"):
            task = name.split("/", 1)[1]
            sup = summary.get("linear", {}).get("supervised", {}).get(str(t.get("k")), {}).get("mean")
            sup_text = "n/a" if sup is None else f"{100 * sup:.1f}%"
            lines.append(
                f"{name}: {100 * t['accuracy']:.1f}% vs random-init features {100 * t['random_init']:.1f}% at "
                f"K={t.get('k')} (supervised pretraining, same budget: {sup_text}); {_pretext_state(results, task)}. "
                "If the pretext metric is near chance the fix is a longer budget (pretrain.max_steps_per_epoch / "
                "epochs); if it is learnt but does not transfer, the classes (motion direction of the main object, "
                "read by a linear head over concatenated per-frame features) need features that localise that "
                "object, which the task's objective may not require."
            )
        elif name == "finetune_k4_best_vs_scratch":
            lines.append(
                f"{name}: best task {t.get('task')} {100 * t['accuracy']:.1f}% vs scratch {100 * t['scratch']:.1f}% "
                f"({t.get('scratch_run', 'scratch')}) at K=4; {_pretext_state(results, str(t.get('task')))}. "
                f"Fine-tuning runs a fixed {ft.get('steps')} steps (head_init={ft.get('head_init', 'fresh')}, "
                f"backbone_lr_mult={ft.get('backbone_lr_mult', 1.0)}); compare with the same init's linear probe: "
                "if fine-tuning scores below it, the steps wash out the pretrained features (a lower backbone lr or "
                "LP-FT are the levers); if both are low, the features themselves do not separate the classes."
            )
        elif name.startswith("propagation/") and name != "propagation/lab_vs_identity":
            task = name.split("/", 1)[1].rsplit("_vs_", 1)[0]
            rnd = (tracking.get("random") or {}).get("J&F-Mean")
            jf = t.get("jf")
            rel = ("no better than a random-init backbone, so pretraining has not yet shaped correspondences"
                   if rnd is not None and jf is not None and jf <= rnd else "better than a random-init backbone "
                   "but not yet than colour matching")  # fmt: skip
            lines.append(f"{name}: J&F {jf:.3f} vs raw Lab {t.get('lab'):.3f} (random init "
                         f"{'n/a' if rnd is None else f'{rnd:.3f}'}): {rel}; {_pretext_state(results, task)}. "
                         f"The synthetic colours are isoluminant and distinct per object, which makes raw Lab a "
                         f"strong baseline; a longer budget is the first thing to try.")  # fmt: skip
        elif name == "propagation/lab_vs_identity":
            lines.append(f"{name}: Lab {t.get('lab'):.3f} vs identity {t.get('identity'):.3f}: objects barely move "
                         "in the scored videos, or the propagation settings (tiny preset) do not suit them.")
        elif name == "avc/heldout_accuracy":
            lines.append(f"{name}: {t['value']:.3f} < 0.90 with {budget}; "
                         f"{_pretext_state(results, 'av_correspondence')}. AVC learns from one frame + 1 s of audio "
                         "per pair; more pairs (steps) are the first lever. Ceiling on this corpus: an other-video "
                         "negative has the same main-object colour (so the same pitch) 1 time in 8, so a colour -> "
                         "pitch rule alone tops out near 0.94; shape (timbre) and distractors must do the "
                         "rest.")  # fmt: skip
        elif name.startswith("controls/"):
            task = name.split("/", 1)[1]
            ctrl = ((results.get("pretext") or {}).get(task) or {}).get("control") or {}
            se = ctrl.get("se")
            se_text = "" if se is None or not math.isfinite(se) else f", binomial SE at chance {100 * se:.1f} pts"
            lines.append(f"{name}: control {t['control']:.3f} vs chance {t['chance']:.3f} ({t['value']:.1f} pts off; "
                         f"held-out examples {ctrl.get('examples')}{se_text}). If the gap is within about 2 SE the "
                         "control set is too small for the 5-point tolerance (raise pretext.control_videos / "
                         "eval_clips_per_video); otherwise the task has a shortcut that survives the control.")
    return lines


# ============ main ============
def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``benchmarks/quality.py`` (and ``vidssl bench quality``)."""
    p = argparse.ArgumentParser(prog="quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by the script and the ``vidssl bench quality`` sub-command."""
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (corpus, runs, results.md/json)")
    p.add_argument("--quick", action="store_true", help="tiny preset (configs/quality/quick.yaml): under 10 minutes")
    p.add_argument("--preset", metavar="YAML", help="preset file (default: configs/quality/{full,quick}.yaml)")
    p.add_argument("--tasks", metavar="A,B", help="pretext tasks to evaluate (default: every registered one)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads in this process (0: the preset's)")
    p.add_argument("--skip", default="", metavar="STAGES",
                   help="comma-separated stages to skip: classification,tracking,pretext (debugging only)")


def run(args: argparse.Namespace, command: str | None = None) -> int:
    """Run the benchmark; 0 on success, 3 when a reused run folder does not match (nothing reported).

    Args:
        args: parsed options (:func:`add_arguments`).
        command: the command line to record (default: this script with ``sys.argv``).
    """
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    t0 = time.perf_counter()
    preset_path = Path(args.preset) if args.preset else PRESET_DIR / ("quick.yaml" if args.quick else "full.yaml")
    preset = load_preset(preset_path)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    threads = args.threads or int(preset["pretrain"].get("threads", 2))
    skip = {s for s in args.skip.split(",") if s}
    stages: dict[str, float] = {}
    command = command or shlex.join(["python", "benchmarks/quality.py", *sys.argv[1:]])
    results: dict[str, Any] = {"benchmark": "quality", "preset": preset_path.stem, "preset_file": str(preset_path),
                               "preset_settings": preset, "command": command, "started": started,
                               "versions": versions(), "machine": machine(), "code": code_revision()}  # fmt: skip
    try:
        # 1. corpus
        t = time.perf_counter()
        corpus_spec = _synth_spec(preset["corpus"])
        corpus_info = ensure_corpus(out / "corpus", corpus_spec, workers=int(preset["corpus"].get("workers", 2)))
        corpus = out / "corpus"
        results["corpus"] = corpus_info
        stages["corpus"] = time.perf_counter() - t
        # 2. pretraining
        t = time.perf_counter()
        requested = [x for x in (args.tasks or "").split(",") if x] or None
        tasks, skipped, expected = discover_tasks(requested)
        results.update(tasks=list(tasks), expected_tasks=expected, skipped=dict(skipped))
        for name, why in skipped.items():
            _log(f"task {name} skipped: {why}")
        recipes = {"supervised": SUPERVISED_RECIPE, **{n: s.recipe for n, s in tasks.items()}}
        # A task whose BENCHMARK names synth flags pretrains on that variant of the same videos (same seed and
        # splits; AVC: gray backgrounds); every evaluation below runs on the main corpus.
        corpora: dict[str, Path] = {n: corpus for n in recipes}
        for name, spec in tasks.items():
            if spec.corpus_flags:
                corpora[name] = out / "corpora" / flags_folder(spec.corpus_flags)
                results.setdefault("task_corpora", {})[name] = ensure_corpus(
                    corpora[name], _synth_spec(corpus_spec, spec.corpus_flags),
                    workers=int(preset["corpus"].get("workers", 2)))
        runs: dict[str, Path] = {}
        pre: dict[str, Any] = {}
        overrides: dict[str, list[str]] = {}
        for name, recipe in recipes.items():
            run_dir = out / "runs" / name
            overrides[name] = pretrain_overrides(name, corpora[name], run_dir, preset["pretrain"])
            stamp = make_stamp(corpora[name], recipe, overrides[name], results["code"])
            try:
                pre[name] = run_pretraining(name, recipe, overrides[name], run_dir, stamp)
                runs[name] = run_dir
            except RunMismatchError:
                raise
            except Exception as err:
                if name == "supervised":
                    raise
                _log(f"pretrain {name} FAILED: {err}")
                results["skipped"][name] = f"pretraining failed: {str(err).splitlines()[0][:200]}"
                tasks.pop(name, None)
        results["tasks"] = list(tasks)
        stages["pretrain"] = time.perf_counter() - t
        p = preset["pretrain"]
        results["budget"] = {
            "description": (
                f"Every pretraining (supervised and each pretext task) runs its tiny recipe with the same backbone "
                f"(tiny_cnn2d) for run.epochs={p.get('epochs')} x "
                f"run.max_steps_per_epoch={p.get('max_steps_per_epoch')} steps at the recipe's batch size, "
                f"{p.get('threads', 2)} torch threads, seed {p.get('seed', 0)}. "
                + "".join(f"Per-task overrides: {n} {' '.join(map(str, o))}. "
                          for n, o in (p.get("overrides") or {}).items() if o)
                + f"Wall and CPU seconds below show what that budget cost per task on this machine. Classification: "
                f"linear probe {preset['classification'].get('linear', {}).get('steps')} full-batch head steps; "
                f"fine-tune {preset['classification'].get('finetune', {}).get('steps')} steps of batch "
                f"{preset['classification'].get('finetune', {}).get('batch_size')} clips, every K and seed."
            ),
            "pretrain": {n: {k: v for k, v in i.items() if k != "metrics"} for n, i in pre.items()},
            "commands": [i["command"] for i in pre.values()],
            "stages": stages,
        }
        inits: dict[str, Path | None] = {"scratch": None, "supervised": runs["supervised"],
                                         **{n: runs[n] for n in tasks}}  # fmt: skip
        # 3. classification
        if "classification" not in skip:
            t = time.perf_counter()
            raw = run_classification(inits, corpus, preset["classification"], threads)
            results["classification"] = {m: raw[m] for m in ("linear", "finetune") if m in raw}
            results["classification_info"] = {k: raw[k] for k in ("seconds", "test_videos", "labelled_pool")}
            results["classification_summary"] = report.summarize_classification(results["classification"])
            stages["classification"] = time.perf_counter() - t
        # 4. label propagation
        if "tracking" not in skip:
            t = time.perf_counter()
            results["tracking"] = run_tracking({n: r for n, r in inits.items() if r is not None}, corpus,
                                               out / "tracking", preset["tracking"], threads)  # fmt: skip
            stages["tracking"] = time.perf_counter() - t
        # 5. pretext metrics and controls
        if "pretext" not in skip and tasks:
            t = time.perf_counter()
            controls: dict[str, Any] = {}
            results["pretext"], results["pretext_source"] = run_pretext(
                tasks, runs, corpus_spec, corpora, out, preset, results["code"], threads, controls
            )
            for n, i in controls.items():
                results["budget"]["pretrain"][n] = {k: v for k, v in i.items() if k != "metrics"}
                results["budget"]["commands"].append(i["command"])
            stages["pretext"] = time.perf_counter() - t
    except RunMismatchError as err:
        print(f"quality: refusing to report: {err}", file=sys.stderr)
        return EXIT_MISMATCH
    # 6. targets, plots, report
    results["targets"], results["targets_not_evaluated"] = report.evaluate_targets(results)
    results["analysis"] = analyse(results)
    plots_dir = out / "plots"
    plots_dir.mkdir(exist_ok=True)
    plots = []
    if results.get("classification_summary"):
        p1 = report.plot_accuracy_vs_labels(results["classification_summary"], plots_dir / "accuracy_vs_labels.png")
        plots += [p1] if p1 else []
    from vidssl.train.run_dir import read_jsonl

    logs = {n: read_jsonl(Path(r) / "log.jsonl") for n, r in runs.items()}
    p2 = report.plot_pretext_curves(logs, plots_dir / "pretext_curves.png")
    plots += [p2] if p2 else []
    results["plots"] = [str(p.relative_to(out)) for p in plots]
    results["seconds"] = time.perf_counter() - t0
    results["budget"]["stages"] = stages
    (out / "results.json").write_text(json.dumps(_jsonable(results), indent=2, sort_keys=False) + "\n")
    (out / "results.md").write_text(report.render_markdown(results))
    plot = "plots/accuracy_vs_labels.png" if "plots/accuracy_vs_labels.png" in results["plots"] else ""
    (out / "readme_results.md").write_text(report.render_readme_section(results, plot))
    met = sum(t["met"] for t in results["targets"].values())
    _log(f"done in {results['seconds'] / 60:.1f} min: targets met {met}/{len(results['targets'])} "
         f"({len(results['targets_not_evaluated'])} not evaluated); wrote {out / 'results.md'}")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Script entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return run(build_parser().parse_args(argv), shlex.join(["python", "benchmarks/quality.py", *argv]))


if __name__ == "__main__":
    raise SystemExit(main())

