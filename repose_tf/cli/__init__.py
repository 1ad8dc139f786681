"""The ``repose`` command: a thin layer of argument parsing over the library.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable taking the
parsed ``argparse.Namespace`` and returning an exit code, and ``tensorflow=False`` if the
command never imports TensorFlow (the others import it quietly first: :mod:`._quiet`).  Modules are discovered, so a new
command is a new file.  Errors meant for the user are :class:`UserError`: they print as one
line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
import warnings

from repose_tf.cli._quiet import quiet_tensorflow


_NEGATIVE = re.compile(r"-\d[\d.eE+-]*(,-?[\d.eE+-]+)*")


class UserError(Exception):
    """A problem with the user's input: printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repose", description="RePose pose estimation (TF/Keras).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{info.name}").register(sub)
    _add_verbose(parser)
    return parser


def _negative_values(argv: list[str]) -> list[str]:
    """``--opt -10,10,50,100`` as ``--opt=-10,10,50,100``: argparse takes a value that starts with a
    dash for an option unless it is a single number, so a box left of the image was refused."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and _NEGATIVE.fullmatch(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` on every command that runs (the leaves of the subcommand tree)."""
    branches = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for choice in (p for action in branches for p in action.choices.values()):
        _add_verbose(choice)
    if not branches:
        parser.add_argument("--verbose", action="store_true",
                            help="also show TensorFlow's own log lines (hidden by default)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_negative_values(sys.argv[1:] if argv is None else argv))
    if not args.verbose and getattr(args, "tensorflow", True):
        quiet_tensorflow()
    try:
        with warnings.catch_warnings():
            # The library's warnings to the user (an untrained preset, ...) as one plain line each.
            warnings.showwarning = lambda message, *_: print(f"repose {args.command}: WARNING: {message}",
                                                              file=sys.stderr)
            return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError) as e:
        print(f"repose {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"repose {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
