"""BatchNorm as one fused kernel: the same layer, variables and arithmetic as Keras' ``BatchNormalization``,
run through TensorFlow's ``FusedBatchNormV3`` instead of a dozen element-wise ops.

Why: under ``mixed_bfloat16`` Keras' layer casts every activation to float32, computes the moments and the
normalisation op by op, and casts back. On a CPU with AMX that costs more than the convolutions. With the
fused kernel, which reads the bfloat16 activations once and keeps float32 statistics inside, ``repose`` trains
1.44x faster in bfloat16 and 1.30x in float32 on an AMX Xeon (``docs/batch_norm.md``,
``python benchmarks/batch_norm.py``). In bfloat16 inference it also replaces Keras' casts around four
element-wise ops (``repose export --precision bfloat16``, ``docs/performance-amx.md``).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="repose")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras' ``BatchNormalization`` over the last axis of (B, H, W, C) inputs, computed by ``FusedBatchNormV3``.

    Same variables (``gamma``, ``beta``, ``moving_mean``, ``moving_variance``, float32) and the same results:
    in training the batch mean and the biased batch variance normalise the input and update the moving
    statistics with ``momentum``. The output has the layer's compute dtype.

    Inference with the moving statistics uses the fused kernel only in a 16-bit compute dtype (bfloat16,
    float16), where it replaces Keras' casts to float32 and back around four element-wise ops, and gives the
    same values up to the 16-bit rounding of the output. In float32 inference runs Keras' own code, so exported
    and frozen float32 graphs hold the arithmetic they held before (Grappler folds it into the convolutions;
    with the fused kernel there, an untrained ``repose`` export moved DARK's sub-pixel keypoints by 0.007 px
    against the Keras model, over the float32 export check's 0.0015). So does anything the fused kernel does
    not cover (a mask, renorm, synchronized statistics, another axis or rank).

    Example:
        >>> FusedBatchNormalization()(keras.ops.ones((2, 4, 4, 3)), training=True).shape
        (2, 4, 4, 3)
    """

    def _covered(self, inputs: Any, mask: Any) -> bool:
        """Whether the fused kernel computes this call: NHWC input, no mask, the plain affine normalisation."""
        axis = self.axis if isinstance(self.axis, int) else None
        return (mask is None and len(inputs.shape) == 4 and axis in (-1, 3) and self.scale and self.center
                and not self.renorm and not self.synchronized)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if not self._covered(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        if not (training and self.trainable):
            if self.compute_dtype not in ("bfloat16", "float16"):
                return super().call(inputs, training=training, mask=mask)
            return tf.raw_ops.FusedBatchNormV3(
                x=tf.cast(inputs, self.compute_dtype), scale=self.gamma, offset=self.beta, mean=self.moving_mean,
                variance=self.moving_variance, epsilon=self.epsilon, data_format="NHWC", is_training=False)[0]
        # The kernel returns the Bessel-corrected variance (n - 1 in the denominator) for the moving
        # statistics; Keras updates them with the biased one, which also normalises the batch.
        y, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=tf.cast(inputs, self.compute_dtype), scale=self.gamma, offset=self.beta,
            mean=tf.constant([], tf.float32), variance=tf.constant([], tf.float32), epsilon=self.epsilon,
            data_format="NHWC", is_training=True)
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)
        variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return y
