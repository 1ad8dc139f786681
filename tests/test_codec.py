"""Heatmap codec: encoding targets, decoding (argmax / quarter / DARK), flip-back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

from repose_tf.codec import decode_heatmaps, encode_heatmaps, flip_back
from repose_tf.skeleton import LSP14

N = 64
SIGMA = 3.0


def _random_keypoints(rng: np.random.Generator, batch: int, k: int, n: int, margin: float) -> np.ndarray:
    return rng.uniform(margin, n - 1 - margin, (batch, k, 2)).astype(np.float32)


def test_encode_matches_closed_form_and_peaks_on_integer_keypoint() -> None:
    kp = np.array([[[10.0, 20.0], [30.25, 5.5]]], np.float32)
    heat = encode_heatmaps(kp, np.ones((1, 2)), N, SIGMA).numpy()
    assert heat.shape == (1, N, N, 2) and heat.dtype == np.float32
    ys, xs = np.mgrid[0:N, 0:N]
    for k, (x, y) in enumerate(kp[0]):
        expected = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * SIGMA**2))
        np.testing.assert_allclose(heat[0, :, :, k], expected, atol=1e-6)
    assert np.unravel_index(heat[0, :, :, 0].argmax(), (N, N)) == (20, 10)
    assert heat[0, 20, 10, 0] == pytest.approx(1.0)


def test_encode_peak_is_nearest_pixel_of_subpixel_keypoint() -> None:
    rng = np.random.default_rng(1)
    kp = _random_keypoints(rng, 4, 14, N, 2)
    heat = encode_heatmaps(kp, np.ones((4, 14)), N, SIGMA).numpy()
    flat = heat.transpose(0, 3, 1, 2).reshape(4, 14, -1).argmax(-1)
    np.testing.assert_array_equal(flat % N, np.round(kp[..., 0]))
    np.testing.assert_array_equal(flat // N, np.round(kp[..., 1]))


def test_masked_keypoints_give_zero_channels() -> None:
    kp = np.full((2, 3, 2), 20.0, np.float32)
    mask = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
    heat = encode_heatmaps(kp, mask, N, SIGMA).numpy()
    assert np.all(heat[0, ..., 1] == 0) and np.all(heat[1, ..., :2] == 0)
    assert heat[0, ..., 0].max() == pytest.approx(1.0) and heat[1, ..., 2].max() == pytest.approx(1.0)


def test_encode_rejects_bad_sigma_and_size() -> None:
    with pytest.raises(ValueError, match="sigma"):
        encode_heatmaps(np.zeros((1, 1, 2)), np.ones((1, 1)), N, 0.0)
    with pytest.raises(ValueError, match="size"):
        encode_heatmaps(np.zeros((1, 1, 2)), np.ones((1, 1)), 0, 1.0)


@pytest.mark.parametrize("method, tolerance_per_axis", [("argmax", 0.5), ("quarter", 0.25), ("dark", 0.05)])
def test_decode_recovers_subpixel_keypoints(method: str, tolerance_per_axis: float) -> None:
    rng = np.random.default_rng(2)
    kp = _random_keypoints(rng, 4, 14, N, 4)
    heat = encode_heatmaps(kp, np.ones((4, 14)), N, SIGMA)
    decoded, scores = decode_heatmaps(heat, method)
    assert decoded.shape == (4, 14, 2) and scores.shape == (4, 14)
    assert np.abs(decoded.numpy() - kp).max() <= tolerance_per_axis + 1e-4
    np.testing.assert_allclose(scores.numpy(), heat.numpy().max(axis=(1, 2)), rtol=1e-6)


def test_dark_is_exact_near_the_border_and_keeps_argmax_on_it() -> None:
    near = np.array([[[1.3, 2.6], [N - 3.4, N - 1.7], [4.4, 30.2], [30.0, N - 6.6]]], np.float32)
    on = np.array([[[0.3, 20.0], [N - 1.2, 10.0]]], np.float32)
    heat = encode_heatmaps(np.concatenate([near, on], axis=1), np.ones((1, 6)), N, SIGMA)
    decoded = decode_heatmaps(heat, "dark")[0].numpy()
    assert np.abs(decoded[:, :4] - near).max() < 0.01
    np.testing.assert_array_equal(decoded[:, 4:], np.round(on))


def test_dark_on_empty_heatmaps_returns_argmax_and_zero_scores() -> None:
    empty, scores = decode_heatmaps(tf.zeros((1, N, N, 2)), "dark")
    np.testing.assert_array_equal(empty.numpy(), 0.0)
    np.testing.assert_array_equal(scores.numpy(), 0.0)


@pytest.mark.parametrize("method", ["quarter", "dark"])
def test_degenerate_heatmaps_decode_to_finite_points_near_the_argmax(method: str) -> None:
    heat = np.zeros((1, N, N, 4), np.float32)
    heat[0, 20, 30, 0] = 1.0  # a single hot pixel
    heat[..., 1] = -0.5  # negative everywhere
    heat[0, 10, 10, 1] = -0.1
    heat[0, 40, 5, 2] = 1e30  # huge
    heat[0, 5:8, 50:53, 3] = 1.0  # a plateau
    decoded = decode_heatmaps(heat, method)[0].numpy()
    assert np.all(np.isfinite(decoded))
    argmax = decode_heatmaps(heat, "argmax")[0].numpy()
    assert np.abs(decoded - argmax).max() <= 1.0


def test_method_comparison_on_noisy_heatmaps() -> None:
    """The measurement behind the table in the codec module docstring."""
    rng = np.random.default_rng(0)
    batch, k, n = 32, 14, 128
    kp = _random_keypoints(rng, batch, k, n, 10)
    height = rng.uniform(0.5, 1.0, (batch, 1, 1, k)).astype(np.float32)
    clean = encode_heatmaps(kp, np.ones((batch, k)), n, 5.0) * height
    errors = {}
    for noise in (0.0, 0.02, 0.05, 0.1):
        noisy = clean + rng.normal(0.0, noise, clean.shape).astype(np.float32)
        for method in ("argmax", "quarter", "dark"):
            decoded, _ = decode_heatmaps(noisy, method)
            errors[noise, method] = float(np.linalg.norm(decoded.numpy() - kp, axis=-1).mean())
    for noise in (0.0, 0.02, 0.05, 0.1):
        assert errors[noise, "dark"] < errors[noise, "quarter"] < errors[noise, "argmax"], errors
    assert errors[0.0, "dark"] < 0.01
    assert errors[0.05, "dark"] < 0.6 * errors[0.05, "quarter"], errors


def test_dark_smooths_the_window_around_the_maximum_as_the_whole_map() -> None:
    # DARK smooths only the pixels its Taylor step reads: where that window lies inside the map, the values
    # are those of smoothing the whole map (zero padding, separable), the smoothing DARK is defined with.
    from repose_tf.codec import _blur_radius, _blurred_around, _channels_first_flat, _taylor_points

    rng = np.random.default_rng(3)
    heatmaps = tf.constant(rng.uniform(0, 1, (2, 40, 33, 3)), tf.float32)
    sigma, radius = 2.0, _blur_radius(2.0)
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    kernel = tf.constant(taps / taps.sum(), tf.float32)
    column = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, 3, 1])
    whole = tf.nn.depthwise_conv2d(tf.nn.depthwise_conv2d(heatmaps, column, [1, 1, 1, 1], "SAME"),
                                   tf.reshape(column, [1, -1, 3, 1]), [1, 1, 1, 1], "SAME")
    x = tf.constant(rng.integers(radius + 2, 33 - radius - 2, (2, 3)), tf.int32)
    y = tf.constant(rng.integers(radius + 2, 40 - radius - 2, (2, 3)), tf.int32)
    got = _blurred_around(_channels_first_flat(heatmaps), x, y, 40, 33, sigma, radius, _taylor_points(2))
    for b in range(2):
        for k in range(3):
            want = [whole[b, y[b, k] + dy, x[b, k] + dx, k] for dx, dy in _taylor_points(2)]
            np.testing.assert_allclose(got[b, k], want, rtol=1e-6)


def test_decode_under_xla_with_unknown_batch_matches_eager() -> None:
    rng = np.random.default_rng(3)
    kp = _random_keypoints(rng, 3, 5, N, 4)
    heat = encode_heatmaps(kp, np.ones((3, 5)), N, SIGMA) + rng.normal(0, 0.02, (3, N, N, 5)).astype(np.float32)
    compiled = tf.function(lambda h: decode_heatmaps(h, "dark"), jit_compile=True,
                           input_signature=[tf.TensorSpec([None, N, N, 5], tf.float32)])
    eager, eager_scores = decode_heatmaps(heat, "dark")
    xla, xla_scores = compiled(heat)
    np.testing.assert_allclose(xla.numpy(), eager.numpy(), atol=1e-3)
    np.testing.assert_allclose(xla_scores.numpy(), eager_scores.numpy(), atol=1e-6)


def test_dark_converts_to_tflite_builtins_and_runs() -> None:
    if not hasattr(tf.lite, "Interpreter"):
        pytest.skip("this TensorFlow has no tf.lite.Interpreter")
    fn = tf.function(lambda h: decode_heatmaps(h, "dark"), input_signature=[tf.TensorSpec([1, N, N, 14], tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    kp = _random_keypoints(np.random.default_rng(4), 1, 14, N, 4)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"],
                           encode_heatmaps(kp, np.ones((1, 14)), N, SIGMA).numpy())
    interpreter.invoke()
    outputs = [interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()]
    decoded = next(o for o in outputs if o.shape == (1, 14, 2))
    assert np.abs(decoded - kp).max() < 0.05


def test_flip_back_mirrors_and_swaps_channels() -> None:
    rng = np.random.default_rng(5)
    k = LSP14.num_keypoints
    kp = _random_keypoints(rng, 2, k, N, 0)
    perm = np.array(LSP14.flip_permutation)
    # What a model would predict on the W-flipped input: mirrored x, left/right swapped.
    flipped_kp = kp[:, perm].copy()
    flipped_kp[..., 0] = N - 1 - flipped_kp[..., 0]
    flipped = encode_heatmaps(flipped_kp, np.ones((2, k)), N, SIGMA)
    restored = flip_back(flipped, LSP14.flip_permutation)
    np.testing.assert_allclose(restored.numpy(), encode_heatmaps(kp, np.ones((2, k)), N, SIGMA).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="permutation"):
        flip_back(flipped, (0, 1))


def test_decode_rejects_unknown_method_and_bad_rank() -> None:
    with pytest.raises(ValueError, match="decode method"):
        decode_heatmaps(tf.zeros((1, 8, 8, 2)), "soft-argmax")
    with pytest.raises(ValueError, match="heatmaps must be"):
        decode_heatmaps(tf.zeros((8, 8, 2)), "argmax")
