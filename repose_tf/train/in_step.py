"""Augmentation inside the train step: where a training run crops and augments its batches.

``TrainRecipe.augment_in`` chooses:

* ``"pipeline"``: tf.data decodes, crops and augments on the host (:func:`repose_tf.data.pipeline.make_dataset`)
  and the train step receives ``(images, targets)``.
* ``"step"``: tf.data decodes each image's reachable window and draws the random augmentation;
  the compiled train step does the one-affine-per-example warp and the colour noise
  (:func:`repose_tf.data.pipeline.crop_uncropped`), then renders the heatmaps in the loss as
  always, so all per-pixel work runs where the step runs (the GPU, when there is one).  The host
  sends uint8 windows instead of float32 crops.  The draws are the pipeline's, so a seed gives the
  same batches either way.
* ``"auto"`` (:func:`augment_placement`): ``step`` on GPUs; ``pipeline`` on CPUs (the step shares the
  cores with tf.data there, and the two places measure about the same: ``docs/augment_in.md``) and on
  TPUs (the flat windows change length from batch to batch, and a TPU step compiles for static shapes).

:class:`AugmentInStep` is the model ``fit`` trains for ``"step"``: the network's own layers (so its
variables, their paths and its checkpoints) with a train step that crops first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from repose_tf.config import RePoseConfig
from repose_tf.data.pipeline import crop_uncropped
from repose_tf.hardware import AUGMENT_PLACES
from repose_tf.model.builder import output_names as network_output_names
from repose_tf.train.loss import keras_targets


class Placement(NamedTuple):
    """Where a run augments ("pipeline" or "step") and why."""

    place: str
    reason: str


def augment_placement(requested: str, strategy: tf.distribute.Strategy) -> Placement:
    """The place of ``requested`` (one of :data:`repose_tf.hardware.AUGMENT_PLACES`) for a run under
    ``strategy``; ``auto`` as in the module docstring."""
    if requested not in AUGMENT_PLACES:
        raise ValueError(f"augment_in must be one of {', '.join(AUGMENT_PLACES)}, got {requested!r}")
    if requested != "auto":
        return Placement(requested, "as asked")
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return Placement("pipeline", "TPU: the uncropped windows change shape from batch to batch")
    if tf.config.list_logical_devices("GPU"):
        return Placement("step", "a GPU runs the train step")
    return Placement("pipeline", "CPU only: the train step would share the cores with tf.data")


class AugmentInStep(keras.Model):
    """A functional model whose train step crops and augments an uncropped batch before Keras' step.

    Built as ``AugmentInStep(model.input, model.output, input_size=..., flip_permutation=...,
    output_names=...)``: it shares the layers of ``model``.  :meth:`train_step` takes the dict of
    ``make_dataset(..., crop=False)`` (pixels (B, L, 3) uint8, the window geometry, keypoints and the
    draws), makes ``images`` (B, S, S, 3) and ``{output name: packed targets (B, K, 3)}``
    (:func:`repose_tf.train.loss.keras_targets`) and hands them to the usual step: loss (eq. 3 on every
    output), gradients, optimizer.  Prediction and evaluation take images as before.
    """

    def __init__(self, inputs: Any, outputs: Any, *, input_size: int, flip_permutation: Sequence[int],
                 output_names: Sequence[str], **kwargs: Any) -> None:
        super().__init__(inputs, outputs, **kwargs)
        self.crop_size = int(input_size)
        self.crop_flip_permutation = tuple(int(i) for i in flip_permutation)
        self.crop_output_names = tuple(output_names)

    @classmethod
    def for_network(cls, model: keras.Model, config: RePoseConfig) -> AugmentInStep:
        """One on the layers of ``model``, the network of ``config``: its crop side, flip pairs and outputs."""
        return cls(model.input, model.output, input_size=config.input_size,
                   flip_permutation=config.skeleton.flip_permutation, output_names=network_output_names(config),
                   name=model.name)

    def cropped(self, uncropped: dict[str, tf.Tensor]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``(images, {output name: packed targets})`` of an uncropped batch."""
        images, targets = crop_uncropped(uncropped, self.crop_size, self.crop_flip_permutation)
        return images, keras_targets(targets, self.crop_output_names)

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        # fit hands the dataset's dict as it is; train_on_batch hands (x, None, None).
        uncropped, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return super().train_step(self.cropped(uncropped))

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Overrides Keras' private method (TensorFlowTrainer, Keras 3.15): Keras builds the compiled loss
        # from the shapes of one batch, reduced over the replicas; the batch the network sees is the
        # cropped one, whose shapes are known without reading any.
        batch = (keras.KerasTensor((None, self.crop_size, self.crop_size, 3)),
                 {name: keras.KerasTensor((None, self.output[name].shape[-1], 3)) for name in self.crop_output_names})
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=batch)


__all__ = ["AugmentInStep", "Placement", "augment_placement"]
