"""Parameter and FLOP counts, read off the built graph.

FLOPs follow the paper's convention: 2 x multiply-adds of the convolutions (Table 4's per-block
deltas confirm it: one (3,1,32) block in all 28 update steps at 16x16 is 2*28*256*9*32*32 = 0.13G).
Element-wise work (ReLU, BatchNorm, bias, resizes) is not counted.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from repose_tf.config import RePoseConfig, get_config

_CONV_OPS = ("Conv2D", "DepthwiseConv2dNative")


@dataclasses.dataclass(frozen=True)
class Complexity:
    preset: str
    params: int  # trainable parameters
    flops: int  # 2 x conv multiply-adds for one image

    def as_dict(self) -> dict[str, int | str]:
        return {"preset": self.preset, "params": self.params, "flops": self.flops}


def model_graph(model: keras.Model) -> tf.Graph:
    """The inference graph of ``model`` for one image (batch 1)."""
    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)
    return tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph


def _op_flops(op: tf.Operation) -> int:
    out = op.outputs[0].shape.as_list()
    filt = op.inputs[1].shape.as_list()
    if None in out or None in filt:
        raise ValueError(f"cannot count FLOPs of {op.name}: unknown shape {out} / {filt}")
    if op.type == "Conv2D":  # filter (kh, kw, cin / groups, cout)
        return 2 * out[0] * out[1] * out[2] * out[3] * filt[0] * filt[1] * filt[2]
    return 2 * out[0] * out[1] * out[2] * out[3] * filt[0] * filt[1]  # depthwise: one tap set per output


def graph_conv_flops(graph: tf.Graph) -> int:
    """Sum of 2 x multiply-adds over the convolution ops of ``graph`` (and the functions it calls)."""
    total = 0
    seen = set()

    def visit(g: tf.Graph) -> None:
        nonlocal total
        for op in g.get_operations():
            if op.type in _CONV_OPS:
                total += _op_flops(op)
        for name, fn in getattr(g, "_functions", {}).items():
            if name not in seen:
                seen.add(name)
                visit(fn.graph)

    visit(graph)
    return total


def trainable_params(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def profile(config: str | RePoseConfig) -> Complexity:
    """Build the preset and count its trainable parameters and FLOPs."""
    from repose_tf.model.builder import build_model

    cfg = get_config(config)
    keras.backend.clear_session()
    model = build_model(cfg)
    return Complexity(cfg.name, trainable_params(model), graph_conv_flops(model_graph(model)))
