import numpy as np
import pytest

from vidssl.eval.classification import (
    aggregate_clips,
    classification_report,
    confusion_matrix,
    per_class_accuracy,
    plot_confusion_matrix,
    topk_accuracy,
    write_predictions,
)


def test_topk_hand_computed():
    scores = np.array([[0.1, 0.5, 0.4], [0.8, 0.15, 0.05], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    labels = np.array([2, 0, 0, 1])
    assert topk_accuracy(scores, labels, 1) == 0.25  # only row 1
    # top-2: row 0 {1, 2} hit, row 1 hit, row 2 {2, 1} miss, row 3 tie 0.3/0.3 -> lower index first: {2, 0} miss
    assert topk_accuracy(scores, labels, 2) == 0.5
    assert topk_accuracy(scores, labels, 5) == 1.0  # k larger than classes = everything


def test_confusion_and_per_class():
    pred = np.array([0, 0, 1, 2, 2, 2])
    true = np.array([0, 1, 1, 2, 2, 0])
    cm = confusion_matrix(pred, true, 4)
    assert cm.tolist() == [[1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    acc = per_class_accuracy(cm)
    assert acc[:3].tolist() == [0.5, 0.5, 1.0] and np.isnan(acc[3])


def test_video_aggregation_logits_vs_softmax():
    # clip 1 is very confident in class 1, clips 2-3 prefer class 0
    clips = np.array([[[0.0, 10.0], [3.0, 0.0], [3.0, 0.0]]])
    assert aggregate_clips(clips, "logits").argmax() == 1  # mean logits: (2, 10/3)
    assert aggregate_clips(clips, "softmax").argmax() == 0  # mean probabilities: 2 of 3 clips vote 0
    with pytest.raises(ValueError):
        aggregate_clips(clips, "median")


def test_report_clip_and_video_levels():
    # 3 videos x 2 clips x 3 classes
    logits = np.array([
        [[3, 0, 0], [0, 1, 0]],   # label 0: clip hits 1/2, video mean [1.5, .5, 0] -> 0 correct
        [[0, 2, 0], [0, 2, 1]],   # label 1: 2/2, video correct
        [[1, 0, 0], [0, 0, 0.5]],  # label 2: clip 2 correct, video mean [.5, 0, .25] -> 0 wrong
    ], dtype=float)
    r = classification_report(logits, np.array([0, 1, 2]), k=2)
    assert r.clip_accuracy == pytest.approx(4 / 6)
    assert r.video_accuracy == pytest.approx(2 / 3)
    assert r.video_topk == pytest.approx(1.0)  # video 2: top-2 of [.5, 0, .25] is {0, 2}
    assert r.per_class_accuracy == [1.0, 1.0, 0.0]
    assert r.mean_class_accuracy == pytest.approx(2 / 3)
    assert r.confusion == [[1, 0, 0], [0, 1, 0], [1, 0, 0]]
    assert r.num_videos == 3 and r.num_clips == 6
    assert set(r.summary()) == {"video_accuracy", "video_top2", "clip_accuracy", "clip_top2", "mean_class_accuracy"}


def test_absent_class_is_none_in_json():
    r = classification_report(np.array([[[1.0, 0.0, 0.0]]]), np.array([0]), num_classes=3)
    d = r.as_dict()
    assert d["per_class_accuracy"] == [1.0, None, None] and r.mean_class_accuracy == 1.0


def test_confusion_png_and_predictions_csv(tmp_path):
    cm = [[3, 1], [0, 4]]
    path = plot_confusion_matrix(cm, ["move_left", "move_right"], tmp_path / "cm.png", title="t")
    assert path.read_bytes()[:4] == b"\x89PNG"
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100
    csv = write_predictions(tmp_path / "p.csv", ["a", "b"], np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]),
                            ["left", "right"])
    assert csv.read_text().splitlines() == ["video_id,label,prediction,score", "a,left,left,0.9000",
                                            "b,right,left,0.8000"]
