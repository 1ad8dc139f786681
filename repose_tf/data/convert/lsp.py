"""LSP and LSP-extended (``joints.mat`` + images) -> TFRecord shards.

LSP (Johnson & Everingham 2010): ``joints`` of shape (3, 14, 2000) = x, y, flag per joint per
image, flag 0 = visible, MATLAB 1-based pixels; images ``im0001.jpg`` ... ``im2000.jpg``;
images 1-1000 train, 1001-2000 test.  LSP annotates all 14 joints, occluded ones too, so
every keypoint is ``annotated`` and ``visible = (flag == 0)``.  Center and scale: train from
the keypoints (:func:`~repose_tf.data.convert.common.keypoint_box`), test the whole image
(center ``((w - 1) / 2, (h - 1) / 2)``, scale ``max(w, h) / 200``), as the paper (Sec. 4) and
its references do.

LSPET (Johnson & Everingham 2011): ``joints`` of shape (14, 3, 10000) = joint, (x, y, flag),
image; flag 1 = visible; images ``im00001.jpg`` ... ``im10000.jpg``, all train.  There is no
separate occlusion flag: flag 0 marks the joints that are not labelled (outside the image or
not visible), and their coordinates are arbitrary (every one of them is <= 0 in the release).
So ``annotated = visible = (flag == 1)``.  A flag-1 joint just outside the image (the release
has 6, at MATLAB y in [-1.2, 0)) is a real label and is kept as annotated.  Center and scale
from the keypoints.

Keypoints are LSP14 in LSP order (the skeleton's own order); 0-based = MATLAB - 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from repose_tf.data.convert import InputError
from repose_tf.data.convert.common import (
    COMMON_CONVENTIONS,
    Box,
    ConvertOptions,
    PersonAnnotation,
    convert_people,
)
from repose_tf.eval.benchmarks import LSP_NUM_IMAGES, LSP_TEST
from repose_tf.skeleton import LSP14

LSP_SPLITS = {"train": range(0, LSP_TEST.start), "test": range(LSP_TEST.start, LSP_TEST.stop)}
LSPET_NUM_IMAGES = 10000

_KEYPOINT_BOX = ("midpoint of the annotated keypoints' bounding box; scale = 1.25 * its longer "
                 "side / 200")


def read_joints_mat(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """The ``joints`` variable of a MATLAB file, checked to be ``shape``, as float64.

    Raises:
      InputError: the file is missing or unreadable, or ``joints`` is absent or of another shape.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        variables = scipy.io.loadmat(str(path))
    except NotImplementedError as e:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise InputError(f"{path}: unreadable .mat ({e}); save it with -v7") from None
    except (OSError, ValueError, EOFError, TypeError, scipy.io.matlab.MatReadError) as e:
        raise InputError(f"{path}: not a readable MATLAB file ({e})") from None
    if "joints" not in variables:
        found = sorted(k for k in variables if not k.startswith("__"))
        raise InputError(f"{path}: no variable 'joints' (found {found})")
    joints = np.asarray(variables["joints"])
    if joints.shape != shape or not np.issubdtype(joints.dtype, np.number):
        raise InputError(f"{path}: joints has shape {joints.shape} and dtype {joints.dtype}, "
                         f"expected numeric {shape}")
    return joints.astype(np.float64)


def _check_flags(flags: np.ndarray, path: Path) -> None:
    """flags: (N, 14), one person per row; only 0 and 1 are meaningful."""
    bad = np.argwhere(~np.isin(flags, (0.0, 1.0)))
    if bad.size:
        i, k = bad[0]
        raise InputError(f"{path}: person {i}, joint {k}: flag {flags[i, k]} is neither 0 nor 1")


def lsp_annotations(joints_mat: Path, images_dir: Path, split: str,
                    limit: int | None = None) -> list[PersonAnnotation]:
    """People of one LSP split ("train" or "test"), the first ``limit`` images only if given."""
    joints = read_joints_mat(joints_mat, (3, LSP14.num_keypoints, LSP_NUM_IMAGES)).transpose(2, 1, 0)
    _check_flags(joints[:, :, 2], joints_mat)
    people = []
    for i in LSP_SPLITS[split][:limit]:
        name = f"im{i + 1:04d}.jpg"
        people.append(PersonAnnotation(
            image_path=images_dir / name,
            image_id=name,
            index=i,
            keypoints=joints[i, :, :2] - 1.0,
            annotated=np.ones(LSP14.num_keypoints, bool),
            visible=joints[i, :, 2] == 0,
            box=Box.KEYPOINTS if split == "train" else Box.IMAGE,
        ))
    return people


