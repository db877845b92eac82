"""The main job end to end on the built-in synthetic corpus: synthesize, preprocess, pretrain, fine-tune, track.

Examples:
  vidssl demo --out demo_out                   # the full demo (`make demo`); ~540 CPU-s, 5 min on 2 idle cores
  vidssl demo --out /tmp/demo --quick          # tiny sizes, a smoke test of every stage (a few minutes)
  vidssl demo --out demo_out --task tracking_triplets --pretrain-epochs 20   # another pretext task, longer
  vidssl demo --out demo_out --dry-run         # print the plan (every command) and exit

Stages, each a plain `vidssl` / `vidssl-data` command run in a child process (OUT/commands.sh lists them, so any
stage can be rerun or changed by hand):
  1 synth     vidssl-data synth OUT/corpus: labelled videos, masks, boxes, train/val/test splits
  2 prep      vidssl-data motion / split / stats on the corpus manifest (a tool that is not available or fails
              is reported and skipped: the synthetic manifest is already training-ready)
  3 pretrain  vidssl pretrain -c configs/pretrain/<task>_tiny.yaml on the train split, labels unused
  4 finetune  vidssl finetune -c configs/finetune/supervised_tiny.yaml with data.labels_per_class=K, once from the
              pretrained backbone and once from scratch (same seed, same labelled videos)
  5 track     vidssl track: label propagation of the first-frame masks of held-out (test split) videos with the
              pretrained backbone and the identity / Lab-pixel / random-backbone baselines, scored with J&F
  6 report    a results table, OUT/demo_results.json and OUT/demo_results.md

Rerunning the same command skips the stages whose outputs exist and continues an interrupted training from its
checkpoint; changing a size (--videos, epochs, --task, ...) redoes the stages it affects and everything after them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HELP = "the main job end to end on the built-in synthetic corpus"

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
FINETUNE_RECIPE = CONFIGS / "finetune" / "supervised_tiny.yaml"
# Default pretext task, best first: colourisation learns the frame-to-frame correspondence that label propagation
# uses (stage 5) and trains on every pixel of the whole frame; the others follow. `supervised` (labels used) is the
# last resort so the demo runs with whatever is installed. `--task` picks another one.
# Measured with the demo (docs/notes/demo.md): shuffle_and_learn pretrains fastest (about 4 min) and gave
# +3 points at K=4; tracking_triplets -8 points. The full quality benchmark should settle the order.
TASK_PREFERENCE = ("shuffle_and_learn", "tracking_triplets", "colorization", "av_correspondence", "supervised")
STAGES = ("synth", "prep", "pretrain", "finetune", "track", "report")
# Label propagation baselines reported beside the pretrained backbone.
TRACK_BASELINES = ("identity", "lab", "random")

_EPILOG = """\
sizes (defaults: full demo / --quick), and when to change them:
  --videos 300 / 30          corpus size; more videos = better pretext features and test accuracy, linear cost
                             in every stage (synth ~0.15 CPU-s/video). Lower it first on a slow machine
  --pretrain-epochs 12 / 1   pretext epochs over the train split (the tiny recipes' own 12); more epochs give
                             better features, linear cost (~27 CPU-s per epoch for shuffle_and_learn, 300 videos)
  --finetune-epochs 10 / 1   fine-tuning epochs over the K labelled videos per class (4 clips each per epoch)
  --labels-per-class 4 / 1   the label budget K; pretraining matters most when K is small (2-10)
  --track-videos 12 / 2      held-out test videos for label propagation; more = steadier J&F
  --threads 2                torch threads per process; 1 on a machine shared with other jobs
Cost: ~540 CPU-seconds in all with these defaults (pretrain 60 % of it): 5 minutes measured on 2 idle
cores; on a machine shared with other jobs it is several times longer (docs/notes/demo.md has the measurements).
"""


@dataclass(frozen=True)
class Sizes:
    """Corpus and training sizes of a demo run (full or ``--quick``)."""

    videos: int
    frames: int
    pretrain_epochs: int
    finetune_epochs: int
    labels_per_class: int
    finetune_clips_per_video: int
    eval_clips: int
    track_videos: int
    max_steps_per_epoch: int


FULL = Sizes(videos=300, frames=48, pretrain_epochs=12, finetune_epochs=10, labels_per_class=4,
             finetune_clips_per_video=4, eval_clips=5, track_videos=12, max_steps_per_epoch=0)  # fmt: skip
QUICK = Sizes(videos=30, frames=32, pretrain_epochs=1, finetune_epochs=1, labels_per_class=1,
              finetune_clips_per_video=1, eval_clips=2, track_videos=2, max_steps_per_epoch=3)  # fmt: skip


@dataclass
class DemoPlan:
    """Everything a demo run does, resolved from the command line.

    Attributes:
        out: output folder.
        task: pretext task name (``vidssl.tasks.registry``).
        recipe: pretrain recipe used for ``task``.
        sizes: corpus and training sizes.
        seed: seed of the corpus, the trainings and the random baseline.
        threads: torch threads per child process.
        python: interpreter running the child commands.
        stages: stages to run, in order (the others are only read for the report).
        notes: remarks for the report (fallbacks taken).
    """

    out: Path
    task: str
    recipe: Path
    sizes: Sizes
    seed: int = 0
    threads: int = 2
    python: str = sys.executable
    stages: tuple[str, ...] = STAGES
    notes: list[str] = field(default_factory=list)

    @property
    def corpus(self) -> Path:
        """Synthetic corpus folder."""
        return self.out / "corpus"

    @property
    def manifest(self) -> Path:
        """The corpus manifest every training reads."""
        return self.corpus / "manifest.csv"

    @property
    def pretrain_dir(self) -> Path:
        """Pretrain run folder."""
        return self.out / "runs" / f"pretrain_{self.task}"

    def finetune_dir(self, init: str) -> Path:
        """Fine-tune run folder for ``init`` (``pretrained`` or ``scratch``)."""
        return self.out / "runs" / f"finetune_{init}"

    @property
    def track_dir(self) -> Path:
        """Label propagation output folder."""
        return self.out / "track"

    @property
    def prep_dir(self) -> Path:
        """Preprocessing outputs (stats, logs)."""
        return self.out / "prep"


# ----------------------------------------------------------------------------------------------------------------
# arguments and plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo options."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("--out", default="demo_out", metavar="OUT", help="output folder (default: demo_out)")
    parser.add_argument(
        "--task", default=None,
        help=f"pretext task (default: the first available of {', '.join(TASK_PREFERENCE)}); needs "
        "configs/pretrain/<task>_tiny.yaml",
    )  # fmt: skip
    parser.add_argument("--recipe", default=None, metavar="YAML", help="pretrain recipe (default: the task's tiny one)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test of every stage")
    parser.add_argument("--videos", type=int, default=None, help="corpus size (see below)")
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="pretext training epochs")
    parser.add_argument("--finetune-epochs", type=int, default=None, help="fine-tuning epochs")
    parser.add_argument("--labels-per-class", type=int, default=None, metavar="K", help="label budget K")
    parser.add_argument("--track-videos", type=int, default=None, help="held-out videos for label propagation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corpus, trainings and baselines (default 0)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process (default 2)")
    parser.add_argument(
        "--stages", default=",".join(STAGES),
        help="comma-separated stages to run (default: all); finished stages are skipped anyway",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="redo the selected stages even when finished")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (every command) and exit")


def available_tasks() -> list[str]:
    """Registered tasks whose module exists and that have a ``configs/pretrain/<task>_tiny.yaml`` recipe."""
    from vidssl.tasks.registry import TASKS

    out = []
    for name, entry in TASKS.items():
        try:
            found = importlib.util.find_spec(entry.module) is not None
        except (ImportError, ValueError):
            found = False
        if found and (CONFIGS / "pretrain" / f"{name}_tiny.yaml").is_file():
            out.append(name)
    return out


def choose_task(requested: str | None, available: Sequence[str]) -> tuple[str, list[str]]:
    """Pick the pretext task: ``requested`` when given, else the first of :data:`TASK_PREFERENCE` available.

    Args:
        requested: ``--task`` (``None``: choose).
        available: tasks that can run (see :func:`available_tasks`).

    Returns:
        The task and notes for the report.

    Raises:
        ValueError: the requested task is not available, or none is.
    """
    if requested:
        if requested not in available:
            raise ValueError(
                f"task {requested!r} is not available (module or configs/pretrain/{requested}_tiny.yaml "
                f"missing); available: {', '.join(available) or 'none'}"
            )
        return requested, []
    for name in TASK_PREFERENCE:
        if name in available:
            notes = []
            if name != TASK_PREFERENCE[0]:
                notes.append(f"pretext task {name}: preferred {TASK_PREFERENCE[0]} is not available yet")
            if name == "supervised":
                notes.append("no pretext task is available: pretraining is supervised (labels used), an upper bound")
            return name, notes
    if available:
        return available[0], [f"pretext task {available[0]}: none of {', '.join(TASK_PREFERENCE)} is available"]
    raise ValueError("no task with a configs/pretrain/<task>_tiny.yaml recipe is available")


def build_plan(args: argparse.Namespace, available: Sequence[str] | None = None) -> DemoPlan:
    """Resolve the command line into a :class:`DemoPlan` (sizes, task, stages).

    Raises:
        ValueError: bad sizes, an unknown stage, or no usable task.
    """
    base = QUICK if args.quick else FULL
    picked = {
        "videos": args.videos, "pretrain_epochs": args.pretrain_epochs, "finetune_epochs": args.finetune_epochs,
        "labels_per_class": args.labels_per_class, "track_videos": args.track_videos,
    }  # fmt: skip
    sizes = Sizes(**{**asdict(base), **{k: v for k, v in picked.items() if v is not None}})
    for name, value in asdict(sizes).items():
        if value < 0 or (value == 0 and name not in ("max_steps_per_epoch",)):
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if sizes.videos < 20:
        raise ValueError(f"--videos must be at least 20 (every class needs train and test videos), got {sizes.videos}")
    stages = tuple(s for s in args.stages.split(",") if s)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    task, notes = choose_task(args.task, available_tasks() if available is None else available)
    recipe = Path(args.recipe) if args.recipe else CONFIGS / "pretrain" / f"{task}_tiny.yaml"
    return DemoPlan(out=Path(args.out), task=task, recipe=recipe, sizes=sizes, seed=args.seed,
                    threads=args.threads, stages=tuple(s for s in STAGES if s in stages), notes=notes)  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# commands


def task_synth_flags(task: str) -> tuple[str, ...]:
    """Corpus flags the task's benchmark trains on (``BENCHMARK.synth_flags``; AVC: ``--neutral-background``)."""
    if task == "supervised":
        return ()
    from vidssl.tasks.registry import task_module

    spec = getattr(task_module(task), "BENCHMARK", None)
    return spec.corpus_flags if spec is not None else ()


def synth_command(plan: DemoPlan, overwrite: bool = False) -> list[str]:
    """``vidssl-data synth`` for the demo corpus (with the task's corpus flags, so it learns as benchmarked)."""
    cmd = [plan.python, "-m", "data_tools", "synth", str(plan.corpus), "--videos", str(plan.sizes.videos),
           "--seed", str(plan.seed), "--frames", str(plan.sizes.frames), *task_synth_flags(plan.task)]  # fmt: skip
    return [*cmd, "--overwrite"] if overwrite else cmd


def prep_commands(plan: DemoPlan) -> dict[str, list[str]]:
    """``vidssl-data`` preprocessing tools, by name (whether each is installed is checked when it runs)."""
    manifest = str(plan.manifest)
    py = [plan.python, "-m", "data_tools"]
    return {
        # Motion profiles go into the manifest itself (its motion column), where the planners of Shuffle and Learn
        # and tracking pick high-motion windows.
        "motion": [*py, "motion", manifest, "--workers", "2", "--no-progress"],
        # The synthetic corpus is split already (stratified by class; its DAVIS frames are the test split's), so
        # `split` writes its grouped, stratified split to a separate manifest instead of replacing the one the
        # demo trains and evaluates on.
        "split": [
            *py,
            "split",
            manifest,
            "--out",
            str(plan.prep_dir / "manifest_split.csv"),
            "--ratios",
            "0.7,0.1,0.2",
            "--stratify",
            "--seed",
            str(plan.seed),
        ],
        "stats": [
            *py,
            "stats",
            manifest,
            "--png",
            str(plan.prep_dir / "corpus_stats.png"),
            "--json",
            str(plan.prep_dir / "corpus_stats.json"),
        ],
    }


def _common_overrides(plan: DemoPlan, out_dir: Path, epochs: int, fresh: bool) -> list[str]:
    items = [f"data.manifest={plan.manifest}", f"run.out_dir={out_dir}", f"run.epochs={epochs}",
             f"run.seed={plan.seed}", f"run.threads={plan.threads}"]  # fmt: skip
    if plan.sizes.max_steps_per_epoch:
        items.append(f"run.max_steps_per_epoch={plan.sizes.max_steps_per_epoch}")
    if fresh:
        items.append("run.resume=never")
    return items


def pretrain_command(plan: DemoPlan, fresh: bool = False) -> list[str]:
    """``vidssl pretrain`` of the pretext task on the corpus's train split, validated on held-out videos at the end."""
    return [plan.python, "-m", "vidssl", "pretrain", "-c", str(plan.recipe),
            *_common_overrides(plan, plan.pretrain_dir, plan.sizes.pretrain_epochs, fresh), "run.eval_every=0",
            f"eval.clips_per_video={plan.sizes.eval_clips}"]  # fmt: skip


def model_overrides(recipe: Path) -> list[str]:
    """``model.name`` / ``model.kwargs`` overrides that give the fine-tune the pretrain recipe's backbone.

    Both fine-tunes (pretrained and scratch) use them, so the comparison is between identical architectures and
    ``finetune.init`` accepts the checkpoint (a tiny recipe may narrow the trunk, e.g. ``{width: 16}``).
    """
    import yaml

    model = (yaml.safe_load(recipe.read_text()) or {}).get("model") or {}
    items = []
    if model.get("name"):
        items.append(f"model.name={model['name']}")
    if model.get("kwargs"):
        items.append(f"model.kwargs={json.dumps(model['kwargs'])}")  # JSON is YAML flow syntax
    return items


def finetune_command(plan: DemoPlan, init: str, fresh: bool = False) -> list[str]:
    """``vidssl finetune`` with the label budget, from the pretrained run (``init="pretrained"``) or from scratch."""
    s = plan.sizes
    cmd = [plan.python, "-m", "vidssl", "finetune", "-c", str(FINETUNE_RECIPE), *model_overrides(plan.recipe),
           *_common_overrides(plan, plan.finetune_dir(init), s.finetune_epochs, fresh),
           f"data.labels_per_class={s.labels_per_class}", f"data.clips_per_video={s.finetune_clips_per_video}",
           "data.val_split=", "run.eval_every=0", f"eval.clips_per_video={s.eval_clips}"]  # fmt: skip
    if init == "pretrained":
        cmd.append(f"finetune.init={plan.pretrain_dir}")
    return cmd


def track_sequences(plan: DemoPlan) -> list[str]:
    """Held-out videos for label propagation: test-split videos with decoded frames, first ``track_videos``."""
    import csv

    frames = plan.corpus / "davis" / "JPEGImages"
    if not plan.manifest.is_file() or not frames.is_dir():
        return []
    with plan.manifest.open(newline="") as f:
        test = [row["video_id"] for row in csv.DictReader(f) if row.get("split") == "test"]
    return [v for v in test if (frames / v).is_dir()][: plan.sizes.track_videos]


def track_command(plan: DemoPlan, sequences: Sequence[str]) -> list[str]:
    """``vidssl track`` on the held-out sequences with the checkpoint and every baseline."""
    return [plan.python, "-m", "vidssl", "track", "--davis-root", str(plan.corpus / "davis"),
            "--out", str(plan.track_dir), "--checkpoint", str(plan.pretrain_dir),
            "--sequences", ",".join(sequences) or "<test videos>",
            "--methods", ",".join((*TRACK_BASELINES, "checkpoint")),
            "--seed", str(plan.seed), "--threads", str(plan.threads),
            "--no-gif", "--no-predictions", "--quiet"]  # fmt: skip


def stage_outputs(plan: DemoPlan) -> dict[str, list[Path]]:
    """Files whose presence marks each stage as finished."""
    return {
        "synth": [plan.corpus / "DONE", plan.manifest],
        "prep": [plan.prep_dir / "prep.json"],
        "pretrain": [plan.pretrain_dir / "metrics.json", plan.pretrain_dir / "checkpoint.pt"],
        "finetune": [plan.finetune_dir(i) / "metrics.json" for i in ("pretrained", "scratch")],
        "track": [plan.track_dir / "metrics.json"],
        "report": [plan.out / "demo_results.json", plan.out / "demo_results.md"],
    }


def stage_params(plan: DemoPlan) -> dict[str, dict[str, Any]]:
    """What each stage's result depends on, upstream stages included: a change redoes the stage."""
    s = plan.sizes
    synth = {"videos": s.videos, "frames": s.frames, "seed": plan.seed, "flags": list(task_synth_flags(plan.task))}
    prep = {**synth}
    pretrain = {**prep, "task": plan.task, "recipe": str(plan.recipe), "epochs": s.pretrain_epochs,
                "max_steps": s.max_steps_per_epoch}  # fmt: skip
    finetune = {**pretrain, "ft_epochs": s.finetune_epochs, "K": s.labels_per_class,
                "ft_clips": s.finetune_clips_per_video, "eval_clips": s.eval_clips}  # fmt: skip
    track = {**pretrain, "track_videos": s.track_videos}
    return {"synth": synth, "prep": prep, "pretrain": pretrain, "finetune": finetune, "track": track,
            "report": {**finetune, **track}}  # fmt: skip


def plan_lines(plan: DemoPlan) -> list[str]:
    """The plan as shell lines (what ``--dry-run`` prints and ``OUT/commands.sh`` keeps)."""
    lines = [f"# vidssl demo: task {plan.task}, sizes {asdict(plan.sizes)}, seed {plan.seed}"]
    lines += [f"# note: {n}" for n in plan.notes]
    lines.append(_shell(synth_command(plan)))
    lines += [_shell(c) + "   # when available" for c in prep_commands(plan).values()]
    lines.append(_shell(pretrain_command(plan)))
    lines += [_shell(finetune_command(plan, i)) for i in ("pretrained", "scratch")]
    lines.append(_shell(track_command(plan, track_sequences(plan))))
    return lines


def _shell(cmd: Sequence[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)


# ----------------------------------------------------------------------------------------------------------------
# running


class StageFailed(RuntimeError):
    """A stage's command exited with an error; the message names it and the stage to rerun."""


def _stamp_path(plan: DemoPlan, stage: str) -> Path:
    return plan.out / ".demo" / f"{stage}.json"


def _read_stamp(plan: DemoPlan, stage: str) -> dict[str, Any] | None:
    try:
        return json.loads(_stamp_path(plan, stage).read_text())
    except (OSError, ValueError):
        return None


def _write_stamp(
    plan: DemoPlan, stage: str, params: dict[str, Any], complete: bool, seconds: float = 0.0, cpu: float = 0.0,
    fresh_pending: bool = False,
) -> None:
    path = _stamp_path(plan, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"params": params, "complete": complete, "seconds": seconds, "cpu_seconds": cpu,
                               "fresh_pending": fresh_pending}))
    os.replace(tmp, path)


