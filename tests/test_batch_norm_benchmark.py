"""``benchmarks/batch_norm.py``: each precision gets the network and the conv stack with the fused BatchNorm and
with Keras' layer, and a stack without BatchNorm; the Keras copy really holds Keras' layer, and building it
leaves the network's blocks on the fused one."""

from __future__ import annotations

import sys
from pathlib import Path

import keras

from repose_tf.model import layers
from repose_tf.model.batch_norm import FusedBatchNormalization

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import batch_norm  # noqa: E402


def _norms(model: keras.Model) -> set[type]:
    return {type(layer) for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)}


def test_rows_hold_the_batchnorm_they_name() -> None:
    rows = {name: model for name, model, _, _ in batch_norm.models("tiny", "float32", 2)}
    assert list(rows) == ["tiny, fused BatchNorm", "conv stack, fused BatchNorm", "tiny, Keras BatchNorm",
                          "conv stack, Keras BatchNorm", "conv stack, no BatchNorm"]
    assert _norms(rows["tiny, fused BatchNorm"]) == _norms(rows["conv stack, fused BatchNorm"]) == {
        FusedBatchNormalization}
    assert _norms(rows["tiny, Keras BatchNorm"]) == _norms(rows["conv stack, Keras BatchNorm"]) == {
        keras.layers.BatchNormalization}
    assert _norms(rows["conv stack, no BatchNorm"]) == set()
    assert layers.FusedBatchNormalization is FusedBatchNormalization
