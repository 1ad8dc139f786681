"""The ``repose`` command: a thin layer of argument parsing over the library.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable taking the
parsed ``argparse.Namespace`` and returning an exit code.  Modules are discovered, so a new
command is a new file.  Errors meant for the user are :class:`UserError`: they print as one
line on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings


class UserError(Exception):
    """A problem with the user's input: printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repose", description="RePose pose estimation (TF/Keras).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
