"""Writing TFRecord shards: the one writer every converter (and the synthetic generator) uses.

A dataset split lands in ``out_dir`` as

  ``<dataset>-<split>-NNNNN-of-MMMMM.tfrecord``  one serialized :class:`PersonRecord` per record
  ``<dataset>-<split>.json``                     the sidecar: counts, skips, skeleton, conventions

The sidecar carries the whole skeleton (``skeleton_definition``: names, edges, flip pairs,
ordering, parts), so training on the shards needs nothing more: :func:`records_skeleton`
reads it back from the shards' paths.

Shards are written into a hidden temporary folder inside ``out_dir`` and renamed into place
only once the whole split is written, so a failure (bad input in strict mode, Ctrl-C) leaves
the previous output untouched and no temporary file behind.  Rewriting a split removes its
stale shards (e.g. a former run with more shards), and the output is a pure function of the
input: rerunning gives the same names and the same bytes.

TensorFlow (through :mod:`repose_tf.data.records`) is imported when records are written or
read, not with this module, so the ``repose`` command line starts without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from repose_tf.skeleton import LSP14, SKELETONS, Skeleton
from repose_tf.tempdirs import owned_temp_dir

if TYPE_CHECKING:
    from repose_tf.data.records import PersonRecord

DEFAULT_RECORDS_PER_SHARD = 1000
LOGGED_SKIPS = 5  # skipped people logged one by one per reason; the rest are counted in one line
_log = logging.getLogger(__name__)
_NAME = re.compile(r"[A-Za-z0-9_]+")
_SHARD = re.compile(r"(?P<prefix>[A-Za-z0-9_]+-[A-Za-z0-9_]+)-\d{5}-of-\d{5}\.tfrecord")
# Keys of the sidecar that write_shards fills itself; ``metadata`` may not override them.
_RESERVED = ("dataset", "split", "schema_version", "skeleton", "skeleton_definition", "keypoints", "counts",
             "shards", "skipped")
# Conventions of the schema itself (records.py), true of every record; in every sidecar.
SCHEMA_CONVENTIONS = {
    "pixels": "0-based (x, y) pixels of the stored image, pixel centres at integers",
    "source_mapping": "source_xy = stored_xy * source_scale + source_offset",
    "scale": "person box side = scale * 200 stored pixels, centred on center",
}


@dataclasses.dataclass(frozen=True)
class Skipped:
    """An input person that was not written, and why.

    Attributes:
      reason: short machine-readable cause, e.g. "missing_image", "nan_coordinates".
      file: the file at fault (image or annotation file).
      index: the person's index in the source annotation.
      detail: one human-readable sentence.
    """

    reason: str
    file: str
    index: int
    detail: str

    def message(self) -> str:
        return f"{self.file}: person {self.index}: {self.detail}"


def shard_name(dataset: str, split: str, index: int, num_shards: int) -> str:
    """``<dataset>-<split>-NNNNN-of-MMMMM.tfrecord`` for shard ``index`` (0-based)."""
    return f"{dataset}-{split}-{index:05d}-of-{num_shards:05d}.tfrecord"


def sidecar_path(out_dir: str | os.PathLike, dataset: str, split: str) -> Path:
    return Path(out_dir) / f"{dataset}-{split}.json"


def list_shards(out_dir: str | os.PathLike, dataset: str, split: str) -> list[Path]:
    """The shard files of one dataset split in ``out_dir``, sorted by shard index."""
    _check_name("dataset", dataset)
    _check_name("split", split)
    pattern = re.compile(rf"{dataset}-{split}-\d{{5}}-of-\d{{5}}\.tfrecord")
    return sorted(p for p in Path(out_dir).glob(f"{dataset}-{split}-*.tfrecord") if pattern.fullmatch(p.name))


def read_records(out_dir: str | os.PathLike, dataset: str, split: str,
                 skeleton: Skeleton = LSP14) -> Iterator[dict[str, np.ndarray]]:
    """Parse the records of one dataset split back, shard by shard, as numpy dicts.

    For inspection and tests; training reads the shards through tf.data.  Keys and shapes
    are those of :func:`repose_tf.data.records.parse` (``keypoints`` (K, 2), ...).
    """
    import tensorflow as tf

    from repose_tf.data.records import parse

    files = [str(p) for p in list_shards(out_dir, dataset, split)]
    if not files:
        raise FileNotFoundError(f"{out_dir}: no shards of {dataset}-{split}")
    for serialized in tf.data.TFRecordDataset(files):
        yield {k: v.numpy() for k, v in parse(serialized, skeleton.num_keypoints).items()}


def records_skeleton(files: Sequence[str | os.PathLike]) -> Skeleton | None:
    """The skeleton the sidecars of shard ``files`` name, or None when none of them has a sidecar.

    A sidecar of an earlier version names its skeleton without defining it: a preset's name is
    looked up; files that are not ``<dataset>-<split>-NNNNN-of-MMMMM.tfrecord`` have no sidecar.

    Raises:
      ValueError: a sidecar that cannot be read, a skeleton it names but does not define, or
        shards of different skeletons (each message names the file).
    """
    found: dict[str, Skeleton] = {}
    for file in files:
        match = _SHARD.fullmatch(Path(file).name)
        path = Path(file).with_name(f"{match['prefix']}.json") if match else None
        if path is None or str(path) in found or not path.is_file():
            continue
        try:
            sidecar = json.loads(path.read_text())
            definition = sidecar.get("skeleton_definition")
            name = sidecar["skeleton"]
            found[str(path)] = Skeleton.from_dict(definition) if definition is not None else SKELETONS[name]
        except (OSError, json.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: not a sidecar that gives the records' skeleton ({type(e).__name__}: {e})"
                             ) from None
    skeletons = {json.dumps(sk.to_dict(), sort_keys=True): (path, sk) for path, sk in found.items()}
    if len(skeletons) > 1:
        described = "; ".join(f"{path}: {sk.name!r} ({sk.num_keypoints} keypoints)" for path, sk in skeletons.values())
        raise ValueError(f"the shards use different skeletons: {described}")
    return next(iter(skeletons.values()))[1] if skeletons else None


def _check_name(what: str, value: str) -> None:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{what} name {value!r} must be letters, digits and '_' only "
                         "(it becomes part of the shard file names)")


def _check_record(rec: PersonRecord, dataset: str, skeleton: Skeleton, position: int) -> None:
    if rec.dataset != dataset:
        raise ValueError(f"record {position} ({rec.image_id}) is of dataset {rec.dataset!r}, "
                         f"the shards being written are {dataset!r}")
    if rec.skeleton != skeleton.name:
        raise ValueError(f"record {position} ({rec.image_id}) has skeleton {rec.skeleton!r}, "
                         f"expected {skeleton.name!r}")
    shape = np.shape(rec.keypoints)
    if shape != (skeleton.num_keypoints, 2):
        raise ValueError(f"record {position} ({rec.image_id}): keypoints of shape {shape}, expected "
                         f"({skeleton.num_keypoints}, 2) for skeleton {skeleton.name!r}")


def write_shards(
    records: Iterable[PersonRecord | Skipped],
    out_dir: str | os.PathLike,
    dataset: str,
    split: str,
    *,
    skeleton: Skeleton = LSP14,
    num_shards: int | None = None,
    records_per_shard: int | None = None,
    total: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Serialize ``records`` into the shards of one dataset split and write its sidecar.

    Args:
      records: people in output order.  :class:`Skipped` items are not written but counted
        and listed in the sidecar, so a converter reports its skips in the same stream.
      out_dir: output folder (created if needed).
      dataset, split: name parts of the files; letters, digits and '_' only.
      skeleton: the skeleton every record must carry (its name and keypoint count).
      num_shards: write exactly this many shards, record i going to shard ``i % num_shards``.
      records_per_shard: or fill shards in order with this many records each (the number of
        shards follows from the count).  Default when neither is given:
        ``DEFAULT_RECORDS_PER_SHARD``.
      total: the number of items ``records`` will yield, for the progress bar only.
      metadata: extra JSON-serializable sidecar entries (sources, ...).  Its "conventions"
        dict is merged over :data:`SCHEMA_CONVENTIONS`.
      progress: show a tqdm progress bar.

    Returns:
      The sidecar content: dataset, split, schema_version, skeleton (its name),
      skeleton_definition (:meth:`Skeleton.to_dict`), keypoints,
      counts {written, skipped, skipped_by_reason}, shards [{file, records}], skipped
      [{reason, file, index, detail}], the ``metadata`` entries, and conventions.

    Raises:
      ValueError: bad names or shard options, a record of another dataset or skeleton, or
        no record at all to write (the previous output is then kept).
    """
    from repose_tf.data.records import SCHEMA_VERSION

    _check_name("dataset", dataset)
    _check_name("split", split)
    if num_shards is not None and records_per_shard is not None:
        raise ValueError("give num_shards or records_per_shard, not both")
    if num_shards is not None and num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    if records_per_shard is None and num_shards is None:
        records_per_shard = DEFAULT_RECORDS_PER_SHARD
    if records_per_shard is not None and records_per_shard < 1:
        raise ValueError(f"records_per_shard must be >= 1, got {records_per_shard}")
    clash = sorted(set(metadata or {}) & set(_RESERVED))
    if clash:
        raise ValueError(f"metadata may not set the sidecar's own keys {clash}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = owned_temp_dir(out, f".{dataset}-{split}")  # also removes what a killed run left
    try:
        # Skip warnings go through tqdm.write, so they do not break the progress bar.
        with (logging_redirect_tqdm() if progress else contextlib.nullcontext(),
              tqdm(records, total=total, desc=f"{dataset}-{split}", unit="person", disable=not progress,
                   dynamic_ncols=True) as items):
            counts, skipped = _write_temp_shards(items, tmp, dataset, skeleton, num_shards, records_per_shard)
        written = sum(counts)
        if written == 0:
            reasons = dict(Counter(s.reason for s in skipped))
            raise ValueError(f"{dataset}-{split}: no record to write ({len(skipped)} skipped: {reasons})")
        sidecar = {
            "dataset": dataset,
            "split": split,
            "schema_version": SCHEMA_VERSION,
            "skeleton": skeleton.name,
            "skeleton_definition": skeleton.to_dict(),
            "keypoints": list(skeleton.keypoints),
            "counts": {
                "written": written,
                "skipped": len(skipped),
                "skipped_by_reason": dict(sorted(Counter(s.reason for s in skipped).items())),
            },
            "shards": [{"file": shard_name(dataset, split, i, len(counts)), "records": n}
                       for i, n in enumerate(counts)],
            "skipped": [dataclasses.asdict(s) for s in skipped],
            **(metadata or {}),
            "conventions": {**SCHEMA_CONVENTIONS, **(metadata or {}).get("conventions", {})},
        }
        (tmp / "sidecar.json").write_text(json.dumps(sidecar, indent=2) + "\n")
        _publish(tmp, out, dataset, split, len(counts))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sidecar


def _write_temp_shards(
    items: Iterable[PersonRecord | Skipped],
    tmp: Path,
    dataset: str,
    skeleton: Skeleton,
    num_shards: int | None,
    records_per_shard: int | None,
) -> tuple[list[int], list[Skipped]]:
    """Write the records of ``items`` to ``tmp/NNNNN``; return per-shard counts and the skips."""
    import tensorflow as tf

    from repose_tf.data.records import serialize

    counts: list[int] = [0] * (num_shards or 0)
    skipped: list[Skipped] = []
    by_reason: Counter[str] = Counter()
    writers: dict[int, tf.io.TFRecordWriter] = {}
    try:
        position = 0
        for item in items:
            if isinstance(item, Skipped):
                by_reason[item.reason] += 1
                if by_reason[item.reason] <= LOGGED_SKIPS:
                    _log.warning("skipped %s", item.message())
                skipped.append(item)
                continue
            _check_record(item, dataset, skeleton, position)
            if num_shards is not None:
                shard = position % num_shards
            else:
                shard = position // records_per_shard
                if shard not in writers and shard - 1 in writers:
                    writers.pop(shard - 1).close()
                if shard == len(counts):
                    counts.append(0)
            if shard not in writers:
                writers[shard] = tf.io.TFRecordWriter(str(tmp / f"{shard:05d}"))
            writers[shard].write(serialize(item))
            counts[shard] += 1
            position += 1
    finally:
        for w in writers.values():
            w.close()
    for shard in range(len(counts)):  # num_shards larger than the record count: empty shards
        (tmp / f"{shard:05d}").touch()
    for reason, count in by_reason.items():
        if count > LOGGED_SKIPS:
            _log.warning("skipped %d more for %s (each is listed in the sidecar)", count - LOGGED_SKIPS, reason)
    return counts, skipped


def _publish(tmp: Path, out: Path, dataset: str, split: str, num_shards: int) -> None:
    """Rename the finished shards and sidecar from ``tmp`` into ``out``; drop stale shards."""
    keep = set()
    for i in range(num_shards):
        name = shard_name(dataset, split, i, num_shards)
        os.replace(tmp / f"{i:05d}", out / name)
        keep.add(name)
    os.replace(tmp / "sidecar.json", sidecar_path(out, dataset, split))
    for stale in list_shards(out, dataset, split):
        if stale.name not in keep:
            stale.unlink()

