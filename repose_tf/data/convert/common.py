"""What the LSP, LSPET, MPII and COCO converters share: person annotations -> records -> shards.

A converter reads its annotation file into :class:`PersonAnnotation`s (source-image pixels,
0-based) and hands them to :func:`convert_people`, which loads each image once (a thread
pool: Pillow releases the GIL while decoding and encoding JPEGs, so both cores work without
copying images between processes), stores the person's pre-crop (:mod:`.images`), maps every
coordinate to stored pixels and writes the shards with :func:`repose_tf.data.shards.write_shards`.
Output order is annotation order whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from repose_tf.data.convert import InputError
from repose_tf.data.convert.images import (
    ImageError,
    StorageOptions,
    StoredImage,
    crop_box,
    load_image,
    store_person,
)
from repose_tf.data.records import PersonRecord
from repose_tf.data.shards import DEFAULT_RECORDS_PER_SHARD, Skipped, write_shards
from repose_tf.skeleton import LSP14, Skeleton

# Conventions shared by the benchmark converters, written to each sidecar (next to the
# schema's own, repose_tf.data.shards.SCHEMA_CONVENTIONS).
COMMON_CONVENTIONS = {
    "unannotated_keypoints": "stored as (0, 0) with annotated = 0; ignore their coordinates",
    "image_encoding": "JPEG",
}


class Box(enum.Enum):
    """Where a person's center and scale come from."""

    GIVEN = "given"  # the annotation file (MPII)
    KEYPOINTS = "keypoints"  # the annotated keypoints, see keypoint_box (LSP train, LSPET)
    IMAGE = "image"  # the whole image, see image_box (the LSP test protocol)


@dataclasses.dataclass
class PersonAnnotation:
    """One person as read from a benchmark's annotation file, in source-image pixels.

    Attributes:
      image_path: the source image file.
      image_id: the name stored in the record (the file name).
      index: the person's index in the annotation file (0-based).
      keypoints: (K, 2) float64 0-based source pixels; unannotated rows are ignored.
      annotated: (K,) bool.
      visible: (K,) bool (meaningful where annotated).
      box: where center and scale come from.
      center: (2,) 0-based source pixels, used when box is Box.GIVEN.
      scale: person box side / 200 in source pixels, used when box is Box.GIVEN.
      head_box: (4,) x1, y1, x2, y2 0-based source pixels, or None.
      extra_joints: (J, 2) benchmark-native joints, 0-based source pixels, or None.
      extra_annotated: (J,) bool, or None.
      person_box: (4,) x1, y1, x2, y2 0-based source pixels of the annotated person box, or None.
      image_size: (width, height) the annotation file gives the image, checked against the
        image's own, or None.
      problem: (reason, detail) of a fault the converter found while reading the annotation,
        reported like the others (:func:`annotation_problem`), or None.
    """

    image_path: Path
    image_id: str
    index: int
    keypoints: np.ndarray
    annotated: np.ndarray
    visible: np.ndarray
    box: Box
    center: np.ndarray | None = None
    scale: float | None = None
    head_box: np.ndarray | None = None
    extra_joints: np.ndarray | None = None
    extra_annotated: np.ndarray | None = None
    person_box: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    problem: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class ConvertOptions:
    """Options shared by every converter.

    Attributes:
      storage: how images are stored (pre-crop or source bytes).
      strict: a bad person or image raises :class:`InputError` instead of being skipped.
      workers: threads decoding / encoding images.
      records_per_shard: shard size.
      progress: show a progress bar.
    """

    storage: StorageOptions = StorageOptions()
    strict: bool = False
    workers: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    records_per_shard: int = DEFAULT_RECORDS_PER_SHARD
    progress: bool = True


