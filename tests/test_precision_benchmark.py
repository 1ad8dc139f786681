"""``benchmarks/precision.py``: the conv stack matches the network's FLOPs and uses the network's BatchNorm (or
Keras' or none, for ``benchmarks/batch_norm.py``); the table compares each row with its own precision's stack."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import pytest

from repose_tf.model.batch_norm import FusedBatchNormalization

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import precision  # noqa: E402


@pytest.mark.parametrize(("norm", "kind"), [("fused", FusedBatchNormalization),
                                            ("keras", keras.layers.BatchNormalization), ("none", None)])
def test_the_stack_has_the_flops_and_the_batchnorm_asked(norm: str, kind: type | None) -> None:
    per_block = 2 * 9 * 64 * 64 * 32 * 32
    model, flops = precision.stack_model(32, 5.2 * per_block, norm=norm)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(convs) == 1 + 5
    assert flops == 2 * 9 * 3 * 64 * 32 * 32 + 5 * per_block
    assert len(norms) == (0 if kind is None else 5)
    assert all(type(layer) is kind for layer in norms)


def test_the_table_divides_by_the_stack_of_the_same_precision() -> None:
    pairs = [{"name": name, "preset": "tiny", "precision": p, "flops": 1e9, "images_s": speed,
              "gflops_s": 3 * speed} for name, p, speed in [
                  ("tiny", "float32", 10.0), ("conv stack for tiny", "float32", 20.0),
                  ("tiny", "bfloat16", 30.0), ("conv stack for tiny", "bfloat16", 40.0)]]
    rows = precision.table(pairs)[2:]
    assert rows[0].endswith("| 0.50 | 1.00 |")
    assert rows[2].endswith("| 0.75 | 3.00 |")
