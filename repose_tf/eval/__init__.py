"""Benchmark scoring with the field's exact semantics: PCK / PCKh metrics and the LSP / MPII scorers."""

from repose_tf.eval.benchmarks import (
    BenchmarkFileError,
    BenchmarkScore,
    load_lsp_gt,
    load_mpii_gt,
    read_predictions,
    score_lsp,
    score_mpii,
)
from repose_tf.eval.metrics import (
    JointPCK,
    PCKCurve,
    box_sizes,
    format_part_table,
    head_sizes,
    part_table,
    pck,
    pck_curve,
    torso_sizes,
)

__all__ = [
    "BenchmarkFileError", "BenchmarkScore", "load_lsp_gt", "load_mpii_gt", "read_predictions",
    "score_lsp", "score_mpii", "JointPCK", "PCKCurve", "box_sizes", "format_part_table", "head_sizes",
    "part_table", "pck", "pck_curve", "torso_sizes",
]
