"""Pure parts of the quality benchmark: aggregation, targets, run-folder checks, ``results.md`` and plots.

Everything here works on plain dicts (the content of ``results.json``), so it is unit-tested without training
anything (``tests/benchmarks/test_quality_bench.py``). ``benchmarks/quality.py`` produces the numbers.

``results.json`` layout (the parts this module reads)::

    {"classification": {"linear"|"finetune": {INIT: {"K": [acc per seed, ...]}}},
     "tracking": {"methods": {METHOD: {"J&F-Mean": float, ...}}, "init_methods": {INIT: METHOD}},
     "pretext": {TASK: {"metric": str, "value": float, "chance": float,
                        "control": {"value": float, "chance": float, "description": str} | None}},
     "tasks": [pretext task names evaluated],
     "task_corpora": {TASK: {"flags": [synth flags], ...}} (tasks pretrained on a corpus variant), ...}

Accuracies are fractions in [0, 1]; targets on accuracy differences are in points (percentage points).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "AVC_TARGET",
    "CONTROL_TOLERANCE",
    "FINETUNE_MARGIN",
    "LINEAR_MARGIN",
    "PLAIN_SCRATCH",
    "RunMismatchError",
    "aggregate",
    "evaluate_targets",
    "file_digest",
    "fmt_mean_std",
    "plot_accuracy_vs_labels",
    "plot_pretext_curves",
    "render_markdown",
    "render_readme_section",
    "run_dir_mismatches",
    "summarize_classification",
]

LINEAR_MARGIN = 10.0  # points above random-init features, every task (linear probe)
FINETUNE_MARGIN = 10.0  # points above scratch, best task, fine-tune at K=4
AVC_TARGET = 0.90  # held-out AVC accuracy
CONTROL_TOLERANCE = 5.0  # points from chance, every control
FINETUNE_K = 4
# Scratch fine-tuned the plain way (fresh head, one lr) when the protocol is LP-FT or uses a lower backbone lr.
PLAIN_SCRATCH = "scratch_plain"


class RunMismatchError(RuntimeError):
    """A reused run folder was made from another corpus, recipe or code revision than the one being evaluated."""


# ============ aggregation ============
def aggregate(values: Sequence[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (``ddof=1``; 0 for a single value) of finite ``values``.

    Example:
        >>> aggregate([0.5, 0.7])["mean"], round(aggregate([0.5, 0.7])["std"], 4)
        (0.6, 0.1414)
    """
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(vals)
    if n == 0:
        return {"mean": None, "std": None, "n": 0, "values": []}
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "n": n, "values": vals}


def fmt_mean_std(stats: Mapping[str, Any] | None, scale: float = 100.0, digits: int = 1) -> str:
    """``"52.3 ± 4.1"`` (scaled, e.g. to percent); ``"n/a"`` when there is no value."""
    if not stats or stats.get("mean") is None:
        return "n/a"
    mean, std = stats["mean"] * scale, (stats.get("std") or 0.0) * scale
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def summarize_classification(raw: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]) -> dict[str, Any]:
    """``{mode: {init: {K: [per-seed acc]}}}`` → ``{mode: {init: {K: aggregate(...)}}}`` (K keys as strings)."""
    return {
        mode: {init: {str(k): aggregate(v) for k, v in per_k.items()} for init, per_k in inits.items()}
        for mode, inits in raw.items()
    }


def _mean(summary: Mapping[str, Any], mode: str, init: str, k: int | str) -> float | None:
    stats = summary.get(mode, {}).get(init, {}).get(str(k))
    return None if not stats else stats.get("mean")


# ============ targets ============
def _target(value: float, target: float, op: str, **extra: Any) -> dict[str, Any]:
    v = round(float(value), 9)  # 100 * (0.31 - 0.21) must count as 10 points
    met = {">=": v >= target, ">": v > target, "<=": v <= target}[op]
    return {"value": float(value), "target": float(target), "met": bool(met), "op": op, **extra}


