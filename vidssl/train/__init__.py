"""Training stack: typed configs, run directories, checkpoints and resume, the train loop, DDP, schedules.

Module map (see docs/notes/training.md)::

    config_schema.py  generic typed-dataclass loader: YAML + dotted overrides, unknown keys and wrong types raise
    config.py         the recipe sections (DataConfig, ModelConfig, TaskSection, OptimConfig, RunConfig, ...)
    run_dir.py        run folder layout: config.yaml, git.json, log.jsonl, metrics.json, atomic writes
    checkpoint.py     checkpoint.pt save/load (atomic, weights_only) and load_backbone(run_dir)
    seed.py           seeding and RNG state capture/restore (python, numpy, torch, cuda)
    distributed.py    torchrun environment, process group, reductions, the epoch-seeded sampler
    loaders.py        DataLoaders split over processes (global batch / world size)
    schedules.py      per-iteration lr / weight-decay arrays (cosine + warmup, one-cycle, constant)
    optim.py          optimizers and parameter groups (no decay on norms/biases, per-group lr multipliers)
    precision.py      autocast / GradScaler / channels-last
    loop.py           train_one_epoch: the readable inner loop
    engine.py         fit(): epochs, evaluation, checkpoints, resume, summary; setup_process()
    data.py           recipe -> datasets (manifest splits, shards, evaluation sets); label_budget.py (K per class)
    evaluation.py     classification / retrieval runs wired to recipes (validation, test, `vidssl evaluate`)
    commands.py       pretrain(cfg) and finetune(cfg): the bodies of the CLI commands
    cli_support.py    shared argument handling (recipe, overrides, --print-config, clean errors)
    logging/          MetricLogger (tqdm, throughput, data-wait), jsonl + TensorBoard sink, plots, summary lines
"""
