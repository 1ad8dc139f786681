"""The partial MSE of eq. (3), and the target packing that lets Keras ``fit`` apply it to every output.

Eq. (3), for one predicted heatmap stack ``O`` (B, n, n, K) and its targets ``H``::

    L = 1/M sum_i  1/|a_i| sum_{k in a_i} ||H_k^i - O_k^i||^2 / n^2

with ``a_i`` the keypoints annotated in example i (``mask[i, k] = 1``).  An example with no
annotated keypoint contributes 0 (not NaN) and still counts in M.  The total training loss is
the sum of (3) over every heatmap output of the network (pre-update, post-update and each
refinement resolution; :func:`repose_tf.model.output_names`).

Keras ``fit`` hands a loss ``(y_true, y_pred)`` per output and nothing else, so the mask rides
along with the targets: :func:`pack_targets` appends it as K extra channels, constant over the
image, giving ``y_true`` of shape (B, n, n, 2K); :class:`PartialMSE` splits it back.  The model
itself stays the plain functional network of :func:`repose_tf.build_model`.

Everything is computed in float32 whatever the compute dtype of the predictions (mixed
precision), and per-example values are returned so that Keras' reduction (mean over the local
batch, divided by the number of replicas under ``tf.distribute``) gives eq. (3) exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf


def partial_mse_per_example(heatmaps: tf.Tensor, mask: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
    """The summand of eq. (3) for each example.

    Args:
      heatmaps: (B, n, n, K) target heatmaps H.
      mask: (B, K), 1 where the keypoint is annotated (a_i), 0 elsewhere.
      predictions: (B, n, n, K) predicted heatmaps O, any float dtype.

    Returns:
      (B,) float32: ``sum_{k in a_i} ||H_k - O_k||^2 / n^2 / |a_i|``, and 0 where ``|a_i| = 0``.
    """
    heatmaps = tf.cast(heatmaps, tf.float32)
    predictions = tf.cast(predictions, tf.float32)
    mask = tf.cast(mask, tf.float32)
    # Mean over the n x n pixels of each channel = ||H_k - O_k||^2 / n^2: (B, K).
    per_keypoint = tf.reduce_mean(tf.square(heatmaps - predictions), axis=[1, 2])
    annotated = tf.reduce_sum(mask, axis=-1)
    return tf.math.divide_no_nan(tf.reduce_sum(per_keypoint * mask, axis=-1), annotated)


def partial_mse(heatmaps: tf.Tensor, mask: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
    """Eq. (3) for one output: the batch mean of :func:`partial_mse_per_example`, a float32 scalar."""
    return tf.reduce_mean(partial_mse_per_example(heatmaps, mask, predictions))


def total_loss(heatmaps: tf.Tensor, mask: tf.Tensor, outputs: dict[str, tf.Tensor] | Sequence[tf.Tensor]) -> tf.Tensor:
    """The training loss: eq. (3) summed over every predicted heatmap stack (each (B, n, n, K))."""
    stacks = outputs.values() if isinstance(outputs, dict) else outputs
    return tf.add_n([partial_mse(heatmaps, mask, o) for o in stacks])


def pack_targets(heatmaps: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """(B, n, n, K) heatmaps and (B, K) mask -> (B, n, n, 2K) float32 ``y_true`` for :class:`PartialMSE`.

    Channels ``[:K]`` are the heatmaps, channels ``[K:]`` the mask broadcast over the image.
    """
    heatmaps = tf.cast(heatmaps, tf.float32)
    mask = tf.cast(mask, tf.float32)
    planes = tf.broadcast_to(mask[:, None, None, :], tf.shape(heatmaps))
    return tf.concat([heatmaps, planes], axis=-1)


def unpack_targets(y_true: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Inverse of :func:`pack_targets`: (B, n, n, 2K) -> heatmaps (B, n, n, K), mask (B, K)."""
    k = y_true.shape[-1] // 2
    return y_true[..., :k], y_true[:, 0, 0, k:]


def keras_targets(targets: dict[str, tf.Tensor], output_names: Sequence[str]) -> dict[str, tf.Tensor]:
    """The pipeline's ``{"heatmaps", "mask", ...}`` -> ``{output name: packed y_true}`` for ``fit``.

    Every output is supervised by the same full-resolution targets (the builder resizes every
    heatmap output to the input resolution); the packed tensor is built once and shared.
    """
    packed = pack_targets(targets["heatmaps"], targets["mask"])
    return {name: packed for name in output_names}


@keras.saving.register_keras_serializable(package="repose_tf")
class PartialMSE(keras.losses.Loss):
    """Eq. (3) as a Keras loss on packed targets (:func:`pack_targets`).

    ``call`` returns (B,) per-example values; Keras' default ``sum_over_batch_size`` reduction
    averages them over the batch (and scales for the replicas of a distribution strategy).
    """

    def __init__(self, name: str = "partial_mse", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        heatmaps, mask = unpack_targets(y_true)
        return partial_mse_per_example(heatmaps, mask, y_pred)