def annotation_problem(ann: PersonAnnotation, annotation_file: Path) -> Skipped | None:
    """The reason ``ann`` cannot become a record, judged from its annotation alone, or None.

    Checks: the converter's own finding (``ann.problem``), non-finite coordinates at annotated
    keypoints or joints or in a given center/scale, no annotated keypoint, a non-positive given
    or keypoint-derived scale.
    """
    def skip(reason: str, detail: str) -> Skipped:
        return Skipped(reason, str(annotation_file), ann.index, detail)

    if ann.problem is not None:
        return skip(*ann.problem)
    annotated = np.asarray(ann.annotated, bool)
    bad = np.flatnonzero(annotated & ~np.isfinite(ann.keypoints).all(axis=1))
    if bad.size:
        return skip("nan_coordinates", f"non-finite coordinates at keypoint(s) {bad.tolist()}")
    if ann.extra_joints is not None:
        extra = np.asarray(ann.extra_annotated, bool)
        bad = np.flatnonzero(extra & ~np.isfinite(ann.extra_joints).all(axis=1))
        if bad.size:
            return skip("nan_coordinates", f"non-finite coordinates at source joint(s) {bad.tolist()}")
    if not annotated.any():
        return skip("no_annotated_keypoints", "no annotated keypoint")
    if ann.box is Box.GIVEN:
        if not (np.isfinite(ann.center).all() and np.isfinite(ann.scale)):
            return skip("nan_coordinates", f"non-finite center {ann.center} or scale {ann.scale}")
        if not ann.scale > 0:
            return skip("bad_center_scale", f"scale {ann.scale} is not positive")
    elif ann.box is Box.KEYPOINTS and not keypoint_box(ann.keypoints, annotated)[1] > 0:
        return skip("bad_center_scale", "the annotated keypoints span a zero-size box")
    return None


