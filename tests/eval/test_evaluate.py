"""``repose_tf.eval.evaluate``: predictions mapped to source pixels, flip test, scores, files, loading."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from repose_tf.codec import flip_back
from repose_tf.config import RePoseConfig
from repose_tf.data.convert.coco import convert_coco
from repose_tf.data.convert.common import ConvertOptions
from repose_tf.data.pipeline import make_dataset, resolve_files
from repose_tf.data.shards import read_records
from repose_tf.eval.benchmarks import read_predictions
from repose_tf.eval.evaluate import (
    EvalPredictions,
    Predictor,
    evaluate,
    format_scores,
    load_predictor,
    predict,
    predictor_from_model,
    score,
)
from repose_tf.model.builder import build_model
from repose_tf.skeleton import COCO17, Skeleton
from repose_tf.train.checkpoints import CheckpointWriter
from tests.data.coco_people import write_coco_people
from tests.train.helpers import TEST_CONFIG, write_people

OFFSET, SCALE = (40.0, 25.0), 2.0


def _oracle(pattern: str, batch_size: int, flip: bool, cfg: RePoseConfig = TEST_CONFIG) -> Predictor:
    """A "network" of config ``cfg`` that returns the ground-truth heatmaps of the eval crops, in order.

    With ``flip`` every second call (the mirrored crop) gets the mirrored heatmaps, so that
    the flip test's average is the ground truth again.
    """
    truth = [t["heatmaps"].numpy() for path in resolve_files(pattern)  # predict reads file after file
             for _, t, _ in make_dataset(path, "eval", batch_size, input_size=cfg.input_size, sigma=cfg.sigma,
                                         skeleton=cfg.skeleton, deterministic=True)]
    calls = []

    def next_heatmaps() -> np.ndarray:
        calls.append(1)
        i = len(calls) - 1
        batch = truth[i // 2] if flip else truth[i]
        if flip and i % 2:
            batch = flip_back(batch, cfg.skeleton.flip_permutation).numpy()
        return batch

    def heatmaps(crops: tf.Tensor) -> tf.Tensor:
        out = tf.py_function(next_heatmaps, [], tf.float32)
        return tf.ensure_shape(out, [None, cfg.input_size, cfg.input_size, cfg.num_keypoints])

    return Predictor(heatmaps, cfg, "oracle")


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("records")
    return {
        # Pre-cropped records: source pixel = stored pixel * SCALE + OFFSET.
        "synthetic": write_people(root, "val", 10, 5, source_offset=OFFSET, source_scale=SCALE),
        "mpii": write_people(root, "valid", 6, 6, dataset="mpii"),
    }


@pytest.mark.parametrize("flip", [False, True])
def test_oracle_predictions_land_on_the_source_pixels(records: dict[str, str], flip: bool) -> None:
    pattern = records["synthetic"]
    preds = predict(_oracle(pattern, 4, flip), pattern, batch_size=4, flip=flip, progress=False)
    stored = np.stack([r["keypoints"] for r in read_records(Path(pattern).parent, "synthetic", "val")])
    assert preds.image_id.tolist() == [f"synthetic-5-{i}" for i in range(10)]  # record order
    annotated = preds.annotated
    np.testing.assert_allclose(preds.gt[annotated], (stored * SCALE + np.array(OFFSET))[annotated], atol=1e-3)
    # DARK recovers the Gaussians' centres; the crop is ~3x smaller than the stored image, SCALE 2 more.
    error = np.linalg.norm(preds.keypoints - preds.gt, axis=-1)[annotated]
    assert error.max() < 0.5


def test_oracle_scores_and_report_files(records: dict[str, str], tmp_path: Path) -> None:
    pattern = records["synthetic"]
    result = evaluate(_oracle(pattern, 4, False), pattern, batch_size=4, json_path=tmp_path / "eval.json",
                      plots_dir=tmp_path / "plots", overlays=2, progress=False)
    score = result.scores["synthetic"]
    assert score.metric == "PCK@0.2" and score.n == 10
    assert list(score.parts) == ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean"]
    assert score.parts["Mean"] == 100.0
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["results"]["synthetic"]["parts"]["Mean"] == 100.0
    assert report["results"]["synthetic"]["curve"]["thresholds"][20] == 0.2
    saved = np.load(tmp_path / "predictions-synthetic.npy")
    np.testing.assert_allclose(saved, result.predictions.keypoints)
    assert read_predictions(tmp_path / "predictions-synthetic.npy", 14, (10,)).coords.shape == (10, 14, 2)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["overlay-0.png", "overlay-1.png",
                                                                        "pck-synthetic.png"]
    assert "synthetic PCK@0.2 (n=10)" in format_scores(result.scores)
    as_lsp = format_scores({"lsp": result.scores["synthetic"]})
    paper_row, our_row = [line for line in as_lsp.splitlines() if "RePose, paper" in line or "lsp PCK" in line]
    assert "RePose, paper (Table 1)" in paper_row and paper_row.split()[-1] == "91.66"
    assert "RePose" not in format_scores({"lsp": result.scores["synthetic"]}, paper=False)


def test_mpii_records_get_pckh_and_sixteen_joints(records: dict[str, str], tmp_path: Path) -> None:
    pattern = records["mpii"]
    result = evaluate(_oracle(pattern, 3, False), pattern, batch_size=3, predictions_dir=tmp_path, progress=False)
    score = result.scores["mpii"]
    assert score.metric == "PCKh@0.5" and score.parts["Mean"] == 100.0
    saved = np.load(tmp_path / "predictions-mpii.npy")
    assert saved.shape == (6, 16, 2)
    # Upper neck (8) and head top (9) of MPII are LSP14's neck (12) and head (13).
    np.testing.assert_allclose(saved[:, [8, 9]], result.predictions.keypoints[:, [12, 13]])


def test_a_model_loads_the_same_from_memory_keras_file_and_checkpoint(records: dict[str, str], tmp_path: Path) -> None:
    keras.utils.set_random_seed(3)
    model = build_model(TEST_CONFIG)
    model.save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text(TEST_CONFIG.to_json())
    model.compile(optimizer="adam")
    model.optimizer.build(model.trainable_variables)
    CheckpointWriter(tmp_path / "run" / "checkpoints", TEST_CONFIG).save(0, model, model.optimizer)
    crops = tf.random.stateless_uniform((2, 32, 32, 3), (1, 2), maxval=255.0)
    reference = predictor_from_model(model, TEST_CONFIG).heatmaps(crops).numpy()
    for source in (tmp_path / "model.keras", tmp_path / "run"):
        loaded = load_predictor(source)
        assert loaded.config == TEST_CONFIG
        np.testing.assert_allclose(loaded.heatmaps(crops).numpy(), reference, atol=1e-5)


def test_bad_inputs_are_named(records: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such model"):
        load_predictor(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither a training checkpoint"):
        load_predictor(tmp_path / "empty")
    oracle = _oracle(records["synthetic"], 4, False)
    with pytest.raises(ValueError, match="no files match"):
        predict(oracle, str(tmp_path / "nothing-*.tfrecord"), progress=False)
    corrupt = tmp_path / "corrupt.tfrecord"
    corrupt.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="corrupt.tfrecord"):
        predict(oracle, str(corrupt), progress=False)
    with pytest.raises(ValueError, match="unknown decode"):
        predict(oracle, records["synthetic"], decode="mean", progress=False)


def test_coco_records_are_scored_by_the_person_box(tmp_path: Path) -> None:
    """The annotated bbox travels to the source pixels, and a perfect prediction scores 100 by box and torso."""
    content = write_coco_people(tmp_path, "person_keypoints_val", 5, seed=4)
    convert_coco(tmp_path / "person_keypoints_val.json", tmp_path / "images", tmp_path,
                 options=ConvertOptions(progress=False, workers=1))
    pattern = str(tmp_path / "coco-valid-*.tfrecord")
    cfg = TEST_CONFIG.replace(skeleton=COCO17)
    preds = predict(_oracle(pattern, 4, False, cfg), pattern, batch_size=4, progress=False)
    boxes = [a["bbox"] for a in content["annotations"] if any(a["keypoints"][2::3])]
    np.testing.assert_allclose(preds.person_boxes, [[x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5]
                                                    for x, y, w, h in boxes], atol=1e-3)
    assert preds.has_person_box.all()
    by_box = score(preds, COCO17)["coco"]
    assert by_box.metric == "box PCK@0.2"
    assert list(by_box.parts) == ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean"]
    assert by_box.parts["Mean"] == 100.0
    assert score(preds, COCO17, norm="torso")["coco"].metric == "PCK@0.2"


def _chain_predictions(boxes: bool) -> EvalPredictions:
    """Two people of a 3-keypoint chain; person 1's keypoints are off by 0, 10 and 30 px, person 2's by 0."""
    gt = np.zeros((2, 3, 2))
    pred = gt.copy()
    pred[0, :, 0] = (0.0, 10.0, 30.0)
    box = np.array([[0.0, 0.0, 100.0, 50.0]] * 2)
    n = np.zeros(2)
    return EvalPredictions(
        keypoints=pred, scores=np.ones((2, 3), np.float32), gt=gt, annotated=np.ones((2, 3), bool),
        visible=np.ones((2, 3), bool), head_boxes=np.zeros((2, 4)), has_head_box=np.zeros(2, bool),
        person_boxes=box if boxes else np.zeros((2, 4)), has_person_box=np.full(2, boxes), dataset=np.array(["arm"] * 2),
        image_id=np.array(["a", "b"]), person_index=n.astype(np.int64), crops=np.zeros((0, 8, 8, 3), np.uint8),
        crop_keypoints=np.zeros((0, 3, 2), np.float32))


def test_a_skeleton_without_parts_gets_a_column_per_keypoint() -> None:
    arm = Skeleton("arm", ("shoulder", "elbow", "wrist"), (("shoulder", "elbow"), ("elbow", "wrist")), ())
    result = score(_chain_predictions(boxes=True), arm)["arm"]
    # 0.2 x the box's longer side (100 px) = 20 px: the 30 px wrist of person 1 misses.
    assert result.metric == "box PCK@0.2"
    assert result.parts == {"shoulder": 100.0, "elbow": 100.0, "wrist": 50.0, "Mean": pytest.approx(500 / 6)}
    with pytest.raises(ValueError, match="skeleton 'arm' names no torso"):
        score(_chain_predictions(boxes=True), arm, norm="torso")
    with pytest.raises(ValueError, match="PCK by the person box needs person boxes; 2 'arm' records have none"):
        score(_chain_predictions(boxes=False), arm)
