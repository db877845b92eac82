"""The recipe schema: one dataclass per concern, defaults visible, a help line on every field.

A recipe (``configs/pretrain/<task>_<preset>.yaml``, ``configs/finetune/<preset>.yaml``) is YAML with the sections
below; ``key.sub=value`` overrides follow it on the command line::

    data:     manifest, splits, clip geometry, global batch, workers, label budget
    model:    backbone registry name and its kwargs (what ``load_backbone(run_dir)`` rebuilds)
    task:     ``name`` (task registry) + the task's own options, validated by that task's ``TaskConfig``
    optim:    optimizer, lr / weight-decay schedule, warmup, gradient clipping
    run:      output folder, epochs, seed, device, precision, logging and checkpoint cadence
    eval:     clips per video, aggregation, top-k, retrieval protocol
    finetune: (``vidssl finetune`` only) initialisation, linear probe / full, ULMFiT options

Load with :func:`load_config`; ``vidssl pretrain --print-config`` shows the resolved values with these help lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from vidssl.train.config_schema import (
    ConfigError,
    RawValue,
    apply_overrides,
    field_help,
    from_dict,
    iter_keys,
    load_yaml,
    opt,
    to_dict,
)

__all__ = [
    "DataConfig",
    "EvalConfig",
    "FinetuneConfig",
    "FinetuneSection",
    "ModelConfig",
    "OptimConfig",
    "PretrainConfig",
    "RunConfig",
    "TaskSection",
    "load_config",
]

C = TypeVar("C")


@dataclass
class DataConfig:
    """Where clips come from and how they are shaped and batched."""

    manifest: str = opt("", "manifest CSV/Parquet with split and label columns (`vidssl-data synth OUT` writes one)")
    shards: str = opt("", "WebDataset shard pattern (e.g. 'shards/train-{00000..00099}.tar') to stream instead of "
                      "random access; use it when the corpus is too large for the manifest's disk reads")
    train_split: str = opt("train", "manifest split used for training")
    val_split: str = opt("val", "split evaluated after each epoch ('' to skip per-epoch validation)")
    test_split: str = opt("test", "split for the final evaluation (video accuracy, confusion matrix, retrieval)")
    num_frames: int = opt(8, "frames per clip (VCOP: 16); more frames see more motion but cost linearly")
    frame_stride: int = opt(1, "keep every k-th frame inside a clip; raise it to cover more time at the same cost")
    resize: int = opt(64, "short side after resizing, before cropping (VCOP: 128); 0 keeps the decoded size")
    crop_size: int = opt(64, "square crop fed to the network (VCOP: 112)")
    clips_per_video: int = opt(1, "training clips drawn per video per epoch; an epoch is videos x this examples")
    batch_size: int = opt(16, "GLOBAL batch over all torchrun processes (split evenly); scale optim.lr with it")
    num_workers: int = opt(2, "DataLoader worker processes per training process; 0 decodes in the main process")
    decode_backend: str = opt("auto", "reader backend: auto, pyav, decord, torchcodec or opencv")
    on_error: Literal["skip", "raise"] = opt("skip", "bad videos are skipped and counted ('raise' to debug them)")
    labels_per_class: int = opt(0, "use only K labelled train videos per class (seeded, stratified); 0 = all")
    num_classes: int = opt(0, "number of classes; 0 = read from the manifest (max label_index + 1)")
    mean: tuple[float, float, float] = opt((0.43216, 0.394666, 0.37645), "per-channel mean (RGB in [0, 1])")
    std: tuple[float, float, float] = opt((0.22803, 0.22145, 0.216989), "per-channel std (RGB in [0, 1])")


@dataclass
class ModelConfig:
    """The backbone; ``vidssl.train.checkpoint.load_backbone`` rebuilds it from this section."""

    name: str = opt("tiny_cnn2d", "backbone registry name (`vidssl list-models --kind backbone`)")
    kwargs: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "builder keyword arguments, e.g. {width: 16}"}
    )
    weights: str = opt("", "local weight file loaded into the backbone before training (nothing is downloaded)")


@dataclass
class TaskSection:
    """``task.name`` picks the task; its other keys are validated by that task's ``TaskConfig`` dataclass."""

    name: str = "supervised"
    options: Any = None

    @classmethod
    def from_config_dict(cls, data: Any, where: str = "task") -> TaskSection:
        """Validate a ``task:`` mapping against the named task's ``TaskConfig``."""
        from vidssl.tasks.registry import task_config_class

        data = {} if data is None else data
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping with a 'name' key, got {data!r}")
        data = dict(data)
        name = data.pop("name", "supervised")
        name = name.text if isinstance(name, RawValue) else str(name)
        try:
            options_cls = task_config_class(name)
        except KeyError as err:
            raise ConfigError(f"{where}.name: {err.args[0]}") from None
        except ImportError as err:
            raise ConfigError(f"{where}.name: {err}") from err
        return cls(name=name, options=from_dict(options_cls, data, where=where, all_keys=iter_keys(options_cls)))

    def to_config_dict(self) -> dict[str, Any]:
        """``{"name": ..., **options}`` as plain data."""
        return {"name": self.name, **(to_dict(self.options) if self.options is not None else {})}

    def config_items(self) -> list[tuple[str, Any, str]]:
        """(key, value, help) rows for ``--print-config``."""
        rows: list[tuple[str, Any, str]] = [("name", self.name, "task registry name (vidssl.tasks.registry)")]
        if self.options is not None:
            cls = type(self.options)
            rows += [(k, v, field_help(cls, k)) for k, v in vars(self.options).items()]
        return rows


