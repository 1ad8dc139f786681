"""``repose score``: score a prediction file against official LSP / MPII ground truth.

    repose score --benchmark lsp  --gt lsp/joints.mat      --pred preds.npy [--json out.json]
    repose score --benchmark mpii --gt mpii/gt_valid.mat   --pred pred.mat

Predictions are (N, J, 2) (or the MATLAB layouts (2, J, N) / (J, 2, N)) in the benchmark's
joint order.  By default .npy/.npz files are taken as 0-based pixels (this repo's convention)
and .mat files as MATLAB 1-based pixels (result files of the MATLAB/HRNet tools);
``--pred-base`` overrides.  Semantics: :mod:`repose_tf.eval.benchmarks`.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from repose_tf.cli import UserError
from repose_tf.cli._args import output_problem
from repose_tf.eval.benchmarks import (
    LSP_NUM_IMAGES,
    LSP_TEST_SIZE,
    BenchmarkFileError,
    BenchmarkScore,
    load_lsp_gt,
    load_mpii_gt,
    read_predictions,
    score_lsp,
    score_mpii,
)
from repose_tf.eval.metrics import format_part_table
from repose_tf.skeleton import LSP14, MPII16_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score", help="score predictions on LSP (PCK@0.2) or MPII (PCKh@0.5)",
        description="Score a prediction file against the official ground truth with the "
                    "semantics of the field's evaluation code, and print the paper's table row.")
    p.add_argument("--benchmark", required=True, choices=("lsp", "mpii"))
    p.add_argument("--gt", required=True, type=Path,
                   help="ground truth: LSP joints.mat or MPII gt_valid.mat")
    p.add_argument("--pred", required=True, type=Path,
                   help="predictions .npy/.npz/.mat: (N,J,2), (2,J,N) or (J,2,N), benchmark joint order")
    p.add_argument("--pred-base", choices=("auto", "0", "1"), default="auto",
                   help="pixel origin of the predictions: 0-based, 1-based (MATLAB), or auto "
                        "(.mat = 1-based, else 0-based)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the scores as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    p.set_defaults(func=run, tensorflow=False)


def run(args: argparse.Namespace) -> int:
    problem = output_problem(args.json, "--json", folder=False) if args.json else None
    if problem:
        raise UserError(problem)
    try:
        score = _score(args)
    except BenchmarkFileError as e:
        raise UserError(str(e)) from e
    print(f"{score.metric} on {args.benchmark.upper()}: {score.subset}, n = {score.n}")
    print(format_part_table({args.pred.name: score.parts}, markdown=args.markdown))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(score.to_json(), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _score(args: argparse.Namespace) -> BenchmarkScore:
    if args.benchmark == "lsp":
        lsp = load_lsp_gt(args.gt)
        preds = read_predictions(args.pred, LSP14.num_keypoints, (LSP_TEST_SIZE, LSP_NUM_IMAGES))
        scorer = functools.partial(score_lsp, lsp)
    else:
        mpii = load_mpii_gt(args.gt)
        preds = read_predictions(args.pred, len(MPII16_NAMES), (mpii.num_people,))
        scorer = functools.partial(score_mpii, mpii)
    if args.pred_base == "auto":
        one_based = args.pred.suffix.lower() == ".mat"
        why = " (auto from the file type; --pred-base overrides)"
    else:
        one_based = args.pred_base == "1"
        why = ""
    variable = f", variable {preds.variable!r}" if preds.variable else ""
    base = "1-based (MATLAB), used as is" if one_based else "0-based, +1 to match the 1-based ground truth"
    n, j, _ = preds.coords.shape
    print(f"read {args.pred}{variable}: layout {preds.layout}, {n} people x {j} joints, {base}{why}")
    return scorer(preds.coords, one_based=one_based, source=str(args.pred))
