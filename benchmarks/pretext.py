"""Pretext benchmark: proof that each pretext task learns, and that it learns nothing on its unsolvable control.

    python benchmarks/pretext.py [--quick] [--tasks a,b] [--out results.json] [--work DIR] [--set KEY=VALUE ...]

For every registered pretext task whose module exposes ``BENCHMARK`` (:class:`vidssl.tasks.base.PretextBenchmarkSpec`):

1. the synthetic corpus is generated once (``python -m data_tools synth``, seeded) and shared by all tasks, plus one
   corpus per distinct set of extra flags: a task's own ``BENCHMARK.synth_flags`` (AVC trains on
   ``--neutral-background``) and its control's, ``BENCHMARK.synth_flags + BENCHMARK.control.synth_flags`` (e.g.
   ``--static``; ``--mismatched-audio --neutral-background``), all with the same seed and size;
2. **trained**: the task's tiny recipe (``BENCHMARK.recipe``) is trained on its corpus with
   ``python -m vidssl pretrain`` (a subprocess per run), which validates the task on the corpus's held-out ``val``
   split at the end (task diagnostics in eval mode, fixed draws: ``metrics.json["val"]``, see
   :func:`vidssl.train.evaluation.pretext_evaluator`); the figure is ``val[BENCHMARK.metric]``;
3. **control**: the same recipe made unsolvable: trained *and* validated on the control corpus when the spec has
   ``synth_flags``, with the spec's ``overrides`` (e.g. ``task.control=foreign``) added when it has them;
4. **chance**: ``BENCHMARK.chance`` when it is a number, else that diagnostics key measured on the same held-out
   examples as the metric (e.g. colorization's majority-colour baseline ``majority_acc``) in the trained run.

It prints one table (task, metric, chance, control, trained, seconds) and writes::

    {"tasks": {"<task>": {"metric": str, "chance": float, "trained": float, "control": float, "seconds": float}},
     "details": {"<task>": {...}}, "skipped": {...}, "failed": {...}, "config": {...}}

``seconds`` is the wall time of the task's two training runs (the shared corpora are timed in ``config``).
``details`` holds the control's own chance (for a chance key measured on the control data), a binomial standard
error of the chance level over the held-out examples (conservative for per-pixel metrics), whether the control sits
at chance within 3 standard errors (at least 0.03), the run folders and the control's description.

``--quick`` (the slow test suite) uses a smaller corpus and fewer epochs, plus a task's ``BENCHMARK.quick_overrides``
(a tuple of overrides, e.g. ``("run.epochs=8",)`` for a task that needs a
longer short run) and ``BENCHMARK.quick_videos`` (a larger size for the corpora that task trains and controls on:
AVC memorises 84 training videos); without it the recipes run as written on a 400-video corpus. ``--set KEY=VALUE``
adds recipe overrides to every run, last (e.g. ``--set run.threads=1``). Overrides apply in this order: the mode's,
the task's quick ones, the control's, ``--set``. The exit status is 1 when a task failed (its log tail is printed
and its error is in ``failed``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vidssl.tasks.base import PretextBenchmarkSpec  # noqa: E402
from vidssl.tasks.registry import TASKS, task_module  # noqa: E402

__all__ = [
    "Settings",
    "TaskResult",
    "chance_of",
    "control_notes",
    "discover",
    "format_table",
    "main",
    "results_json",
    "run_task",
    "synthesize",
    "train_run",
]

TABLE_KEYS = ("metric", "chance", "trained", "control", "seconds")


@dataclass(frozen=True)
class Mode:
    """Corpus size and training length of a benchmark mode.

    Attributes:
        videos: videos in each synthetic corpus (70/10/20 train/val/test split, stratified by class).
        frames: frames per video.
        epochs: ``run.epochs`` override; ``None`` keeps the recipe's.
        overrides: further recipe overrides for every run.
        quick: apply each task's optional ``BENCHMARK.quick_overrides`` (a task that needs a different short budget,
            e.g. more epochs, says so there).
    """

    videos: int
    frames: int
    epochs: int | None
    overrides: tuple[str, ...] = ()
    quick: bool = False


FULL = Mode(videos=400, frames=48, epochs=None)
QUICK = Mode(videos=120, frames=48, epochs=4, overrides=("eval.clips_per_video=8", "run.eval_every=0"), quick=True)


@dataclass
class Settings:
    """How the benchmark runs.

    Attributes:
        mode: corpus size and training length.
        seed: corpus seed (the same for the normal and the control corpora) and ``run.seed``.
        work: folder for corpora, run folders and logs.
        overrides: extra recipe overrides for every run (after the mode's).
        python: interpreter for the subprocesses.
        timeout: seconds allowed per subprocess.
    """

    mode: Mode
    seed: int = 0
    work: Path = Path("pretext_bench")
    overrides: tuple[str, ...] = ()
    python: str = sys.executable
    timeout: float = 3600.0


@dataclass
class TaskResult:
    """One task's figures (the first five attributes are the JSON's per-task entry).

    Attributes:
        metric: held-out diagnostics key.
        chance: chance level of the metric (number, or the chance key measured on the trained run's held-out set).
        trained: the metric after training on the normal corpus.
        control: the metric on the control.
        seconds: wall time of both training runs.
        details: everything else (control chance, noise, run folders, description).
    """

    metric: str
    chance: float
    trained: float
    control: float
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        """The per-task JSON entry: exactly metric, chance, trained, control, seconds."""
        return {"metric": self.metric, "chance": float(self.chance), "trained": float(self.trained),
                "control": float(self.control), "seconds": float(self.seconds)}


class RunFailed(RuntimeError):
    """A subprocess (synth or pretrain) failed; the message ends with its log tail."""


# ============ tasks ============
def discover(names: Sequence[str] | None = None) -> tuple[dict[str, PretextBenchmarkSpec], dict[str, str]]:
    """Registered pretext tasks with a ``BENCHMARK``, and why the others are skipped.

    Args:
        names: only these tasks (``--tasks``); ``None`` = every registered pretext task.

    Returns:
        ``(specs, skipped)``: name → spec for the tasks to run; name → reason for the others (module not written
        yet, no ``BENCHMARK``, not a pretext task).

    Raises:
        KeyError: an asked-for name is not registered.
    """
    if names:
        unknown = [n for n in names if n not in TASKS]
        if unknown:
            raise KeyError(f"unknown task(s) {', '.join(unknown)}; registered: {', '.join(sorted(TASKS))}")
    wanted = list(names) if names else sorted(n for n, e in TASKS.items() if e.kind == "pretext")
    specs: dict[str, PretextBenchmarkSpec] = {}
    skipped: dict[str, str] = {}
    for name in wanted:
        if TASKS[name].kind != "pretext":
            skipped[name] = f"{TASKS[name].kind} task (no pretext benchmark)"
            continue
        try:
            module = task_module(name)
        except ImportError as err:
            skipped[name] = f"not importable: {str(err).splitlines()[0]}"
            continue
        spec = getattr(module, "BENCHMARK", None)
        if not isinstance(spec, PretextBenchmarkSpec):
            skipped[name] = f"{module.__name__} has no BENCHMARK (PretextBenchmarkSpec)"
            continue
        specs[name] = spec
    return specs, skipped


def chance_of(spec: PretextBenchmarkSpec, val: Mapping[str, Any]) -> float:
    """The chance level of ``spec.metric`` on a run's held-out metrics ``val``.

    Raises:
        KeyError: ``spec.chance`` names a diagnostics key the run did not report.
    """
    if isinstance(spec.chance, str):
        if spec.chance not in val:
            raise KeyError(f"chance key {spec.chance!r} not in the held-out metrics ({', '.join(sorted(val))})")
        return float(val[spec.chance])
    return float(spec.chance)


def corpus_key(flags: Sequence[str]) -> str:
    """Folder name of the corpus made with synth ``flags`` (``corpus``, ``corpus_static``...)."""
    parts = [f.lstrip("-").replace("=", "_").replace("/", "_") for f in flags]
    return "_".join(["corpus", *parts])


def corpus_videos(specs: Mapping[str, PretextBenchmarkSpec], flags: tuple[str, ...], mode: Mode) -> int:
    """Size of the corpus made with ``flags``.

    The mode's, raised in ``--quick`` to the largest ``quick_videos`` of the tasks that train or control on it.
    """
    users = [s for s in specs.values() if flags in (s.corpus_flags, s.control_flags)]
    need = [s.quick_videos for s in users] if mode.quick else []
    return max([mode.videos, *need])


# ============ subprocesses ============
def _run(cmd: Sequence[str], log: Path, timeout: float) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as f:
        f.write(" ".join(cmd) + "\n")
        f.flush()
        proc = subprocess.run(list(cmd), stdout=f, stderr=subprocess.STDOUT, cwd=REPO, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise RunFailed(f"exit {proc.returncode}: {' '.join(cmd[:6])} ... (log {log})\n{tail}")


def synthesize(settings: Settings, flags: Sequence[str] = (), videos: int | None = None) -> Path:
    """Generate (or reuse, when complete) the synthetic corpus with ``flags``; returns its manifest.

    Args:
        settings: benchmark settings (mode: size and length).
        flags: extra synth flags.
        videos: corpus size (default: the mode's).
    """
    out = settings.work / corpus_key(flags)
    manifest = out / "manifest.csv"
    if manifest.is_file():
        return manifest
    m = settings.mode
    cmd = [settings.python, "-m", "data_tools", "synth", str(out), "--videos", str(videos or m.videos), "--frames",
           str(m.frames), "--seed", str(settings.seed), "--quiet", "--overwrite", *flags]
    _run(cmd, settings.work / "logs" / f"{corpus_key(flags)}.log", settings.timeout)
    if not manifest.is_file():
        raise RunFailed(f"synth wrote no manifest in {out}")
    return manifest


def train_run(recipe: str, manifest: Path, out_dir: Path, overrides: Sequence[str], settings: Settings
              ) -> dict[str, Any]:
    """``python -m vidssl pretrain -c RECIPE`` on ``manifest``; returns the run's ``metrics.json``."""
    m = settings.mode
    args = [f"data.manifest={manifest}", f"run.out_dir={out_dir}", f"run.seed={settings.seed}", "run.progress=false",
            "run.resume=never", "data.val_split=val"]
    if m.epochs is not None:
        args.append(f"run.epochs={m.epochs}")
    args += [*m.overrides, *overrides, *settings.overrides]
    cmd = [settings.python, "-m", "vidssl", "pretrain", "-c", str(REPO / recipe), *args]
    _run(cmd, out_dir.parent / f"{out_dir.name}.log", settings.timeout)
    return json.loads((out_dir / "metrics.json").read_text())


Runner = Callable[[str, Path, Path, Sequence[str], Settings], Mapping[str, Any]]


def _held_out(metrics: Mapping[str, Any], metric: str, where: str) -> dict[str, Any]:
    val = dict(metrics.get("val", {}))
    if metric not in val:
        raise KeyError(f"{where}: held-out metric {metric!r} missing from metrics.json val ({', '.join(sorted(val))}); "
                       "is the task reporting it as a diagnostic, and does the corpus have a val split?")
    return val


def run_task(name: str, spec: PretextBenchmarkSpec, manifests: Mapping[tuple[str, ...], Path], settings: Settings,
             runner: Runner | None = None) -> TaskResult:
    """Train the task on the normal corpus and on its control; read the held-out metric and chance of both.

    Args:
        name: task name.
        spec: its ``BENCHMARK``.
        manifests: sorted synth flags → manifest (``()`` is the default corpus); ``spec.corpus_flags`` and
            ``spec.control_flags`` must be present.
        settings: benchmark settings.
        runner: trains one run and returns its metrics; default :func:`train_run` (tests pass a fake).
    """
    runner = runner or train_run
    c = spec.control
    if not c.synth_flags and not c.overrides:
        raise ValueError(f"{name}: BENCHMARK.control has neither synth_flags nor overrides (nothing is unsolvable)")
    runs = settings.work / "runs" / name
    quick = spec.quick_overrides if settings.mode.quick else ()
    t0 = time.perf_counter()
    trained = _held_out(runner(spec.recipe, manifests[spec.corpus_flags], runs / "trained", quick, settings),
                        spec.metric, "trained")
    t1 = time.perf_counter()
    control = _held_out(runner(spec.recipe, manifests[spec.control_flags], runs / "control",
                               (*quick, *c.overrides), settings), spec.metric, "control")
    t2 = time.perf_counter()
    chance, control_chance = chance_of(spec, trained), chance_of(spec, control)
    n = float(control.get("examples") or 0)
    se = math.sqrt(max(control_chance * (1 - control_chance), 0.0) / n) if n and 0 <= control_chance <= 1 else math.nan
    tolerance = max(3 * se, 0.03) if math.isfinite(se) else 0.03
    details = {
        "chance_source": spec.chance if isinstance(spec.chance, str) else "constant",
        "control_chance": control_chance,
        "control_minus_chance": float(control[spec.metric]) - control_chance,
        "trained_minus_chance": float(trained[spec.metric]) - chance,
        "control_se": se,
        "control_at_chance": abs(float(control[spec.metric]) - control_chance) <= tolerance,
        "held_out_examples": {"trained": trained.get("examples"), "control": control.get("examples")},
        "corpus_flags": list(spec.corpus_flags),
        "control": {"synth_flags": list(c.synth_flags), "overrides": list(c.overrides),
                    "description": c.description},
        "recipe": spec.recipe,
        "quick_overrides": list(quick),
        "seconds_trained": t1 - t0,
        "seconds_control": t2 - t1,
        "runs": {"trained": str(runs / "trained"), "control": str(runs / "control")},
    }
    return TaskResult(spec.metric, chance, float(trained[spec.metric]), float(control[spec.metric]), t2 - t0, details)


# ============ report ============
def results_json(results: Mapping[str, TaskResult], *, skipped: Mapping[str, str] | None = None,
                 failed: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The results file: ``tasks`` (the five figures per task), ``details``, ``skipped``, ``failed``, ``config``."""
    return {
        "tasks": {name: r.entry() for name, r in results.items()},
        "details": {name: _plain(r.details) for name, r in results.items()},
        "skipped": dict(skipped or {}),
        "failed": dict(failed or {}),
        "config": _plain(dict(config or {})),
    }


def _plain(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def format_table(results: Mapping[str, TaskResult]) -> str:
    """One row per task: task, metric, chance, control, trained, seconds."""
    header = ("task", "metric", "chance", "control", "trained", "seconds")
    rows = [header] + [(name, r.metric, f"{r.chance:.3f}", f"{r.control:.3f}", f"{r.trained:.3f}", f"{r.seconds:.0f}")
                       for name, r in results.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def control_notes(results: Mapping[str, TaskResult]) -> list[str]:
    """One line per task on its control: the control's own chance (for measured chance levels) and the verdict."""
    lines = []
    for name, r in results.items():
        d = r.details
        if "control_chance" not in d:
            continue
        own = f" (its own {d['chance_source']}: {d['control_chance']:.3f})" if d.get("chance_source") != "constant" \
            else ""
        verdict = "at chance" if d.get("control_at_chance") else "NOT at chance"
        se = d.get("control_se")
        noise = f", se {se:.3f}" if isinstance(se, float) and math.isfinite(se) else ""
        lines.append(f"{name}: control {r.control:.3f}{own} is {verdict}{noise}; trained - chance = "
                     f"{r.trained - r.chance:+.3f}")
    return lines


# ============ main ============
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK.videos} videos, {QUICK.epochs} epochs (a few minutes; the slow test suite)")
    p.add_argument("--tasks", default="", help="comma-separated task names (default: every pretext task present)")
    p.add_argument("--out", default="", help="write the results JSON here")
    p.add_argument("--work", default="", help="folder for corpora, runs and logs (kept); default: a temporary one")
    p.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    p.add_argument("--seed", type=int, default=0, help="corpus and run seed (default 0)")
    p.add_argument("--videos", type=int, default=0, help="override the corpus size of the mode")
    p.add_argument("--epochs", type=int, default=0, help="override run.epochs of every run")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override for every run")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per subprocess (default 3600)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit status (1 when a task failed)."""
    args = parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.videos or args.epochs:
        mode = Mode(args.videos or mode.videos, mode.frames, args.epochs or mode.epochs, mode.overrides, mode.quick)
    names = [n.strip() for n in args.tasks.split(",") if n.strip()] or None
    specs, skipped = discover(names)
    for name, why in skipped.items():
        print(f"skip {name}: {why}", file=sys.stderr)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="vidssl-pretext-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(mode=mode, seed=args.seed, work=work.resolve(), overrides=tuple(args.set),
                        timeout=args.timeout)
    results: dict[str, TaskResult] = {}
    failed: dict[str, str] = {}
    config: dict[str, Any] = {"quick": args.quick, "videos": mode.videos, "frames": mode.frames,
                              "epochs": mode.epochs if mode.epochs is not None else "recipe",
                              "overrides": [*mode.overrides, *settings.overrides], "seed": args.seed,
                              "work": str(settings.work), "corpus_seconds": {}}
    try:
        manifests: dict[tuple[str, ...], Path] = {}
        wanted = {f for s in specs.values() for f in (s.corpus_flags, s.control_flags)} - {()}
        for flags in [(), *sorted(wanted)]:
            t0 = time.perf_counter()
            videos = corpus_videos(specs, flags, mode)
            print(f"synth {corpus_key(flags)} ({videos} videos)...", file=sys.stderr, flush=True)
            try:
                manifests[flags] = synthesize(settings, flags, videos)
            except (RunFailed, subprocess.TimeoutExpired) as err:
                print(f"corpus {corpus_key(flags)} failed: {err}", file=sys.stderr)
                for name in [n for n, s in specs.items() if flags in (s.corpus_flags, s.control_flags)]:
                    failed.setdefault(name, f"corpus {corpus_key(flags)}: {str(err).splitlines()[0]}")
            config["corpus_seconds"][corpus_key(flags)] = time.perf_counter() - t0
        for name, spec in specs.items():
            if name in failed:
                continue
            print(f"{name}: training {spec.recipe} (trained, then control)...", file=sys.stderr, flush=True)
            try:
                results[name] = run_task(name, spec, manifests, settings)
            except (RunFailed, KeyError, ValueError, subprocess.TimeoutExpired) as err:
                failed[name] = str(err)
                print(f"{name} FAILED: {err}", file=sys.stderr)
                continue
            r = results[name]
            print(f"{name}: {r.metric} trained {r.trained:.3f} control {r.control:.3f} chance {r.chance:.3f} "
                  f"({r.seconds:.0f} s)", file=sys.stderr, flush=True)
    finally:
        if not args.work and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            config["work"] = None
    report = results_json(results, skipped=skipped, failed=failed, config=config)
    print(format_table(results))
    for line in control_notes(results):
        print(line)
    if failed:
        print(f"failed: {', '.join(failed)}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
