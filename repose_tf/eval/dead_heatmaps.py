"""Heatmap channels that output zero on every input: the trace of a collapsed training run.

The p blocks that output heatmaps end in a ReLU (``docs/architecture.md``, reading 6).  Once a channel's
pre-activations are negative on every pixel of every input, it outputs zeros and its ReLU passes no gradient
back: the keypoint is lost for good, and its PCK drops to about 0.  One quickstart run on an AMX Xeon ended so
(``docs/training.md``, "A run can collapse"): six of the fourteen final heatmaps dead while the same keypoints'
intermediate heatmaps were alive.

    >>> dead_heatmaps(model, images)      # {output name: [keypoint names whose heatmap is 0 everywhere]}
"""

from __future__ import annotations

import keras
import numpy as np

from repose_tf.skeleton import Skeleton


def heatmap_maxima(model: keras.Model, images: np.ndarray, batch_size: int = 16) -> dict[str, np.ndarray]:
    """The largest value of each keypoint's heatmap over ``images`` (N, S, S, 3) in [0, 255], per output of
    ``model`` (a network of :func:`repose_tf.build_model`): {output name: (K,) float32}."""
    maxima: dict[str, np.ndarray] = {}
    for start in range(0, len(images), batch_size):
        outputs = model(np.asarray(images[start:start + batch_size], np.float32), training=False)
        for name, heatmaps in outputs.items():
            batch_max = keras.ops.convert_to_numpy(keras.ops.max(heatmaps, axis=(0, 1, 2)))
            maxima[name] = np.maximum(maxima[name], batch_max) if name in maxima else batch_max
    return maxima


def dead_heatmaps(model: keras.Model, images: np.ndarray, skeleton: Skeleton) -> dict[str, list[str]]:
    """Per output of ``model``, the keypoints of ``skeleton`` whose heatmap is 0 at every pixel of every one
    of ``images``; outputs without any are left out."""
    dead = {name: [skeleton.keypoints[k] for k in np.flatnonzero(maxima <= 0)]
            for name, maxima in heatmap_maxima(model, images).items()}
    return {name: keypoints for name, keypoints in dead.items() if keypoints}
