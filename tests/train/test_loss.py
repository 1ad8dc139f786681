"""Eq. (3): hand-computed values, the mask, examples without annotation, mixed precision, Keras packing."""

from __future__ import annotations

import numpy as np
import pytest
import keras
import tensorflow as tf

from repose_tf.codec import encode_heatmaps

from repose_tf.train.loss import (
    PartialMSE,
    keras_targets,
    pack_targets,
    partial_mse,
    partial_mse_per_example,
    total_loss,
    unpack_targets,
)


def _random(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_hand_computed_value() -> None:
    # Two examples, 2x2 heatmaps, 3 keypoints.  Example 0 annotates keypoints 0 and 2, example 1 only 1.
    h = np.zeros((2, 2, 2, 3), np.float32)
    o = np.zeros((2, 2, 2, 3), np.float32)
    o[0, 0, 0, 0] = 2.0  # ||H0 - O0||^2 = 4 -> / n^2 = 1
    o[0, :, :, 2] = 1.0  # ||H2 - O2||^2 = 4 -> 1
    o[0, :, :, 1] = 9.0  # not annotated: ignored
    o[1, 1, 1, 1] = 1.0  # 1 / 4
    mask = np.array([[1, 0, 1], [0, 1, 0]], np.float32)
    per_example = partial_mse_per_example(h, mask, o).numpy()
    np.testing.assert_allclose(per_example, [(1.0 + 1.0) / 2, 0.25])
    assert partial_mse(h, mask, o).numpy() == pytest.approx((1.0 + 0.25) / 2)


def test_unannotated_keypoints_do_not_count() -> None:
    h, o = _random((3, 8, 8, 4), 0), _random((3, 8, 8, 4), 1)
    mask = np.array([[1, 1, 0, 0]] * 3, np.float32)
    changed = o.copy()
    changed[..., 2:] += 100.0  # wildly wrong, but masked
    assert partial_mse(h, mask, o).numpy() == pytest.approx(partial_mse(h, mask, changed).numpy())
    full = partial_mse(h[..., :2], np.ones((3, 2), np.float32), o[..., :2]).numpy()
    assert partial_mse(h, mask, o).numpy() == pytest.approx(full)


def test_example_without_annotation_adds_zero_not_nan() -> None:
    h, o = _random((2, 4, 4, 3), 2), _random((2, 4, 4, 3), 3)
    mask = np.array([[1, 1, 1], [0, 0, 0]], np.float32)
    per_example = partial_mse_per_example(h, mask, o).numpy()
    assert per_example[1] == 0.0
    assert np.isfinite(per_example).all()
    # It still counts in the batch mean (M of eq. 3).
    assert partial_mse(h, mask, o).numpy() == pytest.approx(per_example[0] / 2)
    assert partial_mse(h, np.zeros((2, 3), np.float32), o).numpy() == 0.0


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_mixed_precision_predictions_give_a_float32_loss(dtype: tf.DType) -> None:
    h, o = _random((2, 16, 16, 14), 4), _random((2, 16, 16, 14), 5)
    mask = (np.random.default_rng(6).random((2, 14)) > 0.3).astype(np.float32)
    reference = partial_mse(h, mask, o).numpy()
    low = tf.cast(o, dtype)
    value = partial_mse(h, mask, low)
    assert value.dtype == tf.float32
    # Only the rounding of the predictions to the low precision differs.
    expected = partial_mse(h, mask, tf.cast(low, tf.float32)).numpy()
    assert value.numpy() == pytest.approx(expected, rel=1e-6)
    assert value.numpy() == pytest.approx(reference, rel=2e-2)


def test_total_loss_sums_every_output() -> None:
    h = _random((2, 8, 8, 3), 7)
    mask = np.ones((2, 3), np.float32)
    outputs = {"pre_update": _random((2, 8, 8, 3), 8), "refine_8": _random((2, 8, 8, 3), 9)}
    expected = sum(partial_mse(h, mask, o).numpy() for o in outputs.values())
    assert total_loss(h, mask, outputs).numpy() == pytest.approx(expected)


def test_packing_round_trip_and_keras_loss() -> None:
    rng = np.random.default_rng(10)
    keypoints = rng.uniform(0, 12, (3, 5, 2)).astype(np.float32)
    mask = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], np.float32)
    o = _random((3, 12, 12, 5), 11)
    packed = pack_targets(keypoints, mask)
    assert packed.shape == (3, 5, 3)
    back_keypoints, back_mask = unpack_targets(packed)
    np.testing.assert_array_equal(back_keypoints.numpy(), keypoints)
    np.testing.assert_array_equal(back_mask.numpy(), mask)
    # The Keras loss renders H from the keypoints and reduces the per-example values to eq. (3).
    heatmaps = encode_heatmaps(keypoints, mask, 12, 2.5)
    assert PartialMSE(2.5)(packed, o).numpy() == pytest.approx(partial_mse(heatmaps, mask, o).numpy(), rel=1e-6)
    targets = keras_targets({"mask": mask, "keypoints": keypoints}, ["a", "b"])
    assert sorted(targets) == ["a", "b"]
    np.testing.assert_array_equal(targets["a"].numpy(), packed.numpy())


def test_keras_loss_round_trips_its_sigma() -> None:
    loss = keras.losses.deserialize(keras.losses.serialize(PartialMSE(3.5)))
    assert isinstance(loss, PartialMSE) and loss.sigma == 3.5
    with pytest.raises(ValueError, match="sigma must be positive"):
        PartialMSE(0.0)
    heatmap_targets = tf.zeros((2, 8, 8, 10))
    with pytest.raises(ValueError, match=r"packed by pack_targets\(keypoints, mask\), \(B, K, 3\); got shape \[2, 8, 8, 10\]"):
        PartialMSE(2.0)(heatmap_targets, tf.zeros((2, 8, 8, 5)))


def test_loss_in_the_train_step_equals_the_loss_on_pipeline_heatmaps(tmp_path) -> None:
    """The heatmaps rendered in the step from a training batch's keypoints give the loss that the
    pipeline's own heatmaps (as rendered before the targets moved into the step) give, per output."""
    from repose_tf.data.pipeline import make_dataset
    from repose_tf.model.builder import build_model, output_names
    from repose_tf.train.fit import compile_for_training, TrainRecipe
    from tests.train.helpers import TEST_CONFIG as cfg, write_people

    write_people(tmp_path, "train", 16, 1)
    pattern = str(tmp_path / "synthetic-train-*.tfrecord")
    options = dict(input_size=cfg.input_size, sigma=cfg.sigma, skeleton=cfg.skeleton, seed=3, deterministic=True)
    images, with_heatmaps = next(iter(make_dataset(pattern, "train", 8, **options)))
    _, keypoint_targets = next(iter(make_dataset(pattern, "train", 8, heatmaps=False, **options)))
    assert "heatmaps" not in keypoint_targets
    np.testing.assert_array_equal(keypoint_targets["keypoints"].numpy(), with_heatmaps["keypoints"].numpy())

    model = build_model(cfg)
    compile_for_training(model, cfg, TrainRecipe(steps=10))
    names = output_names(cfg)
    predictions = model(images)
    before = sum(float(partial_mse(with_heatmaps["heatmaps"], with_heatmaps["mask"], predictions[n])) for n in names)
    after = model.compute_loss(images, keras_targets(keypoint_targets, names), predictions)
    assert float(after) == pytest.approx(before, rel=1e-6)