def _default_task() -> TaskSection:
    return TaskSection.from_config_dict({})


@dataclass
class OptimConfig:
    """Optimizer and per-iteration schedules (precomputed arrays, DINO-style)."""

    name: Literal["sgd", "adamw"] = opt("sgd", "sgd (VCOP fine-tuning) or adamw (usually better for pretext tasks)")
    lr: float = opt(0.01, "peak learning rate for the global batch data.batch_size; scale it linearly with the batch")
    min_lr: float = opt(0.0, "learning rate at the end of the cosine schedule")
    schedule: Literal["cosine", "constant", "one_cycle"] = opt(
        "cosine", "cosine (after warmup), constant, or one_cycle (ULMFiT / Smith: ramp up then anneal)"
    )
    warmup_epochs: float = opt(0.0, "linear warmup from 0 (fractions allowed); use 1-10 when large lr diverges early")
    one_cycle_pct: float = opt(0.3, "one_cycle: fraction of iterations spent ramping up")
    one_cycle_div: float = opt(25.0, "one_cycle: starting lr = lr / this")
    one_cycle_final_div: float = opt(1e4, "one_cycle: final lr = lr / this")
    weight_decay: float = opt(5e-4, "weight decay (VCOP: 5e-4; AdamW pretext: 0.05)")
    weight_decay_end: float | None = opt(None, "cosine-ramp weight decay to this value (DINO); null keeps it constant")
    momentum: float = opt(0.9, "SGD momentum")
    nesterov: bool = opt(False, "SGD Nesterov momentum")
    betas: tuple[float, float] = opt((0.9, 0.999), "AdamW betas; (0.9, 0.95) is steadier for short runs")
    decay_norm_and_bias: bool = opt(False, "also apply weight decay to norm layers and biases (usually worse)")
    clip_grad: float = opt(0.0, "clip the global gradient norm to this (0 disables); try 1-3 if the loss spikes")


@dataclass
class RunConfig:
    """Output folder, duration, seed, hardware and logging cadence."""

    out_dir: str = opt("", "run folder; '' = runs/<recipe name>. Rerunning with the same folder resumes")
    epochs: int = opt(10, "training epochs")
    seed: int = opt(0, "seed for weights, sampling and augmentation; change it for repeated trials")
    device: Literal["auto", "cpu", "cuda"] = opt("auto", "auto = cuda when available (one GPU per process)")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = opt(
        "auto", "auto = bf16 autocast on GPUs that support it, else fp32; fp16 adds a GradScaler; CPU runs fp32"
    )
    channels_last: bool = opt(True, "channels-last memory format on CUDA (faster convolutions on tensor cores)")
    deterministic: bool = opt(False, "deterministic kernels (slower on GPU); CPU runs are reproducible anyway")
    threads: int = opt(0, "torch CPU threads per process (0 = torch default); set 1-2 on shared machines")
    log_every: int = opt(10, "iterations between log.jsonl / TensorBoard lines")
    eval_every: int = opt(1, "epochs between validations (0 = only at the end)")
    checkpoint_every: int = opt(1, "epochs between checkpoints (always at the end)")
    resume: Literal["auto", "never"] = opt("auto", "auto resumes from out_dir/checkpoint.pt; never starts over")
    stop_after_epochs: int = opt(0, "stop cleanly after this many epochs in this invocation (rerun to continue)")
    max_steps_per_epoch: int = opt(0, "cap iterations per epoch (0 = full epoch); for smoke tests")
    progress: bool = opt(True, "tqdm progress bar (rank 0)")
    dist_backend: Literal["auto", "gloo", "nccl"] = opt("auto", "torchrun backend: auto = nccl on GPU, gloo on CPU")
    ddp_find_unused: bool = opt(False, "set true only if DDP reports parameters that got no gradient (slower)")


