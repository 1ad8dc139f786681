"""Layers of repose_tf.model.layers with no other home in the tests: ``Upsample2x``."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from repose_tf import build_model
from repose_tf.model.layers import Upsample2x
from repose_tf.train.strategy import dtype_policy


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_upsample2x_is_bilinear_upsampling2d_without_the_clip(policy: str) -> None:
    x = tf.constant(np.random.default_rng(0).normal(0, 50, (2, 5, 7, 3)), tf.float32)
    ours, keras_layer = Upsample2x(dtype=policy), keras.layers.UpSampling2D(2, interpolation="bilinear", dtype=policy)
    got, want = ours(x), keras_layer(x)
    assert got.dtype == want.dtype and got.shape == (2, 10, 14, 3)
    np.testing.assert_array_equal(tf.cast(got, tf.float32).numpy(), tf.cast(want, tf.float32).numpy())
    again = Upsample2x.from_config(ours.get_config())
    np.testing.assert_array_equal(tf.cast(again(x), tf.float32).numpy(), tf.cast(got, tf.float32).numpy())
    unknown = tf.function(ours).get_concrete_function(tf.TensorSpec((None, None, None, 3), tf.float32))
    assert unknown.output_shapes.as_list() == [None, None, None, 3]
    np.testing.assert_array_equal(tf.cast(unknown(x), tf.float32).numpy(), tf.cast(got, tf.float32).numpy())


def test_the_bfloat16_inference_decoder_upsamples_without_a_clip() -> None:
    with dtype_policy("mixed_bfloat16"):
        net = build_model("tiny", inference=True)
    graph = tf.function(lambda t: net(t, training=False)).get_concrete_function(
        tf.TensorSpec((1, 64, 64, 3), tf.float32)).graph
    resizes = [op for op in graph.get_operations() if op.type == "ResizeBilinear" and "_up" in op.name]
    assert resizes and not [op for op in graph.get_operations()
                            if "_up" in op.name and op.type in ("Minimum", "Maximum", "ClipByValue")]
