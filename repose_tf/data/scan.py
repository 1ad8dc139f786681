"""Reading every record of some shards once: how many can be used, which cannot, and why.

Training skips a record it cannot read or decode (:func:`repose_tf.data.pipeline.make_dataset`
uses ``ignore_errors`` so one bad JPEG does not end a long run).  Alone, that lets a truncated
shard lose half its records without a word, so :func:`repose_tf.train.fit` scans its data
first, reports what it found and refuses data with too many bad records.

Two kinds of damage:

* the file's framing breaks (a truncated or overwritten file): reading stops there, and every
  record after it is lost.  How many were lost is known from the converter's sidecar
  (``<dataset>-<split>.json`` lists each shard's record count); without a sidecar the file
  counts as losing at least one record.
* a record reads but does not parse or its image does not decode (a corrupt JPEG, an image
  whose size differs from the record's, another skeleton): that record alone is lost.

The scan decodes every image once, as training does (the whole image, in parallel).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf
from tqdm import tqdm

from repose_tf.data import pipeline
from repose_tf.skeleton import Skeleton

SHOWN_BAD = 3  # undecodable records per file whose reason is looked up and reported


@dataclasses.dataclass(frozen=True)
class FileScan:
    """One TFRecord file, read to its end.

    Attributes:
      path: the file.
      readable: records read before the end of the file or the framing error.
      usable: of those, the records that parse and decode.
      expected: the record count the converter's sidecar gives for this file (None: no sidecar).
      framing_error: why reading stopped before the end of the file (None: it did not).
      bad: up to :data:`SHOWN_BAD` undecodable records as (index, reason).
    """

    path: str
    readable: int
    usable: int
    expected: int | None
    framing_error: str | None
    bad: tuple[tuple[int, str], ...] = ()

    @property
    def total(self) -> int:
        """Records the file should hold (at least one more than it reads when it is truncated)."""
        if self.expected is not None:
            return max(self.expected, self.readable)
        return self.readable + (1 if self.framing_error else 0)

    @property
    def lost(self) -> int:
        """Records training cannot use (a lower bound when truncated without a sidecar)."""
        return self.total - self.usable

    def problems(self) -> list[str]:
        """One line per kind of damage, naming the file; empty when every record is usable."""
        lines = []
        if self.framing_error:
            after = self.total - self.readable
            count = f"{after} records lost" if self.expected is not None else (
                "how many records were lost is unknown (no sidecar lists this file)")
            lines.append(f"{self.path}: unreadable after record {self.readable} (truncated or corrupt file: "
                         f"{self.framing_error}); {count}")
        undecodable = self.readable - self.usable
        if undecodable:
            shown = "; ".join(f"record {i}: {reason}" for i, reason in self.bad)
            lines.append(f"{self.path}: {undecodable} record(s) do not decode ({shown})")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "readable": self.readable, "usable": self.usable, "expected": self.expected,
                "lost": self.lost, "framing_error": self.framing_error,
                "bad": [{"index": i, "reason": r} for i, r in self.bad]}


@dataclasses.dataclass(frozen=True)
class DataScan:
    """Every file of a data set, scanned."""

    files: tuple[FileScan, ...]

    @property
    def total(self) -> int:
        return sum(f.total for f in self.files)

    @property
    def usable(self) -> int:
        return sum(f.usable for f in self.files)

    @property
    def lost(self) -> int:
        return self.total - self.usable

    @property
    def lost_fraction(self) -> float:
        return self.lost / self.total if self.total else 0.0

    def summary(self) -> str:
        """One line: how many records are usable, in how many files."""
        if not self.lost:
            return f"{self.usable:,} records in {len(self.files)} file(s), all readable"
        return (f"{self.usable:,} of {self.total:,} records usable in {len(self.files)} file(s); "
                f"{self.lost:,} ({100 * self.lost_fraction:.1f} %) unreadable")

    def problems(self) -> list[str]:
        return [line for f in self.files for line in f.problems()]

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "usable": self.usable, "lost": self.lost,
                "damaged_files": [f.to_dict() for f in self.files if f.lost]}


def count_readable(path: str) -> tuple[int, str | None]:
    """Records of a TFRecord file read before its end or its first framing error, and that error's message."""
    count = 0
    try:
        for _ in tf.data.TFRecordDataset(path):
            count += 1
    except tf.errors.OpError as e:
        return count, " ".join(e.message.split())[:200]
    return count, None


def expected_records(path: str) -> int | None:
    """The record count of a shard according to its sidecar, None if no sidecar lists it.

    The sidecar of ``<dataset>-<split>-NNNNN-of-MMMMM.tfrecord`` is ``<dataset>-<split>.json`` in
    the same folder (:mod:`repose_tf.data.shards`).
    """
    file = Path(path)
    prefix = file.name.rsplit("-", 3)[0] if file.name.count("-") >= 3 else None
    if prefix is None:
        return None
    try:
        sidecar = json.loads((file.parent / f"{prefix}.json").read_text())
        shards = {s["file"]: int(s["records"]) for s in sidecar["shards"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return shards.get(file.name)


def scan_file(path: str, skeleton: Skeleton) -> FileScan:
    """Read, parse and decode every record of one file (see the module docstring)."""
    readable, framing_error = count_readable(path)

    def decodes(index: tf.Tensor, serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        example = pipeline.decode_example(serialized, skeleton)
        return index, tf.shape(example["pixels"])[0]

    records = tf.data.TFRecordDataset(path).take(readable).enumerate()
    decoded = records.map(decodes, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors().batch(4096)
    usable = {int(i) for indices, _ in decoded for i in indices.numpy()}
    bad = [i for i in range(readable) if i not in usable][:SHOWN_BAD]
    return FileScan(path=path, readable=readable, usable=len(usable), expected=expected_records(path),
                    framing_error=framing_error, bad=tuple((i, _decode_error(path, i, skeleton)) for i in bad))


def scan(files: Sequence[str], skeleton: Skeleton, progress: bool = True) -> DataScan:
    """:func:`scan_file` for each file, with a progress bar over the files."""
    with tqdm(files, desc="check records", unit="file", disable=not progress or len(files) < 2,
              dynamic_ncols=True, leave=False) as bar:
        return DataScan(tuple(scan_file(path, skeleton) for path in bar))


def _decode_error(path: str, index: int, skeleton: Skeleton) -> str:
    """The decoder's message for record ``index`` of ``path``, on one line."""
    record = tf.data.TFRecordDataset(path).skip(index).take(1)
    try:
        for serialized in record:
            pipeline.decode_example(serialized, skeleton)["pixels"].numpy()
    except tf.errors.OpError as e:
        return " ".join(e.message.split())[:200]
    return "decodes when read alone"
