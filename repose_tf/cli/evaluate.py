"""``repose evaluate``: PCK / PCKh of a trained network on person TFRecords.

    repose evaluate --model runs/tiny --data 'tfrecords/synthetic-val-*.tfrecord' --flip --json eval/tiny.json
    repose evaluate --model savedmodel/repose --data 'tfrecords/lsp-test-*.tfrecord' --plots eval/plots
    repose score --benchmark lsp --gt lsp/joints.mat --pred eval/predictions-lsp.npy

``--model`` is a pretrained model's name (``lsp-small``, :mod:`repose_tf.pretrained`), a run
directory or checkpoint, a ``.keras`` file or an exported SavedModel.  The
table has the layout of the paper's Tables 1-2, one row per dataset of the records: PCK@0.2 with
torso normalisation (LSP, LSPET, synthetic), PCKh@0.5 (MPII records with head boxes), or, for
any other skeleton (COCO-format data), PCK@0.2 of the person box's longer side, with the
skeleton's parts or one column per keypoint as columns (``--norm torso`` for the torso).  The
predictions (0-based pixels of the original images, benchmark joint order) are saved as
``<predictions dir>/predictions-<dataset>.npy``, which ``repose score`` reads.  Semantics:
:mod:`repose_tf.eval.evaluate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from repose_tf.cli import UserError
from repose_tf.cli._args import output_problem, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    # No TensorFlow import here: building the parser stays light; names are checked by the library.
    p = subparsers.add_parser(
        "evaluate", help="PCK@0.2 / PCKh@0.5 of a trained network on TFRecords",
        description="Predict every record (deterministic person crop, optional flip test, sub-pixel decoding), "
                    "map the keypoints back to the original images, print the per-part table and save the "
                    "predictions in the format repose score reads.")
    p.add_argument("--model", required=True,
                   help="a pretrained model's name (lsp-small), run directory / checkpoint directory, .keras file, "
                        "or SavedModel directory")
    p.add_argument("--data", required=True, action="append", metavar="PATTERN",
                   help="TFRecords of person records, repeatable")
    p.add_argument("--flip", action="store_true", help="average with the prediction on the mirrored crop")
    p.add_argument("--decode", default="dark",
                   help="heatmap decoding: dark (default), quarter (quarter offset) or argmax")
    p.add_argument("--metric", default="auto",
                   help="auto (default): PCKh@0.5 for MPII records with head boxes, PCK@0.2 otherwise")
    p.add_argument("--norm", default="auto",
                   help="PCK's reference length: auto (default: the torso, left shoulder to right hip, for LSP14 "
                        "records; the person box's longer side for other skeletons), torso or box")
    p.add_argument("--batch", type=positive_int, default=32, help="crops per forward pass (default 32)")
    p.add_argument("--limit", type=positive_int, metavar="N", help="evaluate the first N records only")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the report as JSON")
    p.add_argument("--predictions", type=Path, metavar="DIR",
                   help="where predictions-<dataset>.npy go (default: beside --json, else the current directory)")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write PCK curves and overlays there")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the --json report and predictions-<dataset>.npy of an earlier run")
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tensorflow as tf

    from repose_tf.codec import DECODE_METHODS
    from repose_tf.data.pipeline import dataset_names, resolve_files
    from repose_tf.eval.evaluate import METRICS, NORMS, evaluate, format_scores

    # Cheap checks first: a typo should not cost a model load (or an evaluation).
    if args.decode not in DECODE_METHODS:
        raise UserError(f"--decode must be one of {', '.join(DECODE_METHODS)}, got {args.decode!r}")
    if args.metric not in METRICS:
        raise UserError(f"--metric must be one of {', '.join(METRICS)}, got {args.metric!r}")
    if args.norm not in NORMS:
        raise UserError(f"--norm must be one of {', '.join(NORMS)}, got {args.norm!r}")
    files = resolve_files(args.data)  # a pattern matching nothing: ValueError naming it
    predictions = args.predictions or (args.json.parent if args.json else Path("."))
    problems = [output_problem(args.json, "--json", folder=False) if args.json else None,
                output_problem(predictions, "--predictions", folder=True),
                output_problem(args.plots, "--plots", folder=True) if args.plots else None]
    if any(problems):
        raise UserError(next(p for p in problems if p))
    earlier = [path for path in [args.json, *(predictions / f"predictions-{name}.npy" for name in dataset_names(files))]
               if path is not None and path.exists()]
    if earlier and not args.overwrite:
        raise UserError(f"{', '.join(map(str, earlier))} exist(s) from an earlier evaluation: pass --overwrite to "
                        "replace them, or give another --json / --predictions")
    try:
        result = evaluate(args.model, args.data, flip=args.flip, decode=args.decode, metric=args.metric,
                          norm=args.norm, batch_size=args.batch, limit=args.limit, json_path=args.json, predictions_dir=predictions,
                          plots_dir=args.plots, progress=not args.no_progress)
    except tf.errors.OpError as e:
        raise UserError(f"evaluation failed: {' '.join(e.message.split())[:500]}") from None
    flip = ", flip test" if args.flip else ""
    print(f"{result.report['model']} on {len(result.predictions)} records, {args.decode} decoding{flip}")
    print(format_scores(result.scores, markdown=args.markdown))
    for name, path in result.files.items():
        print(f"wrote {path}" if not name.startswith("plot-") else f"plot {path}")
    return 0
