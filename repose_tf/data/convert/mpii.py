"""MPII Human Pose (a JSON annotation file + images) -> TFRecord shards.

Two JSON forms are read, told apart by their keys:

* HRNet / mmpose ``train.json`` / ``valid.json``: a list of people with ``image``,
  ``center`` (1-based), ``scale``, ``joints`` (16, 2) 1-based and ``joints_vis`` (16,).
  ``joints_vis`` says whether a joint is annotated; this form has no occlusion flag, so
  ``visible = annotated``.  One file is one split (named by ``split``, or guessed from the
  file name).
* CPM / stacked-hourglass ``mpii_annotations.json``: a list of people (or ``{"root": [...]}``)
  with ``img_paths``, ``objpos`` (1-based center), ``scale_provided``, ``joint_self`` (16, 3)
  = (x, y, vis) 1-based and ``isValidation``; split "train" (isValidation 0) and "valid" (1).
  A joint is missing (not annotated) when ``vis == 0`` and both coordinates are <= 0 (the
  file writes missing joints as (0, 0, 0)); ``visible = annotated & (vis == 1)``.

Stored (both forms), in 0-based pixels:

* ``center`` / ``scale``: the customary *adjusted* values used to crop MPII people (HRNet's
  and bearpaw's loaders): ``center = (cx - 1, cy - 1 + 15 * s)``, ``scale = 1.25 * s`` from
  the file's 1-based (cx, cy) and s.  The raw values are ``s = scale / 1.25`` and
  ``(cx, cy) = center + (1, 1 - 15 * s)``.
* ``keypoints``: the 14 LSP keypoints, ``joints[MPII_TO_LSP14] - 1`` (pelvis and thorax
  dropped, upper neck -> neck, head top -> head).
* ``extra/joints``: MPII's 16 joints - 1 in MPII order; ``extra/visible`` is their
  *annotated* flag (1 - ``jnt_missing``), which is what PCKh needs, not an occlusion flag.
* ``head_box``: from ``gt_valid.mat`` (``--gt-mat``), which neither JSON form carries:
  validation person k (in file order) gets ``headboxes_src[:, :, k] - 1``, after checking
  that the two files agree on that person's joints.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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
from repose_tf.eval.benchmarks import BenchmarkFileError, MPIIGroundTruth, load_mpii_gt
from repose_tf.skeleton import MPII16_NAMES, MPII_TO_LSP14

HRNET = "hrnet"
CPM = "cpm"
_KEYS = {
    HRNET: ("image", "center", "scale", "joints", "joints_vis"),
    CPM: ("img_paths", "objpos", "scale_provided", "joint_self", "isValidation"),
}
CPM_SPLITS = ("train", "valid")
# Largest joint difference (px) between the JSON and gt_valid.mat for the same person; the
# CPM file rounds to 1e-3 px.
_GT_MATCH_TOL = 0.01
_NUM_JOINTS = len(MPII16_NAMES)


def load_mpii_json(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """Read an MPII annotation JSON; return its form (HRNET or CPM) and its people.

    Raises:
      InputError: unreadable file, or not a list of people of one of the two forms (the
        message names the first offending entry and key).
    """
    data = read_json(path)
    if isinstance(data, dict) and "root" in data:
        data = data["root"]
    if not isinstance(data, list) or not data or not all(isinstance(e, dict) for e in data):
        raise InputError(f"{path}: expected a non-empty list of people (JSON objects)")
    form = next((f for f, keys in _KEYS.items() if all(k in data[0] for k in keys)), None)
    if form is None:
        raise InputError(f"{path}: entry 0 has keys {sorted(data[0])}; expected the HRNet/mmpose form "
                         f"{list(_KEYS[HRNET])} or the CPM form {list(_KEYS[CPM])}")
    for i, entry in enumerate(data):
        missing = [k for k in _KEYS[form] if k not in entry]
        if missing:
            raise InputError(f"{path}: entry {i} lacks key(s) {missing} of the {form} form")
    return form, data


def _array(entry: dict[str, Any], key: str, shape: tuple[int, ...], path: Path, index: int) -> np.ndarray:
    try:
        a = np.asarray(entry[key], np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: entry {index}: {key} is not numeric") from None
    if a.shape != shape:
        raise InputError(f"{path}: entry {index}: {key} has shape {a.shape}, expected {shape}")
    return a


def _scalar(entry: dict[str, Any], key: str, path: Path, index: int) -> float:
    return float(_array(entry, key, (), path, index))


def _person(form: str, entry: dict[str, Any], path: Path, index: int,
            images_dir: Path) -> tuple[PersonAnnotation, bool]:
    """One JSON entry -> (annotation, is-validation); joints are checked for shape."""
    if form == HRNET:
        name = str(entry["image"])
        joints = _array(entry, "joints", (_NUM_JOINTS, 2), path, index)
        annotated = _array(entry, "joints_vis", (_NUM_JOINTS,), path, index) > 0
        visible = annotated
        center = _array(entry, "center", (2,), path, index)
        scale = _scalar(entry, "scale", path, index)
        validation = False
    else:
        name = str(entry["img_paths"])
        raw = _array(entry, "joint_self", (_NUM_JOINTS, 3), path, index)
        joints, vis = raw[:, :2], raw[:, 2]
        annotated = ~((vis == 0) & (joints <= 0).all(axis=1))
        visible = annotated & (vis == 1)
        center = _array(entry, "objpos", (2,), path, index)
        scale = _scalar(entry, "scale_provided", path, index)
        validation = _scalar(entry, "isValidation", path, index) != 0
    lsp = list(MPII_TO_LSP14)
    ann = PersonAnnotation(
        image_path=images_dir / name,
        image_id=name,
        index=index,
        keypoints=joints[lsp] - 1.0,
        annotated=annotated[lsp],
        visible=visible[lsp],
        box=Box.GIVEN,
        center=np.array([center[0] - 1.0, center[1] - 1.0 + 15.0 * scale]),
        scale=1.25 * scale,
        extra_joints=joints - 1.0,
        extra_annotated=annotated,
    )
    return ann, validation


def attach_head_boxes(people: Sequence[PersonAnnotation], gt: MPIIGroundTruth, annotation_file: Path) -> None:
    """Give validation person k of ``people`` the head box of ``gt`` person k (0-based pixels).

    Raises:
      InputError: ``gt`` has fewer people, or a person's annotated joints differ from gt's
        by more than 0.01 px (the two files are not the same split in the same order).
    """
    if len(people) > gt.num_people:
        raise InputError(f"{gt.path} has {gt.num_people} people, {annotation_file} has {len(people)} "
                         "validation people; --gt-mat must be the ground truth of the same split")
    for k, person in enumerate(people):
        both = person.extra_annotated & ~gt.missing[k] & np.isfinite(person.extra_joints).all(axis=1)
        diff = np.abs(person.extra_joints[both] + 1.0 - gt.joints[k][both])
        if diff.size and diff.max() > _GT_MATCH_TOL:
            raise InputError(f"{annotation_file}: person {person.index} (validation person {k}) does not match "
                             f"{gt.path} person {k}: joints differ by up to {diff.max():.3g} px; "
                             "--gt-mat must list the same people in the same order")
        person.head_box = gt.head_boxes[k] - 1.0


def mpii_annotations(annotation_file: Path, images_dir: Path, split: str | None = None,
                     limit: int | None = None,
                     gt_mat: Path | None = None) -> tuple[str, dict[str, list[PersonAnnotation]]]:
    """Read the people of an MPII JSON, by split.

    Args:
      annotation_file: an HRNet/mmpose or CPM JSON.
      images_dir: folder of the MPII images.
      split: HRNet form: the split's name (default: guessed from the file name).  CPM form:
        "train" or "valid" to keep one of the two (default both).
      limit: keep the people of the first ``limit`` images of each split.
      gt_mat: ``gt_valid.mat`` whose head boxes go to the validation people (HRNet form: all
        people of the file; CPM form: those with isValidation 1).

    Returns:
      The form, and {split: people}.
    """
    form, entries = load_mpii_json(annotation_file)
    parsed = [_person(form, e, annotation_file, i, images_dir) for i, e in enumerate(entries)]
    if form == HRNET:
        name = split or guess_split(annotation_file)
        by_split = {name: [p for p, _ in parsed]}
        validation = by_split[name]
    else:
        if split is not None and split not in CPM_SPLITS:
            raise ValueError(f"unknown split {split!r} for a CPM-form file; known: {list(CPM_SPLITS)}")
        by_split = {s: [p for p, v in parsed if v == (s == "valid")] for s in CPM_SPLITS if split in (None, s)}
        validation = [p for p, v in parsed if v]
    if gt_mat is not None:
        try:
            gt = load_mpii_gt(gt_mat)
        except BenchmarkFileError as e:
            raise InputError(str(e)) from None
        attach_head_boxes(validation, gt, annotation_file)
    return form, {s: first_images(people, limit) for s, people in by_split.items()}


def convert_mpii(annotation_file: str | os.PathLike, images_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 split: str | None = None, limit: int | None = None, gt_mat: str | os.PathLike | None = None,
                 options: ConvertOptions = ConvertOptions()) -> list[dict[str, Any]]:
    """Write ``mpii-<split>`` shards for the split(s) of ``annotation_file``; return the sidecars.

    See :func:`mpii_annotations` for the arguments.
    """
    annotation_file, images_dir = Path(annotation_file), Path(images_dir)
    gt_path = None if gt_mat is None else Path(gt_mat)
    form, by_split = mpii_annotations(annotation_file, images_dir, split, limit, gt_path)
    conventions = {
        **COMMON_CONVENTIONS,
        "form": form,
        "keypoints": "MPII joints[MPII_TO_LSP14] - 1 (MATLAB 1-based -> 0-based)",
        "annotated": ("joints_vis > 0" if form == HRNET else
                      "not (vis == 0 and x <= 0 and y <= 0) in joint_self"),
        "visible": ("same as annotated (this JSON form has no occlusion flag)" if form == HRNET else
                    "annotated and joint_self vis == 1"),
        "center_scale": ("adjusted for cropping: center = (cx - 1, cy - 1 + 15 * s), scale = 1.25 * s "
                         "from the file's 1-based center (cx, cy) and scale s"),
        "extra_joints": "MPII's 16 joints - 1, MPII order; extra/visible = annotated (not jnt_missing)",
        "head_box": ("gt_valid.mat headboxes_src - 1, matched by order to the validation people"
                     if gt_path is not None else "none (no --gt-mat given)"),
        "person_index": "index of the person in the JSON list",
    }
    sources = {
        "annotations": str(annotation_file.resolve()),
        "images": str(images_dir.resolve()),
        "gt_mat": None if gt_path is None else str(gt_path.resolve()),
        "limit": limit,
    }
    return [convert_people(people, annotation_file, out_dir, "mpii", name, options,
                           {"conventions": conventions, "sources": sources,
                            "extra_joint_names": list(MPII16_NAMES)})
            for name, people in by_split.items()]
