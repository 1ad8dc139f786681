"""``repose quickstart``: synthetic data -> train ``tiny`` -> evaluate -> export -> pictures, no dataset needed.

    repose quickstart --out quickstart
    repose quickstart --out /tmp/qs --smoke      # every step on a handful of people (seconds of training)
    repose quickstart --out qs-long --steps 4200 # exactly 4200 steps of the same recipe, however long

See :mod:`repose_tf.quickstart` for what lands in ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from repose_tf.cli._args import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "quickstart", help="the main job without a dataset: synthetic data, train tiny, evaluate, export",
        description="Generate synthetic people (train + held-out), train the tiny preset, evaluate PCK@0.2 on "
                    "the held-out people, export a SavedModel, and write an overlay and the training curves.  "
                    "The figures go to <out>/quickstart.json.  A rerun reuses the data and resumes training.")
    p.add_argument("--out", type=Path, default=Path("quickstart"), help="output folder (default: quickstart)")
    p.add_argument("--smoke", action="store_true", help="tiny counts and steps: checks that every step runs")
    p.add_argument("--steps", type=positive_int, metavar="N",
                   help="train exactly N steps, whatever the time (default: as many as fit the ten minutes, "
                        "planned from the measured step time); the same recipe with its cosine decay spread over "
                        "the steps")
    p.add_argument("--workers", type=positive_int, metavar="N", help="processes generating people (default: cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repose_tf.quickstart import format_summary, quickstart

    summary = quickstart(args.out, smoke=args.smoke, progress=not args.no_progress, workers=args.workers,
                         steps=args.steps)
    print(format_summary(summary))
    print(f"wrote {args.out / 'quickstart.json'}")
    return 0
