"""The partial MSE of eq. (3), and the target packing that lets Keras ``fit`` apply it to every output.

Eq. (3), for one predicted heatmap stack ``O`` (B, n, n, K) and its targets ``H``::

    L = 1/M sum_i  1/|a_i| sum_{k in a_i} ||H_k^i - O_k^i||^2 / n^2

with ``a_i`` the keypoints annotated in example i (``mask[i, k] = 1``).  An example with no
annotated keypoint contributes 0 (not NaN) and still counts in M.  The total training loss is
the sum of (3) over every heatmap output of the network (pre-update, post-update and each
refinement resolution; :func:`repose_tf.model.output_names`).

Keras ``fit`` hands a loss ``(y_true, y_pred)`` per output and nothing else, so the training
targets travel as keypoints: :func:`pack_targets` stacks the (B, K, 2) keypoints and the (B, K)
mask into ``y_true`` of shape (B, K, 3), and :class:`PartialMSE` renders the heatmaps H from it
in the train step (on the accelerator, when there is one).  The model itself stays the plain
functional network of :func:`repose_tf.build_model`.

Everything is computed in float32 whatever the compute dtype of the predictions (mixed
precision), and per-example values are returned so that Keras' reduction (mean over the local
batch, divided by the number of replicas under ``tf.distribute``) gives eq. (3) exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from repose_tf.codec import encode_heatmaps


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


def pack_targets(keypoints: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """(B, K, 2) keypoints (x, y) in heatmap pixels and (B, K) mask -> (B, K, 3) float32 ``y_true``
    for :class:`PartialMSE`: channels x, y, mask."""
    keypoints = tf.cast(keypoints, tf.float32)
    return tf.concat([keypoints, tf.cast(mask, tf.float32)[..., None]], axis=-1)


def unpack_targets(y_true: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Inverse of :func:`pack_targets`: (B, K, 3) -> keypoints (B, K, 2), mask (B, K)."""
    return y_true[..., :2], y_true[..., 2]


def keras_targets(targets: dict[str, tf.Tensor], output_names: Sequence[str]) -> dict[str, tf.Tensor]:
    """The pipeline's ``{"keypoints", "mask", ...}`` -> ``{output name: packed y_true}`` for ``fit``.

    Every output is supervised by the same targets (the builder resizes every heatmap output to
    the input resolution): one (B, K, 3) tensor, shared.
    """
    packed = pack_targets(targets["keypoints"], targets["mask"])
    return {name: packed for name in output_names}


@keras.saving.register_keras_serializable(package="repose_tf")
class PartialMSE(keras.losses.Loss):
    """Eq. (3) as a Keras loss on packed keypoints (:func:`pack_targets`): the target heatmaps H
    are rendered here, inside the compiled train step, from the keypoints and the mask
    (:func:`repose_tf.codec.encode_heatmaps`, Gaussians of std ``sigma`` at the prediction's
    resolution), so the input pipeline hands over (B, K, 3) numbers per batch instead of
    (B, n, n, K) heatmaps.  Every output renders the same subgraph from the same tensor.

    ``call`` returns (B,) per-example values; Keras' default ``sum_over_batch_size`` reduction
    averages them over the batch (and scales for the replicas of a distribution strategy).

    Args:
      sigma: the Gaussian's standard deviation in heatmap pixels (``RePoseConfig.sigma``).
    """

    def __init__(self, sigma: float, name: str = "partial_mse", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.sigma = float(sigma)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        if y_true.shape.rank != 3 or y_true.shape[-1] != 3:
            raise ValueError(f"PartialMSE takes targets packed by pack_targets(keypoints, mask), (B, K, 3); got "
                             f"shape {y_true.shape.as_list()} (heatmap targets are rendered in the loss)")
        keypoints, mask = unpack_targets(y_true)
        heatmaps = encode_heatmaps(keypoints, mask, y_pred.shape[1], self.sigma)
        return partial_mse_per_example(heatmaps, mask, y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "sigma": self.sigma}
