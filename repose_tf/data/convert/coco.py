"""COCO keypoint JSON (``person_keypoints_*.json``, and what CVAT, Label Studio and Roboflow export) -> shards.

The file is one object: ``images`` [{id, file_name, width, height}], ``annotations`` [{id,
image_id, category_id, keypoints [x1, y1, v1, x2, ...], num_keypoints, bbox [x, y, w, h],
iscrowd}] and ``categories`` [{id, name, keypoints [names], skeleton [[a, b], ...] 1-based}].

One record per annotation of the chosen category (``category``; default: the one category
that has keypoints) that is not a crowd and labels at least one keypoint (COCO's
``num_keypoints > 0``, counted here from the flags).  Left out and counted in the sidecar's
``selection``: annotations of other categories, crowds (``iscrowd`` 1), those without a
labelled keypoint.

* ``keypoints``: COCO coordinates are continuous with (0, 0) the top-left corner of the image,
  like its boxes; stored as 0-based pixel centres, ``x - 0.5``, ``y - 0.5``.
* ``annotated`` = v > 0, ``visible`` = v == 2 (v: 0 not labelled, 1 labelled but hidden, 2 visible).
* ``center``/``scale`` from ``bbox``: ``center = (x + w / 2 - 0.5, y + h / 2 - 0.5)``,
  ``scale = 1.25 * max(w, h) / 200`` (the box enlarged by 1.25, as LSP's and MPII's crops and
  as exported models crop a given box, :mod:`repose_tf.export.crops`); ``person_box`` = the bbox,
  which box-normalised PCK divides by.  An annotation without ``bbox`` is boxed by its keypoints
  (:func:`~repose_tf.data.convert.common.keypoint_box`) and has no ``person_box``.
* The skeleton is the category's: its ``keypoints`` names (the heatmap channels, in order), its
  ``skeleton`` edges, flip pairs from left/right names (:func:`~repose_tf.skeleton.infer_flip_pairs`),
  the ordering derived from the graph; :data:`~repose_tf.skeleton.COCO17` when names and edges
  are COCO's.  ``skeleton`` (a preset or a file, :mod:`repose_tf.skeleton_file`) replaces it, with
  the same names in the same order.  The sidecar carries it (``skeleton_definition``).
* ``person_index``: the annotation's index in ``annotations``; records come in the order of
  ``images``, an image's annotations in file order.

A fault of the file stops the conversion before anything is written (:class:`InputError`, one
line naming the file and the entry's index): no ``images``/``annotations``/``categories``, no
or an unknown keypoint category, skeleton edges out of range, a ``keypoints`` array that is not
3 x K numbers, a flag other than 0, 1, 2, an ``image_id`` with no entry in ``images``.  A fault
of one person is skipped and listed in the sidecar (or stops the conversion with ``strict``):
non-finite or negative coordinates of a labelled keypoint, a ``bbox`` that is not four finite
numbers with positive width and height, a missing or unreadable image, an image whose size is
not the one ``images`` gives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from repose_tf.data.convert import InputError
from repose_tf.data.convert.common import (
    COMMON_CONVENTIONS,
    Box,
    ConvertOptions,
    PersonAnnotation,
    convert_people,
    first_images,
    guess_split,
    read_json,
)
from repose_tf.skeleton import COCO17, Skeleton, infer_flip_pairs

DEFAULT_DATASET = "coco"
_BOX_ENLARGEMENT = 1.25  # crop box / person box, as LSP train, MPII and export.crops.CropOptions.box_margin
_FLAGS = (0, 1, 2)


def _entries(data: Mapping[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    entries = data.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{path}: no {key!r} list of JSON objects; not a COCO keypoint file")
    return entries


def _require(entry: Mapping[str, Any], keys: Sequence[str], path: Path, what: str) -> None:
    missing = [k for k in keys if k not in entry]
    if missing:
        raise InputError(f"{path}: {what} lacks key(s) {missing}")


def select_category(categories: list[dict[str, Any]], path: Path, name: str | None) -> dict[str, Any]:
    """The category named ``name``, or the only one with keypoints when ``name`` is None."""
    with_keypoints = [c for c in categories if c.get("keypoints")]
    names = [str(c.get("name")) for c in with_keypoints]
    if name is not None:
        chosen = [c for c in with_keypoints if str(c.get("name")) == name]
        if not chosen:
            raise InputError(f"{path}: no category {name!r} with keypoints; categories with keypoints: {names}")
        return chosen[0]
    if not with_keypoints:
        raise InputError(f"{path}: no category has keypoints; not a COCO keypoint file")
    if len(with_keypoints) > 1:
        raise InputError(f"{path}: {len(with_keypoints)} categories have keypoints ({names}); choose one with --category")
    return with_keypoints[0]


def category_skeleton(category: Mapping[str, Any], path: Path) -> Skeleton:
    """The skeleton of a COCO category: names, 1-based ``skeleton`` edges, flip pairs from the names."""
    where = f"category {category.get('name')!r}"
    names = category.get("keypoints")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{path}: {where}: keypoints must be a list of names, got {names!r}")
    edges = []
    for i, edge in enumerate(category.get("skeleton") or []):
        if (not isinstance(edge, list) or len(edge) != 2 or not all(isinstance(j, int) for j in edge)
                or not all(1 <= j <= len(names) for j in edge)):
            raise InputError(f"{path}: {where}: skeleton edge {i} is {edge!r}, not two keypoint numbers "
                             f"from 1 to {len(names)}")
        edges.append((names[edge[0] - 1], names[edge[1] - 1]))
    try:
        skeleton = Skeleton(str(category.get("name")), tuple(names), tuple(edges), infer_flip_pairs(names))
    except ValueError as e:
        raise InputError(f"{path}: {where}: {e}") from None
    same_edges = {frozenset(e) for e in edges} == {frozenset(e) for e in COCO17.edges}
    return COCO17 if skeleton.keypoints == COCO17.keypoints and same_edges else skeleton


def _keypoints(entry: Mapping[str, Any], k: int, path: Path, where: str) -> np.ndarray:
    """(K, 3) x, y, v of an annotation, checked for shape and flags."""
    try:
        values = np.asarray(entry["keypoints"], np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {where}: keypoints are not numbers") from None
    if values.shape != (3 * k,):
        raise InputError(f"{path}: {where}: keypoints has {values.size} values, expected 3 x {k} = {3 * k}")
    values = values.reshape(k, 3)
    bad = np.flatnonzero(~np.isin(values[:, 2], _FLAGS))
    if bad.size:
        raise InputError(f"{path}: {where}: keypoint {bad[0]} has visibility {values[bad[0], 2]}, not 0, 1 or 2")
    return values


def _box(entry: Mapping[str, Any]) -> tuple[np.ndarray | None, str | None]:
    """(x, y, w, h) of the bbox, or None with why not."""
    try:
        box = np.asarray(entry["bbox"], np.float64)
    except (TypeError, ValueError):
        return None, f"bbox {entry['bbox']!r} is not four numbers"
    if box.shape != (4,) or not np.isfinite(box).all() or not (box[2] > 0 and box[3] > 0):
        return None, f"bbox {entry['bbox']!r} is not four finite numbers x, y, w, h with w, h > 0"
    return box, None


def _person(entry: Mapping[str, Any], index: int, values: np.ndarray, image: Mapping[str, Any],
            images_dir: Path) -> PersonAnnotation:
    """One annotation -> a person; faults of this person only go to ``problem``."""
    labelled = values[:, 2] > 0
    problem = box = None
    negative = np.flatnonzero(labelled & (values[:, :2] < 0).any(axis=1))
    if negative.size:
        problem = ("negative_coordinates", f"annotation id {entry.get('id')}: negative coordinates at "
                                           f"keypoint(s) {negative.tolist()}")
    elif "bbox" in entry:
        box, why = _box(entry)
        if why:
            problem = ("bad_box", f"annotation id {entry.get('id')}: {why}")
    given = {}
    if box is not None:
        x, y, w, h = box
        given = {"box": Box.GIVEN, "center": np.array([x + w / 2 - 0.5, y + h / 2 - 0.5]),
                 "scale": _BOX_ENLARGEMENT * max(w, h) / 200.0,
                 "person_box": np.array([x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5])}
    name = str(image["file_name"])
    size = (image.get("width"), image.get("height"))
    return PersonAnnotation(**{
        "image_path": images_dir / name, "image_id": name, "index": index, "keypoints": values[:, :2] - 0.5,
        "annotated": labelled, "visible": values[:, 2] == 2, "box": Box.KEYPOINTS, "problem": problem,
        "image_size": size if all(isinstance(v, int) for v in size) else None, **given})


def coco_annotations(annotation_file: Path, images_dir: Path, category: str | None = None,
                     skeleton: Skeleton | None = None,
                     limit: int | None = None) -> tuple[Skeleton, list[PersonAnnotation], dict[str, Any]]:
    """Read the people of a COCO keypoint file (see the module docstring).

    Args:
      annotation_file: the JSON file.
      images_dir: the folder ``file_name`` is relative to.
      category: the category's name (default: the only one with keypoints).
      skeleton: replaces the category's skeleton; must name the same keypoints in the same order.
      limit: keep the people of the first ``limit`` images.

    Returns:
      The skeleton, the people (image by image), and the sidecar's ``selection`` counts.

    Raises:
      InputError: a fault of the file (module docstring).
    """
    data = read_json(annotation_file)
    if not isinstance(data, dict):
        raise InputError(f"{annotation_file}: expected a JSON object with images, annotations and categories")
    categories = _entries(data, "categories", annotation_file)
    images = _entries(data, "images", annotation_file)
    entries = _entries(data, "annotations", annotation_file)
    chosen = select_category(categories, annotation_file, category)
    _require(chosen, ("id", "name"), annotation_file, f"category {chosen.get('name')!r}")
    sk = category_skeleton(chosen, annotation_file)
    if skeleton is not None:
        if skeleton.keypoints != sk.keypoints:
            raise InputError(f"{annotation_file}: category {chosen['name']!r} has keypoints {list(sk.keypoints)}, "
                             f"skeleton {skeleton.name!r} has {list(skeleton.keypoints)}: they must be the same "
                             "names in the same order")
        sk = skeleton
    by_id: dict[Any, tuple[int, dict[str, Any]]] = {}
    for i, image in enumerate(images):
        _require(image, ("id", "file_name"), annotation_file, f"image {i}")
        if image["id"] in by_id:
            raise InputError(f"{annotation_file}: image {i}: id {image['id']!r} is also image {by_id[image['id']][0]}'s")
        by_id[image["id"]] = (i, image)
    counts = {"category": str(chosen["name"]), "annotations": len(entries), "other_categories": 0, "crowd": 0,
              "no_keypoints": 0, "people": 0}
    people: list[tuple[int, PersonAnnotation]] = []
    for i, entry in enumerate(entries):
        where = f"annotation {i} (id {entry.get('id')})"
        _require(entry, ("image_id", "category_id"), annotation_file, where)
        if entry["category_id"] != chosen["id"]:
            counts["other_categories"] += 1
            continue
        if entry.get("iscrowd"):
            counts["crowd"] += 1
            continue
        _require(entry, ("keypoints",), annotation_file, where)
        values = _keypoints(entry, sk.num_keypoints, annotation_file, where)
        if entry["image_id"] not in by_id:
            raise InputError(f"{annotation_file}: {where}: image_id {entry['image_id']!r} has no entry in images")
        if not (values[:, 2] > 0).any():
            counts["no_keypoints"] += 1
            continue
        position, image = by_id[entry["image_id"]]
        people.append((position, _person(entry, i, values, image, images_dir)))
    people.sort(key=lambda item: (item[0], item[1].index))
    chosen_people = first_images([p for _, p in people], limit)
    counts["people"] = len(chosen_people)
    return sk, chosen_people, counts


def convert_coco(annotation_file: str | os.PathLike, images_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 split: str | None = None, category: str | None = None, skeleton: Skeleton | None = None,
                 dataset: str = DEFAULT_DATASET, limit: int | None = None,
                 options: ConvertOptions = ConvertOptions()) -> dict[str, Any]:
    """Write the ``<dataset>-<split>`` shards of a COCO keypoint file; return the sidecar.

    ``split``: default from the file name (``person_keypoints_val2017.json`` -> valid,
    :func:`~repose_tf.data.convert.common.guess_split`).  Other arguments: :func:`coco_annotations`.
    """
    annotation_file, images_dir = Path(annotation_file), Path(images_dir)
    sk, people, selection = coco_annotations(annotation_file, images_dir, category, skeleton, limit)
    name = split or guess_split(annotation_file)
    if not people:
        raise InputError(f"{annotation_file}: no annotation of category {selection['category']!r} labels a keypoint "
                         f"({selection})")
    conventions = {
        **COMMON_CONVENTIONS,
        "keypoints": "COCO (x, y) - 0.5 (continuous coordinates, (0, 0) the image corner -> pixel centres)",
        "annotated": "v > 0",
        "visible": "v == 2",
        "center_scale": ("from bbox [x, y, w, h]: center = (x + w / 2 - 0.5, y + h / 2 - 0.5), scale = 1.25 * "
                         "max(w, h) / 200; without bbox, from the keypoints (1.25 x their box)"),
        "person_box": "bbox as x1, y1, x2, y2 = x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5 (absent without bbox)",
        "flip_pairs": "from left/right in the keypoint names" if skeleton is None else "from the given skeleton",
        "person_index": "index of the annotation in the annotations list",
    }
    sources = {"annotations": str(annotation_file.resolve()), "images": str(images_dir.resolve()),
               "category": category, "limit": limit}
    return convert_people(people, annotation_file, out_dir, dataset, name, options,
                          {"conventions": conventions, "sources": sources, "selection": selection}, skeleton=sk)