def read_json(path: Path) -> Any:
    """The content of a JSON annotation file.

    Raises:
      InputError: no such file, or not readable JSON (the message names the file).
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable JSON file ({e})") from None


def guess_split(path: Path) -> str:
    """The split named by an annotation file's name: valid.json, train.json, trainval.json, ...

    Words of the stem (split at non-letters) are looked up: "valid"/"val", "train",
    "trainval", "test".
    """
    words = set(re.split(r"[^a-z]+", path.stem.lower()))
    for split, names in (("valid", ("valid", "val")), ("train", ("train",)),
                         ("trainval", ("trainval",)), ("test", ("test",))):
        if words & set(names):
            return split
    raise InputError(f"{path}: cannot tell the split from the file name; give --split")


def first_images(people: list[PersonAnnotation], limit: int | None) -> list[PersonAnnotation]:
    """The people of the first ``limit`` distinct images (in order of first appearance)."""
    if limit is None:
        return people
    images: set[Path] = set()
    out = []
    for p in people:
        if p.image_path not in images:
            if len(images) == limit:
                continue
            images.add(p.image_path)
        out.append(p)
    return out


def keypoint_box(keypoints: np.ndarray, annotated: np.ndarray) -> tuple[np.ndarray, float]:
    """Center and scale of a person from its keypoints (LSP train, LSPET).

    center = midpoint of the bounding box of the annotated keypoints (as the CPM /
    stacked-hourglass ``gen_lsp.m`` computes LSPET's objpos); scale = 1.25 * the box's longer
    side / 200, i.e. the box enlarged by 1.25 like MPII's adjusted scale.

    Args:
      keypoints: (K, 2) pixels.  annotated: (K,) bool, at least one True.
    Returns:
      center (2,), scale (0 when the box has zero size).
    """
    pts = np.asarray(keypoints, np.float64)[np.asarray(annotated, bool)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2.0, 1.25 * float((hi - lo).max()) / 200.0


def image_box(width: int, height: int) -> tuple[np.ndarray, float]:
    """Center and scale of the whole image (LSP test protocol): its center, max(w, h) / 200."""
    return np.array([(width - 1) / 2.0, (height - 1) / 2.0]), max(width, height) / 200.0


def _person_box(ann: PersonAnnotation, width: int, height: int) -> tuple[np.ndarray, float]:
    if ann.box is Box.GIVEN:
        return np.asarray(ann.center, np.float64), float(ann.scale)
    if ann.box is Box.KEYPOINTS:
        return keypoint_box(ann.keypoints, ann.annotated)
    return image_box(width, height)


def _to_stored(stored: StoredImage, xy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(J, 2) source pixels -> stored pixels where ``mask`` (J,), (0, 0) elsewhere."""
    mask = np.asarray(mask, bool)[:, None]
    return np.where(mask, stored.to_stored(np.where(mask, np.asarray(xy, np.float64), 0.0)), 0.0)


def _box_to_stored(stored: StoredImage, box: np.ndarray | None) -> np.ndarray | None:
    """(4,) x1, y1, x2, y2 source pixels -> stored pixels (None stays None)."""
    return None if box is None else stored.to_stored(np.reshape(box, (2, 2))).ravel()


def _records_of_image(group: Sequence[PersonAnnotation], annotation_file: Path, dataset: str,
                      storage: StorageOptions, skeleton: Skeleton) -> list[PersonRecord | Skipped]:
    """The record (or skip) of each person of ``group``, people of one image (thread worker).

    The image is loaded once, and not at all when every person's annotation is bad.
    """
    problems = [annotation_problem(ann, annotation_file) for ann in group]
    if all(problems):
        return problems
    path = group[0].image_path
    try:
        src = load_image(path)
    except ImageError as e:
        return [problem or Skipped(e.reason, str(path), ann.index, str(e)) for ann, problem in zip(group, problems)]
    out: list[PersonRecord | Skipped] = []
    for ann, problem in zip(group, problems):
        if problem is not None:
            out.append(problem)
            continue
        if ann.image_size is not None and ann.image_size != (src.width, src.height):
            out.append(Skipped("image_size_mismatch", str(path), ann.index,
                               f"the image is {src.width}x{src.height}, {annotation_file} says "
                               f"{ann.image_size[0]}x{ann.image_size[1]}"))
            continue
        center, scale = _person_box(ann, src.width, src.height)
        box = crop_box(center, scale, src.width, src.height, storage.crop_margin)
        if box is None:
            out.append(Skipped("bad_center_scale", str(path), ann.index,
                               f"person box (center {center.tolist()}, scale {scale}) is outside "
                               f"the {src.width}x{src.height} image"))
            continue
        stored = store_person(src, box, scale, storage)
        annotated = np.asarray(ann.annotated, bool)
        extra_joints = extra_visible = None
        if ann.extra_joints is not None:
            extra_joints = _to_stored(stored, ann.extra_joints, ann.extra_annotated)
            extra_visible = np.asarray(ann.extra_annotated, np.int64)
        out.append(PersonRecord(
            image_bytes=stored.data,
            height=stored.height,
            width=stored.width,
            dataset=dataset,
            image_id=ann.image_id,
            person_index=ann.index,
            skeleton=skeleton.name,
            keypoints=_to_stored(stored, ann.keypoints, annotated),
            annotated=annotated,
            visible=np.asarray(ann.visible, bool) & annotated,
            center=stored.to_stored(center),
            scale=scale / stored.scale,
            head_box=_box_to_stored(stored, ann.head_box),
            source_offset=stored.offset,
            source_scale=stored.scale,
            source_height=src.height,
            source_width=src.width,
            extra_joints=extra_joints,
            extra_visible=extra_visible,
            person_box=_box_to_stored(stored, ann.person_box),
        ))
    return out


def _ordered_records(annotations: Iterable[PersonAnnotation], annotation_file: Path, dataset: str,
                     options: ConvertOptions, skeleton: Skeleton,
                     pool: ThreadPoolExecutor) -> Iterator[PersonRecord | Skipped]:
    """Records (or skips) in annotation order; images are processed in ``pool``, a few ahead.

    In strict mode the first skip raises :class:`InputError` instead.
    """
    pending: deque[Future[list[PersonRecord | Skipped]]] = deque()

    def drain(limit: int) -> Iterator[PersonRecord | Skipped]:
        while len(pending) > limit:
            for item in pending.popleft().result():
                if isinstance(item, Skipped) and options.strict:
                    raise InputError(item.message())
                yield item

    for _, group in itertools.groupby(annotations, key=lambda a: a.image_path):
        pending.append(pool.submit(_records_of_image, list(group), annotation_file, dataset, options.storage,
                                   skeleton))
        yield from drain(4 * options.workers)
    yield from drain(0)


def convert_people(
    annotations: Sequence[PersonAnnotation],
    annotation_file: Path,
    out_dir: str | os.PathLike,
    dataset: str,
    split: str,
    options: ConvertOptions,
    metadata: Mapping[str, Any],
    skeleton: Skeleton = LSP14,
) -> dict[str, Any]:
    """Write the records of ``annotations`` as the shards of ``dataset``-``split``.

    People sharing an image should be consecutive (one image load per run of them).
    ``metadata`` goes to the sidecar next to the storage options; ``skeleton`` is the
    keypoint set of the annotations (the sidecar carries it).  Returns the sidecar.

    Raises:
      InputError: strict mode and a person or image is bad.
      ValueError: no person could be written.
    """
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        try:
            return write_shards(
                _ordered_records(annotations, annotation_file, dataset, options, skeleton, pool),
                out_dir, dataset, split,
                skeleton=skeleton,
                records_per_shard=options.records_per_shard,
                total=len(annotations),
                metadata={**metadata, "storage": options.storage.to_json()},
                progress=options.progress,
            )
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # do not process the queued images
            raise
