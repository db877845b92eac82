import pytest
import torch
from torch.utils.data import Dataset

from vidssl.eval.finetune import BackboneChangedError, FinetunePolicy, layer_groups
from vidssl.models import create_backbone
from vidssl.tasks.supervised import ActionClassification
from vidssl.train.config import FinetuneConfig, load_config
from vidssl.train.engine import fit, setup_process


class ClipSet(Dataset):
    """Random uint8 clips whose brightness encodes the label (learnable, decode-free)."""

    def __init__(self, n=24, classes=3):
        g = torch.Generator().manual_seed(0)
        self.labels = torch.arange(n) % classes
        noise = torch.randint(0, 60, (n, 4, 3, 32, 32), generator=g, dtype=torch.uint8)
        self.clips = noise + (self.labels * 60).to(torch.uint8).view(-1, 1, 1, 1, 1)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"clip": self.clips[i], "label": self.labels[i]}


def _task(seed=0):
    torch.manual_seed(seed)
    return ActionClassification(create_backbone("tiny_cnn2d", width=8), num_classes=3, num_frames=4, crop_size=32)


def test_layer_groups_follow_children():
    assert layer_groups(create_backbone("tiny_cnn2d"), 4) == [["stem"], ["stage1"], ["stage2"], ["stage3"]]
    assert layer_groups(create_backbone("resnet18"), 4) == [["stem", "layer1"], ["layer2"], ["layer3"], ["layer4"]]
    assert layer_groups(create_backbone("tiny_cnn2d"), 9) == [["stem"], ["stage1"], ["stage2"], ["stage3"]]


def test_gradual_unfreezing_and_discriminative_lr():
    task = _task()
    policy = FinetunePolicy(task, mode="full", unfreeze="gradual", unfreeze_every=2, num_groups=4, lr_decay=0.5)
    assert policy.lr_scale_of("head.fc.weight") == 1.0
    assert policy.lr_scale_of("encoder.backbone.stage3.conv1.weight") == 0.5
    assert policy.lr_scale_of("encoder.backbone.stem.0.weight") == 0.5**4

    def trainable():
        return sorted({n.split(".")[2] if n.startswith("encoder.backbone") else n.split(".")[0]
                       for n, p in task.named_parameters() if p.requires_grad})

    assert policy.on_epoch_start(1) and trainable() == ["head"]
    assert not policy.on_epoch_start(2)  # unchanged: DDP need not be rebuilt
    assert policy.on_epoch_start(3) and trainable() == ["head", "stage3"]
    policy.on_epoch_start(9)
    assert trainable() == ["head", "stage1", "stage2", "stage3", "stem"]
    policy.on_epoch_start(3)
    task.train()
    policy.set_train_mode(task)
    assert not task.backbone.stem.training and task.backbone.stage3.training


def _probe(tmp_path, policy_cls=FinetunePolicy):
    cfg = load_config(FinetuneConfig, None, [f"run.out_dir={tmp_path}", "run.epochs=2", "data.batch_size=8",
                                             "data.num_workers=0", "run.progress=false", "optim.name=sgd",
                                             "optim.lr=0.1", "finetune.mode=linear"])
    info = setup_process(cfg)
    task = _task()
    before = {k: v.clone() for k, v in task.state_dict().items()}
    policy = policy_cls(task, mode="linear")
    result = fit(cfg, task, ClipSet(), dist_info=info, policy=policy)
    return before, task, result


def test_linear_probe_keeps_the_backbone_and_bn_statistics(tmp_path):
    before, task, result = _probe(tmp_path)
    after = task.state_dict()
    assert result.metrics["policy"]["backbone_unchanged"] is True
    assert result.metrics["policy"]["frozen_tensors_checked"] == sum(1 for k in before if not k.startswith("head."))
    for k, v in before.items():
        if k.startswith("head."):
            continue
        assert torch.equal(after[k], v), k  # running_mean / running_var / num_batches_tracked included
    assert not torch.equal(after["head.fc.weight"], before["head.fc.weight"])  # the classifier did train


class _LeakyPolicy(FinetunePolicy):
    """A buggy probe that forgets to keep frozen BatchNorm layers in eval mode."""

    def set_train_mode(self, model):
        pass


def test_sanity_check_catches_bn_statistics_drift(tmp_path):
    with pytest.raises(BackboneChangedError, match="running_mean"):
        _probe(tmp_path, _LeakyPolicy)


def test_linear_probe_cannot_unfreeze():
    with pytest.raises(ValueError, match=r"finetune\.mode=full"):
        FinetunePolicy(_task(), mode="linear", unfreeze="gradual")
