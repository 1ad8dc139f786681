"""Argument types shared by the subcommands (argparse turns their errors into usage messages)."""

from __future__ import annotations

import argparse
from pathlib import Path


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def image_range(text: str) -> range:
    """``FIRST-LAST``: 1-based, inclusive image numbers with 1 <= FIRST <= LAST, as 0-based indices."""
    first, sep, last = text.partition("-")
    try:
        a, b = int(first), int(last)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST, e.g. 8501-9000") from None
    if not sep or not 1 <= a <= b:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST with 1 <= FIRST <= LAST") from None
    return range(a - 1, b)


def _file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` that is a file (so nothing can be created below it)."""
    for parent in path.parents:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


def output_problem(path: Path, flag: str, folder: bool) -> str | None:
    """Why ``path`` cannot be written as an output folder (``folder``) or file, or None: checked before
    the work starts, so that an hour of work is not lost to a path typo at the end."""
    blocker = _file_above(path)
    if blocker is not None:
        return f"{flag} {path}: {blocker} is a file, so nothing can be written below it"
    if folder and path.exists() and not path.is_dir():
        return f"{flag} {path}: is a file; give a folder"
    if not folder and path.is_dir():
        return f"{flag} {path}: is a folder; give a file name"
    return None