@dataclass
class EvalConfig:
    """Evaluation protocol (classification and retrieval; PAPERS.md 6.1-6.3)."""

    clips_per_video: int = opt(10, "uniformly spaced clips per test video (VCOP: 10); video score averages them")
    aggregate: Literal["logits", "softmax"] = opt("logits", "average clip logits (VCOP) or softmax probabilities")
    topk: int = opt(5, "top-k accuracy reported beside top-1")
    batch_size: int = opt(0, "videos per evaluation batch; 0 = data.batch_size")
    retrieval_ks: tuple[int, ...] = opt((1, 5, 10, 20, 50), "retrieval top-k values (VCOP: 1, 5, 10, 20, 50)")
    retrieval_features: Literal["pool", "vcop"] = opt(
        "vcop", "vcop = last feature map max-pooled (1,2,2) and flattened (VCOP); pool = global average"
    )
    retrieval_gallery: str = opt("train", "split searched by the queries (VCOP: train)")
    retrieval_query: str = opt("test", "split whose videos query the gallery (VCOP: test)")


@dataclass
class FinetuneSection:
    """How ``vidssl finetune`` initialises and trains (PAPERS.md 6.1-6.2, ULMFiT options)."""

    init: str = opt("", "pretrain RUN_DIR (or checkpoint.pt) to start from; '' trains from scratch")
    mode: Literal["full", "linear"] = opt(
        "full", "full fine-tune, or linear probe (backbone frozen in eval mode, checked unchanged at the end)"
    )
    unfreeze: Literal["all", "gradual"] = opt(
        "all", "gradual = ULMFiT: start with the head, unfreeze one more layer group every unfreeze_every epochs"
    )
    unfreeze_every: int = opt(1, "epochs between unfreezing steps (unfreeze=gradual)")
    layer_groups: int = opt(4, "backbone layer groups for gradual unfreezing and discriminative learning rates")
    lr_decay: float = opt(1.0, "discriminative lr: each group lower gets lr x this (ULMFiT: 1/2.6 = 0.385)")


@dataclass
class PretrainConfig:
    """``vidssl pretrain`` recipe."""

    data: DataConfig = field(default_factory=DataConfig, metadata={"help": "clips and batches"})
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "backbone"})
    task: TaskSection = field(default_factory=_default_task, metadata={"help": "task and its options"})
    optim: OptimConfig = field(default_factory=OptimConfig, metadata={"help": "optimizer and schedules"})
    run: RunConfig = field(default_factory=RunConfig, metadata={"help": "output, duration, hardware"})
    eval: EvalConfig = field(default_factory=EvalConfig, metadata={"help": "evaluation protocol"})


@dataclass
class FinetuneConfig(PretrainConfig):
    """``vidssl finetune`` recipe: the pretrain sections plus ``finetune``."""

    finetune: FinetuneSection = field(
        default_factory=FinetuneSection, metadata={"help": "initialisation and trainable parts"}
    )


def load_config(cls: type[C], recipe: str | Path | None = None, overrides: Sequence[str] = ()) -> C:
    """Read a recipe, apply dotted overrides, validate, and fill ``run.out_dir`` when empty.

    Args:
        cls: :class:`PretrainConfig` or :class:`FinetuneConfig`.
        recipe: YAML file; ``None`` starts from the defaults.
        overrides: ``section.key=value`` strings, applied in order after the recipe.

    Raises:
        ConfigError: unknown keys, wrong types, malformed overrides, missing recipe.
    """
    data = load_yaml(recipe) if recipe is not None else {}
    cfg = from_dict(cls, apply_overrides(data, overrides), all_keys=iter_keys(cls))
    run = getattr(cfg, "run", None)
    if run is not None and not run.out_dir:
        run.out_dir = str(Path("runs") / (Path(recipe).stem if recipe else "default"))
    return cfg
