"""The ``--out`` check the benchmarks share: a result file that cannot be written is a usage error at the
start, not a traceback at the end of a long run."""

from __future__ import annotations

import argparse


def parse_checked(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv`` (``None``: the command line); a ``--out`` that cannot be written ends with the parser's
    error before any work (its folder is created)."""
    from repose_tf.cli._args import output_problem

    args = parser.parse_args(argv)
    problem = output_problem(args.out, "--out", folder=False)
    if problem:
        parser.error(problem)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        parser.error(f"--out: cannot create the folder {args.out.parent}: {e.strerror}")
    return args