def evaluate_targets(results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every target of issue 7 that the numbers allow, as ``{name: {"value", "target", "met", "op", ...}}``.

    Targets (values in points unless stated):

    * ``linear_probe_vs_random/<task>``: linear-probe accuracy minus random-init features', at the largest K,
      ``>= 10``.
    * ``finetune_k4_best_vs_scratch``: best pretext task's fine-tune accuracy at K=4 minus scratch's (the better of
      ``scratch`` and ``scratch_plain`` when both exist), ``>= 10``.
    * ``propagation/<task>_vs_lab`` (colorization, tracking_triplets): J&F minus the raw Lab pixels', ``> 0``;
      ``propagation/lab_vs_identity``: Lab J&F minus identity's, ``> 0``.
    * ``avc/heldout_accuracy``: held-out AVC accuracy (a fraction), ``>= 0.90``.
    * ``controls/<task>``: |control metric - chance| in points, ``<= 5``.

    Returns:
        ``(targets, not_evaluated)``; ``not_evaluated`` maps a target name to why it has no value (task missing,
        stage skipped), so a missing number is never reported as met or silently dropped.
    """
    targets: dict[str, Any] = {}
    missing: dict[str, str] = {}
    summary = results.get("classification_summary") or summarize_classification(results.get("classification", {}))
    tasks = list(results.get("tasks", []))
    expected = list(results.get("expected_tasks", tasks))
    for t in expected:
        if t not in tasks:
            why = results.get("skipped", {}).get(t, "task not evaluated")
            missing[f"linear_probe_vs_random/{t}"] = why
    ks = sorted({int(k) for inits in summary.get("linear", {}).values() for k in inits})
    if ks:
        k_max = ks[-1]
        scratch = _mean(summary, "linear", "scratch", k_max)
        for t in tasks:
            acc = _mean(summary, "linear", t, k_max)
            if acc is None or scratch is None:
                missing[f"linear_probe_vs_random/{t}"] = "no linear-probe accuracy"
                continue
            targets[f"linear_probe_vs_random/{t}"] = _target(
                100 * (acc - scratch), LINEAR_MARGIN, ">=", k=k_max, accuracy=acc, random_init=scratch
            )
    elif tasks:
        for t in tasks:
            missing[f"linear_probe_vs_random/{t}"] = "linear probe not run"
    # The stronger of scratch under the benchmark's protocol and scratch fine-tuned the plain way (if run): a
    # protocol that suits pretrained backbones (LP-FT, low backbone lr) must not win by handicapping scratch.
    scratch_runs = {n: _mean(summary, "finetune", n, FINETUNE_K) for n in ("scratch", PLAIN_SCRATCH)}
    scratch_runs = {n: v for n, v in scratch_runs.items() if v is not None}
    scratch_name = max(scratch_runs, key=scratch_runs.__getitem__) if scratch_runs else None
    scratch4 = scratch_runs.get(scratch_name) if scratch_name else None
    gains = {t: _mean(summary, "finetune", t, FINETUNE_K) for t in tasks}
    gains = {t: v for t, v in gains.items() if v is not None}
    if gains and scratch4 is not None:
        best = max(gains, key=gains.__getitem__)
        targets["finetune_k4_best_vs_scratch"] = _target(
            100 * (gains[best] - scratch4), FINETUNE_MARGIN, ">=", task=best, accuracy=gains[best], scratch=scratch4,
            scratch_run=scratch_name,
        )
    else:
        missing["finetune_k4_best_vs_scratch"] = f"no fine-tune accuracy at K={FINETUNE_K} for scratch and a task"
    tracking = results.get("tracking") or {}
    methods = {m: v.get("J&F-Mean") for m, v in (tracking.get("methods") or {}).items()}
    init_methods = tracking.get("init_methods") or {}
    lab, identity = methods.get("lab"), methods.get("identity")
    if lab is not None and identity is not None:
        targets["propagation/lab_vs_identity"] = _target(lab - identity, 0.0, ">", lab=lab, identity=identity)
    else:
        missing["propagation/lab_vs_identity"] = tracking.get("skipped", "label propagation not run")
    for t in ("colorization", "tracking_triplets"):
        jf = methods.get(init_methods.get(t, t))
        if jf is not None and lab is not None:
            targets[f"propagation/{t}_vs_lab"] = _target(jf - lab, 0.0, ">", jf=jf, lab=lab)
        else:
            missing[f"propagation/{t}_vs_lab"] = results.get("skipped", {}).get(t) or tracking.get(
                "skipped", f"no J&F for {t}"
            )
    pretext = results.get("pretext") or {}
    avc = pretext.get("av_correspondence") or {}
    if avc.get("value") is not None:
        targets["avc/heldout_accuracy"] = _target(avc["value"], AVC_TARGET, ">=", metric=avc.get("metric"))
    else:
        missing["avc/heldout_accuracy"] = results.get("skipped", {}).get("av_correspondence") or avc.get(
            "reason", "no held-out AVC metric"
        )
    for t in expected:
        ctrl = (pretext.get(t) or {}).get("control") or {}
        if ctrl.get("value") is not None and ctrl.get("chance") is not None:
            targets[f"controls/{t}"] = _target(
                100 * abs(ctrl["value"] - ctrl["chance"]), CONTROL_TOLERANCE, "<=", control=ctrl["value"],
                chance=ctrl["chance"], description=ctrl.get("description", ""),
            )  # fmt: skip
        else:
            missing[f"controls/{t}"] = (
                results.get("skipped", {}).get(t) or ctrl.get("reason") or (pretext.get(t) or {}).get("reason")
                or "control not measured"
            )  # fmt: skip
    return targets, missing


# ============ run-folder checks ============
def file_digest(paths: Iterable[str | Path]) -> str:
    """sha256 over the bytes of ``paths`` (in order; a missing file counts as empty), 16 hex digits."""
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        h.update(p.name.encode())
        h.update(p.read_bytes() if p.is_file() else b"")
    return h.hexdigest()[:16]


def run_dir_mismatches(
    run_dir: str | Path,
    *,
    stamp: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    ignore: Sequence[str] = (),
) -> list[str]:
    """Why the run in ``run_dir`` is not the one this benchmark would make (empty list: it is).

    Compares what the folder records with what is expected:

    * ``quality_stamp.json`` (written by the benchmark before training): corpus fingerprint, recipe file and its
      digest, overrides, code revision (commit, dirty flag, digest of the uncommitted diff);
    * ``git.json`` (written by the trainer): commit and dirty flag;
    * ``config.yaml`` (the trainer's resolved recipe) against ``config``, except ``ignore`` keys.

    Args:
        run_dir: the folder (need not exist: then nothing mismatches).
        stamp: the expected stamp (``{"corpus": ..., "recipe": ..., "recipe_digest": ..., "overrides": [...],
            "code": {"commit", "dirty", "diff"}}``).
        config: the expected resolved recipe as a dict, or ``None`` to skip that comparison.
        ignore: dotted config keys that may differ (e.g. ``run.threads``).
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return []
    out: list[str] = []
    stamp_file = run_dir / "quality_stamp.json"
    if not stamp_file.is_file():
        out.append(f"{stamp_file} is missing: the folder was not made by this benchmark")
    else:
        old = json.loads(stamp_file.read_text())
        for key in ("corpus", "recipe", "recipe_digest", "overrides"):
            if old.get(key) != stamp.get(key):
                out.append(f"{key}: recorded {old.get(key)!r}, now {stamp.get(key)!r}")
        for key in ("commit", "dirty", "diff"):
            a, b = (old.get("code") or {}).get(key), (stamp.get("code") or {}).get(key)
            if a != b:
                out.append(f"code revision {key}: recorded {a!r}, now {b!r}")
    git_file = run_dir / "git.json"
    if git_file.is_file():
        git = json.loads(git_file.read_text())
        code = stamp.get("code") or {}
        for key in ("commit", "dirty"):
            if key in code and git.get(key) != code.get(key):
                out.append(f"git.json {key}: recorded {git.get(key)!r}, now {code.get(key)!r}")
    cfg_file = run_dir / "config.yaml"
    if config is not None and cfg_file.is_file():
        import yaml

        from vidssl.train.run_dir import RESUME_SAFE_KEYS, config_differences

        recorded = yaml.safe_load(cfg_file.read_text()) or {}
        diffs = config_differences(recorded, config, ignore=(*RESUME_SAFE_KEYS, *ignore))
        out += [f"recipe {d}" for d in diffs]
    return out


# ============ report ============
def _pts(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1f}"


def _target_value(name: str, t: Mapping[str, Any]) -> str:
    if name.startswith("avc/"):
        return f"{t['value']:.3f}"
    if name.startswith("propagation/"):
        return f"{t['value']:+.3f} J&F"
    return f"{t['value']:+.1f} pts" if not name.startswith("controls/") else f"{t['value']:.1f} pts"


def render_markdown(results: Mapping[str, Any]) -> str:
    """``results.md``: tables with mean ± std, targets met/missed with analysis, budget, command, versions, machine."""
    lines: list[str] = []
    add = lines.append
    preset = results.get("preset", "?")
    add(f"# Quality benchmark ({preset})")
    add("")
    add(f"Command: `{results.get('command', '?')}`  ")
    add(f"Started {results.get('started', '?')}, took {results.get('seconds', 0) / 60:.1f} min.  ")
    code = results.get("code") or {}
    add(f"Code: commit `{code.get('commit')}`, dirty={code.get('dirty')}, diff `{code.get('diff')}`.  ")
    versions = results.get("versions") or {}
    add("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".  ")
    machine = results.get("machine") or {}
    add("Machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()) + ".")
    add("")
    corpus = results.get("corpus") or {}
    if corpus:
        add(f"Corpus: `{corpus.get('path')}` (synthetic, seed {corpus.get('seed')}, fingerprint "
            f"`{corpus.get('fingerprint')}`): {corpus.get('counts')}.")
        add("")
    skipped = results.get("skipped") or {}
    if skipped:
        add("Not evaluated:")
        for name, why in skipped.items():
            add(f"- `{name}`: {why}")
        add("")

    targets = results.get("targets") or {}
    missing = results.get("targets_not_evaluated") or {}
    add("## Targets")
    add("")
    rows = [[name, _target_value(name, t), f"{t['op']} {t['target']:g}", "yes" if t["met"] else "**no**"]
            for name, t in targets.items()]  # fmt: skip
    rows += [[name, "not evaluated", "", why] for name, why in missing.items()]
    lines.extend(_table(["target", "value", "needed", "met"], rows))
    analysis = results.get("analysis") or []
    if analysis:
        add("### Misses and their analysis")
        add("")
        for line in analysis:
            add(f"- {line}")
        add("")

    summary = results.get("classification_summary") or {}
    for mode, title in (("linear", "Linear probe (frozen backbone)"), ("finetune", "Fine-tune (all layers)")):
        inits = summary.get(mode) or {}
        if not inits:
            continue
        ks = sorted({int(k) for per_k in inits.values() for k in per_k})
        nseeds = max((s.get("n", 0) for per_k in inits.values() for s in per_k.values()), default=0)
        add(f"## {title}: video accuracy (%), mean ± std over {nseeds} seeds")
        add("")
        rows = [[init, *(fmt_mean_std(per_k.get(str(k))) for k in ks)] for init, per_k in inits.items()]
        lines.extend(_table(["init", *(f"K={k}" for k in ks)], rows))

    tracking = results.get("tracking") or {}
    if tracking.get("methods"):
        add(f"## Label propagation on {tracking.get('sequences', '?')} test videos "
            f"({tracking.get('objects', '?')} objects, preset {tracking.get('preset', '?')})")
        add("")
        rows = [[m, *(f"{s.get(k, float('nan')):.3f}" for k in ("J&F-Mean", "J-Mean", "F-Mean"))]
                for m, s in tracking["methods"].items()]  # fmt: skip
        lines.extend(_table(["features", "J&F", "J", "F"], rows))
    elif tracking.get("skipped"):
        add(f"## Label propagation: not run ({tracking['skipped']})")
        add("")

    pretext = results.get("pretext") or {}
    if pretext:
        add(f"## Held-out pretext metrics and controls (source: {results.get('pretext_source', '?')})")
        add("")
        rows = []
        for t, p in pretext.items():
            c = p.get("control") or {}
            flags = " ".join(((results.get("task_corpora") or {}).get(t) or {}).get("flags") or []) or "default"
            rows.append([t, flags, p.get("metric", ""), _num(p.get("value")), _num(p.get("chance")),
                         c.get("description", c.get("reason", "")), _num(c.get("value")), _num(c.get("chance"))])
        lines.extend(_table(["task", "pretrained on", "metric", "held-out", "chance", "control", "control value",
                             "control chance"], rows))  # fmt: skip

    budget = results.get("budget") or {}
    if budget:
        add("## Budget")
        add("")
        add(budget.get("description", ""))
        add("")
        runs = budget.get("pretrain") or {}
        if runs:
            rows = [[name, b.get("steps", "?"), _num(b.get("seconds"), 0), _num(b.get("cpu_seconds"), 0),
                     b.get("reused", False)] for name, b in runs.items()]  # fmt: skip
            lines.extend(_table(["pretraining", "steps", "wall s", "CPU s", "reused"], rows))
        stages = budget.get("stages") or {}
        if stages:
            add("Stage wall-clock (s): " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()) + ".")
            add("")
        if budget.get("commands"):
            add("Pretraining commands:")
            add("")
            add("```")
            lines.extend(budget["commands"])
            add("```")
            add("")
    plots = results.get("plots") or []
    if plots:
        add("## Plots")
        add("")
        for p in plots:
            add(f"![{Path(p).stem}]({p})")
        add("")
    return "\n".join(lines).rstrip() + "\n"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A markdown table (header, rule, one line per row) followed by a blank line."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return [*out, ""]


def render_readme_section(results: Mapping[str, Any], plot: str = "", source: str = "") -> str:
    """The README's "Results" section: the targets and accuracy tables of ``results.md``, numbers only.

    Args:
        results: the benchmark results.
        plot: path of the accuracy plot relative to the README (omitted when empty).
        source: folder (relative to the README) holding a copy of the full report, linked when given.
    """
    md = render_markdown(results)
    keep: list[str] = []
    take = False
    for line in md.splitlines():
        if line.startswith("## "):
            take = line.startswith(("## Targets", "## Linear probe", "## Fine-tune", "## Label propagation",
                                    "## Held-out pretext"))
            if take:
                line = "#" + line.split(" (source:")[0]
        elif line.startswith("### "):
            take = False
        if take:
            keep.append(line)
    head = [
        "## Results",
        "",
        f"Generated from `results.md` of `{results.get('command', '?')}` ({results.get('preset', '?')} preset, "
        f"{results.get('seconds', 0) / 60:.0f} min, {(results.get('machine') or {}).get('cpus', '?')} CPUs); "
        + (f"the full report, JSON and plots are in [`{source}/`]({source}/); " if source else "")
        + "rerun it to reproduce. Accuracies in %, mean ± std over seeds.",
        "",
    ]
    tail = ["", f"![accuracy vs labels per class]({plot})"] if plot else []
    return "\n".join(head + keep + tail).rstrip() + "\n"


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float | int):
        return f"{x:.{digits}f}"
    return str(x)


# ============ plots ============
def plot_accuracy_vs_labels(summary: Mapping[str, Any], path: str | Path) -> Path | None:
    """Accuracy vs labels per class (log2 x axis), one line per init with ± std bands, one panel per mode."""
    modes = [m for m in ("linear", "finetune") if summary.get(m)]
    if not modes:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(modes), figsize=(5.5 * len(modes), 4), squeeze=False)
    for ax, mode in zip(axes[0], modes):
        for init, per_k in summary[mode].items():
            ks = sorted(int(k) for k in per_k if per_k[k].get("mean") is not None)
            if not ks:
                continue
            mean = [100 * per_k[str(k)]["mean"] for k in ks]
            std = [100 * (per_k[str(k)]["std"] or 0.0) for k in ks]
            ax.errorbar(ks, mean, yerr=std, marker="o", capsize=3, label=init,
                        linestyle="--" if init in ("scratch", PLAIN_SCRATCH, "supervised") else "-")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("labelled videos per class (K)")
        ax.set_ylabel("video accuracy (%)")
        ax.set_title({"linear": "linear probe", "finetune": "fine-tune"}[mode])
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pretext_curves(logs: Mapping[str, Sequence[Mapping[str, Any]]], path: str | Path) -> Path | None:
    """Training loss per step (and held-out ``val/loss`` per epoch when logged) of every pretraining run."""
    series = {n: r for n, r in logs.items() if r}
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(series), figsize=(3.6 * len(series), 3.2), squeeze=False)
    for ax, (name, records) in zip(axes[0], series.items()):
        steps = [(r.get("step"), r.get("loss", r.get("train/loss"))) for r in records if r.get("kind") == "step"]
        steps = [(s, v) for s, v in steps if s is not None and v is not None]
        if steps:
            ax.plot([s for s, _ in steps], [v for _, v in steps], label="train loss")
        epochs = [(r.get("step"), r.get("loss")) for r in records if r.get("kind") == "epoch"]
        epochs = [(s, v) for s, v in epochs if s is not None and v is not None]
        if epochs:
            ax.plot([s for s, _ in epochs], [v for _, v in epochs], "s--", label="train loss (epoch mean)")
        val = [(r.get("step"), r.get("val/loss")) for r in records if r.get("kind") == "epoch"]
        val = [(s, v) for s, v in val if s is not None and v is not None]
        if val:
            ax.plot([s for s, _ in val], [v for _, v in val], "o-", label="held-out loss")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ============ command line ============
def main(argv: Sequence[str] | None = None) -> int:
    """Print the README "Results" section of a finished run, with the plot path as the README will see it.

    Copy ``DIR/results.md``, ``results.json`` and ``plots/`` to e.g. ``docs/results/quality_full/``, then run
    ``python benchmarks/quality_report.py docs/results/quality_full/results.json --copy docs/results/quality_full``.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="quality_report", description=main.__doc__)
    parser.add_argument("results", help="results.json written by benchmarks/quality.py")
    parser.add_argument("--copy", default="", metavar="DIR",
                        help="where the report, JSON and plots were copied, relative to the README: the section "
                        "links it and shows DIR/plots/accuracy_vs_labels.png")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        results = json.loads(Path(args.results).read_text())
    except (OSError, ValueError) as err:
        print(f"quality_report: cannot read {args.results}: {err}; pass the results.json of a finished run")
        return 2
    copy = args.copy.rstrip("/")
    plot = f"{copy}/plots/accuracy_vs_labels.png"
    plot = plot if copy and Path(plot).is_file() else ""
    print(render_readme_section(results, plot, source=copy), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