def stage_state(plan: DemoPlan, stage: str) -> str:
    """Where ``stage`` stands in ``plan.out``.

    Returns:
        ``done`` (finished with the same parameters, outputs present), ``resume`` (same parameters, unfinished or
        outputs missing), ``changed`` (started or finished with other parameters, upstream ones included) or
        ``fresh`` (never started).
    """
    stamp = _read_stamp(plan, stage)
    params = json.loads(json.dumps(stage_params(plan)[stage]))
    if stamp is None:
        return "fresh"
    if stamp.get("params") != params:
        return "changed"
    if stamp.get("complete") and all(p.exists() for p in stage_outputs(plan)[stage]):
        return "done"
    return "resume"


def _say(msg: str) -> None:
    print(msg, flush=True)


def _run(cmd: Sequence[str], log: Path | None = None, check: bool = True) -> int:
    """Run one child command (output shown live); append it to OUT/commands.sh."""
    _say(f"  $ {_shell(cmd)}")
    if log is not None:
        with log.open("a") as f:
            f.write(_shell(cmd) + "\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    rc = subprocess.call(list(cmd), env=env)
    if rc and check:
        raise StageFailed(f"command failed with exit code {rc}: {_shell(cmd)}")
    return rc


def _tool_available(tool: str) -> tuple[bool, str]:
    """Whether ``vidssl-data TOOL`` is installed (its module imports)."""
    try:
        from data_tools.cli import COMMANDS
    except ImportError as err:
        return False, f"data_tools is not importable ({err})"
    if tool not in COMMANDS:
        return False, f"vidssl-data has no {tool!r} command"
    try:
        found = importlib.util.find_spec(COMMANDS[tool][0]) is not None
    except (ImportError, ValueError):
        found = False
    return found, "" if found else f"vidssl-data {tool} is not available yet (module {COMMANDS[tool][0]} missing)"


def _run_prep(plan: DemoPlan, log: Path) -> None:
    plan.prep_dir.mkdir(parents=True, exist_ok=True)
    status: dict[str, Any] = {}
    for tool, cmd in prep_commands(plan).items():
        ok, why = _tool_available(tool)
        if not ok:
            _say(f"  skip {tool}: {why}; the synthetic manifest is used as it is")
            status[tool] = {"status": "unavailable", "reason": why}
            continue
        start = time.perf_counter()
        rc = _run(cmd, log, check=False)
        seconds = round(time.perf_counter() - start, 1)
        if rc:
            _say(f"  {tool} failed (exit code {rc}); continuing with the synthetic manifest as it is")
        status[tool] = {"status": "ok" if rc == 0 else f"failed (exit code {rc})", "seconds": seconds,
                        "command": _shell(cmd)}  # fmt: skip
    (plan.prep_dir / "prep.json").write_text(json.dumps(status, indent=1))


def _children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes (0 where not measurable)."""
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    except (ImportError, OSError):
        return 0.0
    return usage.ru_utime + usage.ru_stime


def _clear(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)


def run_stage(plan: DemoPlan, stage: str, log: Path, force: bool = False) -> str:
    """Run one stage unless it is finished; returns what happened (``skipped``, ``ran``, ``resumed``).

    Raises:
        StageFailed: a command failed.
    """
    state = stage_state(plan, stage)
    if state == "done" and not force:
        return "skipped"
    # A stage that failed after its parameters changed must still start over on the rerun: its run folders hold
    # the *old* parameters' runs, which the training commands refuse to resume.
    fresh = state == "changed" or force or bool((_read_stamp(plan, stage) or {}).get("fresh_pending"))
    params = stage_params(plan)[stage]
    _write_stamp(plan, stage, params, complete=False, fresh_pending=fresh)
    start = time.perf_counter()
    cpu_start = _children_cpu()
    if stage == "synth":
        overwrite = (plan.corpus / "synth_config.json").exists()
        _run(synth_command(plan, overwrite=overwrite), log)
    elif stage == "prep":
        _run_prep(plan, log)
    elif stage == "pretrain":
        _run(pretrain_command(plan, fresh=fresh), log)
    elif stage == "finetune":
        for init in ("pretrained", "scratch"):
            _say(f"  fine-tune from {init} (K={plan.sizes.labels_per_class} labelled videos per class)")
            _run(finetune_command(plan, init, fresh=fresh), log)
    elif stage == "track":
        sequences = track_sequences(plan)
        if not sequences:
            raise StageFailed(f"no held-out sequences with frames under {plan.corpus / 'davis'}; rerun stage synth")
        _clear(plan.track_dir)
        _run(track_command(plan, sequences), log)
    elif stage == "report":
        results = collect_results(plan)
        write_results(plan, results)
    cpu = round(_children_cpu() - cpu_start, 1)
    _write_stamp(plan, stage, params, complete=True, seconds=round(time.perf_counter() - start, 1), cpu=cpu)
    return "resumed" if state == "resume" else "ran"


# ----------------------------------------------------------------------------------------------------------------
# results


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def task_benchmark(task: str) -> tuple[str | None, float | str | None]:
    """The pretext task's headline metric and chance level (its ``BENCHMARK`` spec), ``(None, None)`` without one."""
    try:
        from vidssl.tasks.registry import task_module

        spec = getattr(task_module(task), "BENCHMARK", None)
    except Exception:  # a broken task module must not stop the report
        return None, None
    return (spec.metric, spec.chance) if spec is not None else (None, None)


def pretext_summary(metrics: dict[str, Any], metric: str | None, chance: float | str | None) -> dict[str, Any]:
    """Headline pretext figure of a pretrain run's ``metrics.json``.

    Args:
        metrics: the run's ``metrics.json``.
        metric: diagnostics key to report (``None``: the first accuracy-like key, else the loss).
        chance: chance level, or the diagnostics key measuring it (colorization: ``majority_acc``).

    Returns:
        ``metric``, ``value``, ``split`` (``val`` = held-out videos, ``test``, or ``train``), ``chance``, ``loss``.
    """
    sources = {k: metrics.get(k) for k in ("val", "test", "train") if isinstance(metrics.get(k), dict)}
    sources = {k: v for k, v in sources.items() if v}
    if metric is None:
        for values in sources.values():
            numeric = sorted(k for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
            metric = next((k for k in numeric if k.endswith("acc") or k.endswith("accuracy")), None)
            if metric:
                break
        metric = metric or "loss"
    split = next((k for k, v in sources.items() if isinstance(v.get(metric), (int, float))), None)
    values = sources.get(split or "", {})
    chance_value = values.get(chance) if isinstance(chance, str) else chance
    loss = next((v.get("loss") for v in sources.values() if isinstance(v.get("loss"), (int, float))), None)
    chance_from = chance if isinstance(chance, str) else None
    return {"metric": metric, "value": values.get(metric), "split": split, "chance": chance_value,
            "chance_from": chance_from, "loss": loss}  # fmt: skip


def collect_results(plan: DemoPlan) -> dict[str, Any]:
    """Read every stage's outputs into one JSON-ready dict (missing parts stay ``None``)."""
    pre = _read_json(plan.pretrain_dir / "metrics.json")
    metric, chance = task_benchmark(plan.task)
    if plan.task == "supervised":
        metric, chance = "video_accuracy", None
    pretext = {"task": plan.task, "recipe": str(plan.recipe), "epochs": pre.get("epochs"),
               **pretext_summary(pre, metric, chance),
               "all": {k: pre.get(k) for k in ("train", "val") if isinstance(pre.get(k), dict)}}  # fmt: skip
    finetune: dict[str, Any] = {"labels_per_class": plan.sizes.labels_per_class}
    for init in ("pretrained", "scratch"):
        test = _read_json(plan.finetune_dir(init) / "metrics.json").get("test") or {}
        finetune[init] = {k: test.get(k) for k in ("video_accuracy", "clip_accuracy", "mean_class_accuracy",
                                                   "num_videos")} if test else None  # fmt: skip
    track_raw = _read_json(plan.track_dir / "metrics.json").get("methods", {})
    tracking: dict[str, Any] = {}
    for method, data in track_raw.items():
        key = "random" if method.startswith("random") else method
        mean = data.get("mean", {})
        tracking[key] = {"name": method, "J&F": mean.get("J&F-Mean"), "J": mean.get("J-Mean"),
                         "F": mean.get("F-Mean"), "objects": data.get("num_objects"),
                         "sequences": len(data.get("per_sequence", {}))}  # fmt: skip
    prep = _read_json(plan.prep_dir / "prep.json")
    stamps = {s: _read_stamp(plan, s) or {} for s in STAGES if s != "report"}
    seconds = {s: stamp.get("seconds") for s, stamp in stamps.items()}
    cpu = {s: stamp.get("cpu_seconds") for s, stamp in stamps.items()}
    plots = {
        "pretrain loss curves": plan.pretrain_dir / "loss_curves.png",
        "fine-tune confusion matrix (pretrained)": plan.finetune_dir("pretrained") / "confusion_matrix.png",
        "fine-tune confusion matrix (scratch)": plan.finetune_dir("scratch") / "confusion_matrix.png",
        "fine-tune loss curves (pretrained)": plan.finetune_dir("pretrained") / "loss_curves.png",
        "label propagation overlays": plan.track_dir / "overlays",
    }
    plots["corpus statistics"] = plan.prep_dir / "corpus_stats.png"
    return {
        "task": plan.task,
        "sizes": asdict(plan.sizes),
        "seed": plan.seed,
        "pretext": pretext,
        "finetune": finetune,
        "tracking": tracking,
        "prep": {k: v.get("status") for k, v in prep.items()},
        "seconds": {**seconds, "total": round(sum(v for v in seconds.values() if v), 1)},
        "cpu_seconds": {**cpu, "total": round(sum(v for v in cpu.values() if v), 1)},
        "plots": {k: str(v) for k, v in plots.items() if v.exists()},
        "notes": list(plan.notes),
    }


def _fmt(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def results_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The results table as (measure, value, what it means) rows."""
    rows: list[tuple[str, str, str]] = []
    p = results.get("pretext", {})
    where = {"val": "held-out val videos", "test": "test videos", "train": "last training epoch"}.get(
        p.get("split"), ""
    )
    chance = p.get("chance")
    base = f"chance = {p['chance_from']}" if p.get("chance_from") else "chance"
    epochs = p.get("epochs")
    rows.append((f"pretext {p.get('task')}: {p.get('metric')}", _fmt(p.get("value")),
                 f"pretext task on {where} after {epochs} epoch{'' if epochs == 1 else 's'}"
                 + (f" ({base} {_fmt(chance)})" if isinstance(chance, (int, float)) else "")))  # fmt: skip
    f = results.get("finetune", {})
    k = f.get("labels_per_class")
    accs = {}
    for init in ("pretrained", "scratch"):
        data = f.get(init) or {}
        accs[init] = data.get("video_accuracy")
        rows.append((f"action video acc, {init}", _fmt(accs[init]),
                     f"test-split video accuracy after fine-tuning on K={k} labels/class"
                     + (f" ({data.get('num_videos')} videos)" if data.get("num_videos") else "")))  # fmt: skip
    if None not in accs.values():
        gain = accs["pretrained"] - accs["scratch"]
        rows.append(("  gain from pretraining", f"{gain:+.3f}", "pretrained minus scratch (chance = 0.100)"))
    t = results.get("tracking", {})
    for method, meaning in (
        ("checkpoint", "pretrained backbone features"),
        ("identity", "first mask copied"),
        ("lab", "raw Lab pixels as features"),
        ("random", "randomly initialised backbone"),
    ):
        data = t.get(method)
        if data:
            rows.append((f"J&F {method}", _fmt(data.get("J&F")),
                         f"label propagation, {meaning} ({data.get('sequences')} held-out videos)"))  # fmt: skip
    return rows


def format_table(rows: Sequence[tuple[str, str, str]]) -> str:
    """Plain-text table with aligned columns."""
    header = ("measure", "value", "what it is")
    w0 = max(len(r[0]) for r in [header, *rows])
    w1 = max(len(r[1]) for r in [header, *rows])
    lines = [f"{header[0]:<{w0}}  {header[1]:>{w1}}  {header[2]}", f"{'-' * w0}  {'-' * w1}  {'-' * 10}"]
    lines += [f"{a:<{w0}}  {b:>{w1}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def format_markdown(results: dict[str, Any]) -> str:
    """``demo_results.md``: the table, the plots, timings and notes."""
    rows = results_rows(results)
    s = results.get("sizes", {})
    lines = [
        "# vidssl demo results", "",
        f"Pretext task `{results.get('task')}`, {s.get('videos')} synthetic videos, seed {results.get('seed')}; "
        f"fine-tuning with K={s.get('labels_per_class')} labelled videos per class.", "",
        "| measure | value | what it is |", "|---|---:|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows], "",
    ]  # fmt: skip
    if results.get("plots"):
        lines += ["## Plots", "", *[f"- {k}: `{v}`" for k, v in results["plots"].items()], ""]
    sec = results.get("seconds", {})
    cpu = results.get("cpu_seconds", {})
    lines += ["## Time per stage", "", "| stage | wall s | CPU s (children) |", "|---|---:|---:|"]
    lines += [f"| {k} | {_fmt(v, 0) if v else 'n/a'} | {_fmt(cpu.get(k), 0) if cpu.get(k) else 'n/a'} |"
              for k, v in sec.items()]  # fmt: skip
    lines.append("")
    if results.get("prep"):
        lines += ["## Preprocessing", "", *[f"- vidssl-data {k}: {v}" for k, v in results["prep"].items()], ""]
    lines += ["Every command the demo ran is in `commands.sh` next to this file.", ""]
    if results.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in results["notes"]], ""]
    return "\n".join(lines)


def write_results(plan: DemoPlan, results: dict[str, Any]) -> None:
    """Write ``OUT/demo_results.json`` and ``OUT/demo_results.md``."""
    plan.out.mkdir(parents=True, exist_ok=True)
    (plan.out / "demo_results.json").write_text(json.dumps(results, indent=2, default=str))
    (plan.out / "demo_results.md").write_text(format_markdown(results))


def print_results(plan: DemoPlan, results: dict[str, Any]) -> None:
    """The closing summary: table, plots, files."""
    _say("")
    _say(format_table(results_rows(results)))
    if results.get("plots"):
        _say("\nplots:")
        for name, path in results["plots"].items():
            _say(f"  {name}: {path}")
    total = results.get("seconds", {}).get("total")
    cpu = results.get("cpu_seconds", {}).get("total")
    _say(f"\nresults: {plan.out / 'demo_results.md'} and {plan.out / 'demo_results.json'}"
         + (f"; stages took {total:.0f} s" if total else "")
         + (f" ({cpu:.0f} CPU-s in child processes)" if cpu else ""))  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# entry point

_TITLES = {
    "synth": "synthesize the corpus",
    "prep": "preprocess with vidssl-data",
    "pretrain": "pretrain",
    "finetune": "fine-tune with a small label budget, pretrained vs scratch",
    "track": "label propagation on held-out videos",
    "report": "results",
}


def main(args: argparse.Namespace) -> int:
    """Run the demo; 0 on success, 1 when a stage fails, 2 on bad arguments."""
    try:
        plan = build_plan(args)
    except ValueError as err:
        print(f"vidssl demo: error: {err}", file=sys.stderr)
        return 2
    if args.dry_run:
        print("\n".join(plan_lines(plan)))
        return 0
    plan.out.mkdir(parents=True, exist_ok=True)
    log = plan.out / "commands.sh"
    for note in plan.notes:
        _say(f"note: {note}")
    _say(f"vidssl demo -> {plan.out}: task {plan.task}, {plan.sizes.videos} videos, "
         f"K={plan.sizes.labels_per_class}{' (quick)' if args.quick else ''}")  # fmt: skip
    start = time.perf_counter()
    for i, stage in enumerate(plan.stages, 1):
        extra = f" ({plan.task}, {plan.sizes.pretrain_epochs} epochs)" if stage == "pretrain" else ""
        _say(f"\n[{i}/{len(plan.stages)}] {stage}: {_TITLES[stage]}{extra}")
        t0 = time.perf_counter()
        try:
            what = run_stage(plan, stage, log, force=args.force or stage == "report")
        except StageFailed as err:
            print(f"vidssl demo: stage {stage} failed: {err}\nfix it and rerun the same command: finished stages "
                  "are skipped", file=sys.stderr)  # fmt: skip
            return 1
        except KeyboardInterrupt:
            print(f"\nvidssl demo: interrupted in stage {stage}; rerun the same command to continue (finished stages "
                  "are skipped, trainings resume from their checkpoints)", file=sys.stderr)  # fmt: skip
            return 130
        if what == "skipped":
            _say("  finished earlier, outputs kept (--force or a changed size redoes it)")
        else:
            _say(f"  {stage} {what} in {time.perf_counter() - t0:.0f} s")
    if "report" in plan.stages:
        print_results(plan, _read_json(plan.out / "demo_results.json"))
    _say(f"demo finished in {time.perf_counter() - start:.0f} s")
    return 0
