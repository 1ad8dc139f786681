"""``FusedBatchNormalization`` gives what Keras' ``BatchNormalization`` gives, in training and inference, in
float32 and under ``mixed_bfloat16``: outputs, gradients and moving statistics; the cases the fused kernel does
not cover go to Keras' code; the network's blocks use it, and the shipped model saved before still loads."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from repose_tf import pretrained
from repose_tf.inference import load_keras_model
from repose_tf.model.batch_norm import FusedBatchNormalization
from repose_tf.model.builder import build_model


def _pair(policy: str, shape: tuple[int, ...], **kwargs) -> list[keras.layers.BatchNormalization]:
    rng = np.random.default_rng(1)
    layers = [keras.layers.BatchNormalization(dtype=policy, **kwargs), FusedBatchNormalization(dtype=policy, **kwargs)]
    channels = shape[kwargs.get("axis", -1)]
    gamma, beta = rng.normal(1, 0.2, channels), rng.normal(0, 0.2, channels)
    for layer in layers:
        layer.build(shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return layers


def _run(layer: keras.layers.Layer, x: tf.Tensor, training: bool) -> dict[str, np.ndarray]:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.range(1, x.shape[-1] + 1, dtype=tf.float32))
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return {"dtype": y.dtype, "y": tf.cast(y, tf.float32).numpy(), "dx": dx.numpy(), "dgamma": dgamma.numpy(),
            "dbeta": dbeta.numpy(), "moving_mean": layer.moving_mean.numpy(),
            "moving_variance": layer.moving_variance.numpy()}


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("training", [True, False])
def test_fused_equals_keras(policy: str, training: bool) -> None:
    x = tf.constant(np.random.default_rng(0).normal(2, 3, (4, 6, 6, 5)), tf.float32)
    keras_bn, fused = _pair(policy, x.shape)
    if not training:
        for layer in (keras_bn, fused):
            layer.moving_mean.assign([0.5, 1, 2, 3, -1])
            layer.moving_variance.assign([1, 4, 9, 0.5, 2])
    want, got = _run(keras_bn, x, training), _run(fused, x, training)
    assert got["dtype"] == want["dtype"] == ("bfloat16" if policy == "mixed_bfloat16" else "float32")
    scale = {"y": 1, "dx": 1, "dgamma": 100, "dbeta": 100, "moving_mean": 1, "moving_variance": 1}
    for name, size in scale.items():
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5 * size, err_msg=name)
    if training:
        assert not np.allclose(got["moving_mean"], 0)


@pytest.mark.parametrize(("policy", "fused_kernel"), [("mixed_bfloat16", True), ("float32", False)])
def test_inference_runs_the_fused_kernel_in_16_bits_only(policy: str, fused_kernel: bool) -> None:
    _, fused = _pair(policy, (2, 4, 4, 5))
    graph = tf.function(lambda x: fused(x, training=False)).get_concrete_function(
        tf.TensorSpec((2, 4, 4, 5), tf.float32)).graph
    assert any(op.type == "FusedBatchNormV3" for op in graph.get_operations()) == fused_kernel


def test_other_cases_fall_back_to_keras() -> None:
    x = tf.constant(np.random.default_rng(2).normal(size=(3, 4, 5)), tf.float32)
    mask = tf.constant(np.random.default_rng(3).uniform(size=(3, 4)) > 0.3)
    keras_bn, fused = _pair("float32", x.shape)
    np.testing.assert_allclose(fused(x, training=True, mask=mask), keras_bn(x, training=True, mask=mask), atol=1e-6)
    keras_bn, fused = _pair("float32", (2, 3, 4, 5), axis=1)
    x4 = tf.constant(np.random.default_rng(4).normal(size=(2, 3, 4, 5)), tf.float32)
    np.testing.assert_allclose(fused(x4, training=True), keras_bn(x4, training=True), atol=1e-5)


def test_the_network_uses_it_and_round_trips(tmp_path: Path) -> None:
    model = build_model("tiny", fused=True)
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(isinstance(layer, FusedBatchNormalization) for layer in norms)
    model.save(tmp_path / "tiny.keras")
    again = keras.models.load_model(tmp_path / "tiny.keras")
    x = tf.constant(np.random.default_rng(5).uniform(0, 255, (1, 64, 64, 3)), tf.float32)
    for want, got in zip(tf.nest.flatten(model(x, training=False)), tf.nest.flatten(again(x, training=False))):
        np.testing.assert_array_equal(got, want)


def test_the_shipped_model_saved_with_keras_batchnorm_loads_into_it() -> None:
    model = load_keras_model(pretrained.get(pretrained.DEFAULT_MODEL).path)
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(isinstance(layer, FusedBatchNormalization) for layer in norms)
    assert all(float(np.abs(layer.moving_mean.numpy()).max()) > 0 for layer in norms)
