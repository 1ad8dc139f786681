"""FLOP and parameter counts: checked against TF's own profiler and against the paper."""

from __future__ import annotations

import keras
import tensorflow as tf

from repose_tf import build_model
from repose_tf.config import PAPER_COMPLEXITY
from repose_tf.model.complexity import (
    graph_conv_flops,
    model_graph,
    profile,
    trainable_params,
)


def _profiler_conv_flops(graph: tf.Graph) -> int:
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    report = tf.compat.v1.profiler.profile(graph, cmd="op", options=opts)
    return sum(c.float_ops for c in report.children if c.name in ("Conv2D", "DepthwiseConv2dNative"))


def test_conv_flops_match_tf_profiler() -> None:
    keras.backend.clear_session()
    model = build_model("tiny")
    graph = model_graph(model)
    ours = graph_conv_flops(graph)
    assert ours > 0
    assert ours == _profiler_conv_flops(graph)


def test_trainable_params_count() -> None:
    model = build_model("tiny")
    assert trainable_params(model) == sum(int(tf.size(w)) for w in model.trainable_weights)
    assert trainable_params(model) < model.count_params()  # BatchNorm moving statistics excluded


def test_default_matches_the_paper() -> None:
    params, flops = PAPER_COMPLEXITY["repose"]
    c = profile("repose")
    assert abs(c.params / params - 1) <= 0.05, c
    assert abs(c.flops / flops - 1) <= 0.10, c