def lspet_annotations(joints_mat: Path, images_dir: Path, limit: int | None = None,
                      indices: Sequence[int] | None = None) -> list[PersonAnnotation]:
    """People of LSPET at 0-based image ``indices`` (default all), the first ``limit`` of them only if given."""
    joints = read_joints_mat(joints_mat, (LSP14.num_keypoints, 3, LSPET_NUM_IMAGES)).transpose(2, 0, 1)
    _check_flags(joints[:, :, 2], joints_mat)
    people = []
    for i in list(range(LSPET_NUM_IMAGES) if indices is None else indices)[:limit]:
        name = f"im{i + 1:05d}.jpg"
        labelled = joints[i, :, 2] == 1
        people.append(PersonAnnotation(
            image_path=images_dir / name,
            image_id=name,
            index=i,
            keypoints=joints[i, :, :2] - 1.0,
            annotated=labelled,
            visible=labelled,
            box=Box.KEYPOINTS,
        ))
    return people


def _sources(joints_mat: Path, images_dir: Path, limit: int | None) -> dict[str, Any]:
    return {"joints": str(joints_mat.resolve()), "images": str(images_dir.resolve()), "limit": limit}


def convert_lsp(joints_mat: str | os.PathLike, images_dir: str | os.PathLike, out_dir: str | os.PathLike,
                splits: Sequence[str] = ("train", "test"), limit: int | None = None,
                options: ConvertOptions = ConvertOptions()) -> list[dict[str, Any]]:
    """Write ``lsp-<split>`` shards for each of ``splits``; return their sidecars.

    ``limit``: convert only the first ``limit`` images of each split.
    """
    joints_mat, images_dir = Path(joints_mat), Path(images_dir)
    unknown = [s for s in splits if s not in LSP_SPLITS]
    if unknown:
        raise ValueError(f"unknown LSP split(s) {unknown}; known: {list(LSP_SPLITS)}")
    summaries = []
    for split in splits:
        people = lsp_annotations(joints_mat, images_dir, split, limit)
        conventions = {
            **COMMON_CONVENTIONS,
            "keypoints": "LSP joints.mat (x, y) - 1 (MATLAB 1-based -> 0-based)",
            "annotated": "all 14 joints (LSP annotates occluded joints too)",
            "visible": "joints.mat flag == 0",
            "center_scale": (f"from the keypoints: center = {_KEYPOINT_BOX}" if split == "train" else
                             "the whole image: center = ((w - 1) / 2, (h - 1) / 2), scale = max(w, h) / 200"),
            "person_index": "image number - 1 (column of joints.mat)",
        }
        summaries.append(convert_people(people, joints_mat, out_dir, "lsp", split, options,
                                        {"conventions": conventions,
                                         "sources": _sources(joints_mat, images_dir, limit)}))
    return summaries


def lspet_splits(val: range | None) -> dict[str, list[int]]:
    """0-based image indices of ``lspet-train`` and, given ``val`` (0-based image indices), ``lspet-val``."""
    if val is None:
        return {"train": list(range(LSPET_NUM_IMAGES))}
    if not (0 <= val.start < val.stop <= LSPET_NUM_IMAGES):
        raise InputError(f"LSPET validation images must lie within 1-{LSPET_NUM_IMAGES}, "
                         f"got {val.start + 1}-{val.stop}")
    return {"train": [i for i in range(LSPET_NUM_IMAGES) if i not in val], "val": list(val)}


def convert_lspet(joints_mat: str | os.PathLike, images_dir: str | os.PathLike, out_dir: str | os.PathLike,
                  limit: int | None = None, options: ConvertOptions = ConvertOptions(),
                  val: range | None = None) -> list[dict[str, Any]]:
    """Write ``lspet-train`` shards (and ``lspet-val`` with the 0-based image indices ``val``, held out of
    train); return the sidecars.  ``limit``: only the first images of each split."""
    joints_mat, images_dir = Path(joints_mat), Path(images_dir)
    summaries = []
    for split, indices in lspet_splits(val).items():
        people = lspet_annotations(joints_mat, images_dir, limit, indices)
        conventions = {
            **COMMON_CONVENTIONS,
            "keypoints": "LSPET joints.mat (x, y) - 1 (MATLAB 1-based -> 0-based)",
            "annotated": "joints.mat flag == 1 (flag 0 = not labelled, coordinates arbitrary)",
            "visible": "same as annotated (LSPET has no separate occlusion flag)",
            "center_scale": f"from the keypoints: center = {_KEYPOINT_BOX}",
            "person_index": "image number - 1",
        }
        sources = {**_sources(joints_mat, images_dir, limit),
                   "val_images": None if val is None else [val.start + 1, val.stop]}
        summaries.append(convert_people(people, joints_mat, out_dir, "lspet", split, options,
                                        {"conventions": conventions, "sources": sources}))
    return summaries
