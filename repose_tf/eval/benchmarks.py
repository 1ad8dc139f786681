"""Official LSP / MPII ground truth, prediction files, and the two benchmark scorers.

* LSP PCK@0.2 (bearpaw/eval_pose ``eval_pck.m``, person-centric labels): the 1000 test
  images 1001-2000 of ``joints.mat`` (3, 14, 2000); torso = ||left shoulder - right hip||
  of the ground truth; all 14 joints count, occluded ones included; parts average their
  joints' rates ("Head" = neck and head top); Mean pools all joints.
* MPII PCKh@0.5 (the ``evaluate`` of the MPII/HRNet lineage on ``gt_valid.mat``): head
  size = 0.6 x head-box diagonal; missing joints left out; parts average the left and
  right PCKh ("Head" = head top); Mean pools the 14 joints other than pelvis and thorax
  (each joint's PCKh weighted by its count).

Coordinates: the ground truth files are MATLAB 1-based pixels and stay so.  Predictions
given 0-based (the repo's convention) get +1 before scoring, as HRNet's ``evaluate`` does;
predictions already 1-based (MATLAB result files) are used as they are.  Errors are
translation invariant only when both sides agree, hence the explicit ``one_based`` flag.

Prediction files (.npy, .npz or .mat) hold one (N, J, 2) array in the benchmark's joint
order, or the MATLAB layouts (2, J, N) / (J, 2, N); a third coordinate row or column
(x, y, score) is ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy.io

from repose_tf.eval.metrics import (
    JointPCK,
    head_sizes,
    part_table,
    pck,
    torso_sizes,
)
from repose_tf.skeleton import LSP14, MPII16_NAMES

LSP_THRESHOLD = 0.2
MPII_THRESHOLD = 0.5
LSP_NUM_IMAGES = 2000
LSP_TEST = slice(1000, 2000)  # images im1001 ... im2000
LSP_TEST_SIZE = LSP_TEST.stop - LSP_TEST.start

# The paper's RePose rows (Table 1: LSP, PCK@0.2; Table 2: MPII, PCKh@0.5), by benchmark: the title
# and the row, in the columns of format_part_table.
PAPER_RESULTS: dict[str, tuple[str, dict[str, float]]] = {
    "lsp": ("Table 1: LSP, PCK@0.2",
            {"Head": 97.75, "Shoulder": 92.9, "Elbow": 88.5, "Wrist": 86.3, "Hip": 91.19, "Knee": 93.0,
             "Ankle": 92.0, "Mean": 91.66}),
    "mpii": ("Table 2: MPII, PCKh@0.5",
             {"Head": 97.65, "Shoulder": 96.39, "Elbow": 91.0, "Wrist": 85.2, "Hip": 92.95, "Knee": 86.4,
              "Ankle": 82.5, "Mean": 90.29}),
}

# Table 1's rows of the methods built on statistical graphical models (LSP, PCK@0.2, trained on LSP):
# the bar a pretrained model here is set against (docs/models.md).
LSP_GRAPHICAL_MODEL_ROWS: dict[str, dict[str, float]] = {
    "Tompson et al. NIPS 14": {"Head": 90.6, "Shoulder": 79.2, "Elbow": 67.9, "Wrist": 63.4, "Hip": 69.5,
                               "Knee": 71.0, "Ankle": 64.2, "Mean": 72.3},
    "Yang et al. CVPR 16": {"Head": 90.6, "Shoulder": 78.1, "Elbow": 73.8, "Wrist": 68.8, "Hip": 74.8,
                            "Knee": 69.9, "Ankle": 58.9, "Mean": 73.6},
    "Carreira et al. CVPR 16": {"Head": 90.5, "Shoulder": 81.8, "Elbow": 65.8, "Wrist": 59.8, "Hip": 81.6,
                                "Knee": 70.6, "Ankle": 62.0, "Mean": 73.1},
}

# MPII table columns: LSP's parts on MPII's names, except that MPII's "Head" is head top alone.
MPII_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (("Head", ("head_top",)),) + tuple(p for p in LSP14.parts if p[0] != "Head"))
# Pelvis and thorax are left out of the MPII Mean.
MPII_MEAN_JOINTS = tuple(n for n in MPII16_NAMES if n not in ("pelvis", "thorax"))
# gt_valid.mat's ``dataset_joints`` codes of the joints the scorer uses, by MPII16 name.
_MPII_GT_CODES = {
    "r_ankle": "rank", "r_knee": "rkne", "r_hip": "rhip", "l_hip": "lhip", "l_knee": "lkne",
    "l_ankle": "lank", "upper_neck": "neck", "head_top": "head", "r_wrist": "rwri",
    "r_elbow": "relb", "r_shoulder": "rsho", "l_shoulder": "lsho", "l_elbow": "lelb",
    "l_wrist": "lwri",
}


class BenchmarkFileError(ValueError):
    """A ground-truth or prediction file that cannot be scored; the message names the file."""


@dataclasses.dataclass(frozen=True)
class LSPGroundTruth:
    """LSP ``joints.mat``.

    Attributes:
      joints: (2000, 14, 2) float64, MATLAB 1-based pixels, LSP joint order.
      path: the file read.
    """

    joints: np.ndarray
    path: Path


@dataclasses.dataclass(frozen=True)
class MPIIGroundTruth:
    """MPII ``gt_valid.mat`` (or any file of its layout).

    Attributes:
      joints: (N, 16, 2) float64, MATLAB 1-based pixels, MPII joint order.
      missing: (N, 16) bool, True where the joint is not annotated.
      head_boxes: (N, 4) float64, [x1, y1, x2, y2].
      path: the file read.
    """

    joints: np.ndarray
    missing: np.ndarray
    head_boxes: np.ndarray
    path: Path

    @property
    def num_people(self) -> int:
        return self.joints.shape[0]


@dataclasses.dataclass(frozen=True)
class Predictions:
    """A prediction file's array, brought to (N, J, 2).

    Attributes:
      coords: (N, J, 2) float64, as stored (0- or 1-based is the caller's knowledge).
      layout: the layout found, e.g. "(2,J,N)".
      variable: the .mat / .npz variable read, None for .npy.
      path: the file read.
    """

    coords: np.ndarray
    layout: str
    variable: str | None
    path: Path


@dataclasses.dataclass(frozen=True)
class BenchmarkScore:
    """One benchmark evaluation.

    Attributes:
      benchmark: "lsp" or "mpii".
      metric: "PCK@0.2" or "PCKh@0.5".
      keypoints: the benchmark's joint names (LSP14 or MPII16 order).
      joints: per-joint counts.
      parts: table row ``{"Head": ..., ..., "Mean": ...}``, percentages.
      n: number of people scored.
      subset: which people were scored, in words.
    """

    benchmark: str
    metric: str
    keypoints: tuple[str, ...]
    joints: JointPCK
    parts: dict[str, float]
    n: int
    subset: str

    def to_json(self) -> dict:
        """JSON-ready dict: parts, per-joint rates (None for an uncounted joint) and n."""

        def num(v: float) -> float | None:
            return None if np.isnan(v) else float(v)

        return {
            "benchmark": self.benchmark,
            "metric": self.metric,
            "parts": {k: num(v) for k, v in self.parts.items()},
            "joints": {k: num(v) for k, v in zip(self.keypoints, self.joints.rates)},
            "n": self.n,
            "subset": self.subset,
        }


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Variables of a .mat / .npz file, or ``{"": array}`` for .npy."""
    if not path.is_file():
        raise BenchmarkFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".mat", ".npy", ".npz"):
        raise BenchmarkFileError(f"{path}: unsupported file type {suffix!r}; use .npy, .npz or .mat")
    try:
        if suffix == ".mat":
            return {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
        if suffix == ".npy":
            return {"": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as npz:
            return dict(npz.items())
    except NotImplementedError as e:  # scipy's message for MATLAB v7.3 (HDF5) files
        raise BenchmarkFileError(f"{path}: unreadable .mat ({e}); save it with -v7 or as .npy") from e
    except (OSError, ValueError, EOFError, TypeError, scipy.io.matlab.MatReadError) as e:
        raise BenchmarkFileError(f"{path}: not a readable {suffix} file ({e})") from e


def _field(arrays: dict[str, np.ndarray], path: Path, name: str, shape: Sequence[int | None]) -> np.ndarray:
    """``arrays[name]`` checked against ``shape`` (None = any size), as float64."""
    if name not in arrays:
        raise BenchmarkFileError(f"{path}: no variable {name!r} (found {sorted(arrays)})")
    a = np.asarray(arrays[name])
    if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape)):
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise BenchmarkFileError(f"{path}: {name} has shape {a.shape}, expected {want}")
    if not np.issubdtype(a.dtype, np.number):
        raise BenchmarkFileError(f"{path}: {name} is not numeric (dtype {a.dtype})")
    return a.astype(np.float64)


def _check_positive(norm: np.ndarray, path: Path, what: str) -> None:
    bad = np.flatnonzero(~(norm > 0))
    if bad.size:
        raise BenchmarkFileError(f"{path}: {what} of person index {bad[0]} is {norm[bad[0]]}; "
                                 "PCK needs a positive reference length")


def load_lsp_gt(path: str | Path) -> LSPGroundTruth:
    """Read LSP ``joints.mat`` (variable ``joints``, (3, 14, 2000): x, y, flag).

    The flag (0 = visible) is not needed: LSP PCK counts every joint.
    """
    path = Path(path)
    raw = _field(_load_arrays(path), path, "joints", (3, LSP14.num_keypoints, LSP_NUM_IMAGES))
    joints = raw[:2].transpose(2, 1, 0)
    if not np.all(np.isfinite(joints)):
        raise BenchmarkFileError(f"{path}: joints has non-finite coordinates")
    _check_positive(torso_sizes(joints[LSP_TEST]), path, "the torso (test image)")
    return LSPGroundTruth(joints=joints, path=path)


def _joint_codes(raw: np.ndarray) -> list[str]:
    """``dataset_joints`` (1, 16) cell of strings -> list of str."""
    return [str(np.asarray(c).ravel()[0]) if np.asarray(c).size else "" for c in np.asarray(raw).ravel()]


def load_mpii_gt(path: str | Path) -> MPIIGroundTruth:
    """Read MPII ``gt_valid.mat``: dataset_joints, jnt_missing (16, N), pos_gt_src (16, 2, N),
    headboxes_src (2, 2, N) = [[x1, y1], [x2, y2]] per person.

    ``dataset_joints`` must list the joints in MPII order (checked by their codes).
    """
    path = Path(path)
    arrays = _load_arrays(path)
    if "dataset_joints" not in arrays:
        raise BenchmarkFileError(f"{path}: no variable 'dataset_joints' (found {sorted(arrays)})")
    codes = _joint_codes(arrays["dataset_joints"])
    if len(codes) != len(MPII16_NAMES):
        raise BenchmarkFileError(f"{path}: dataset_joints lists {len(codes)} joints, expected 16")
    for k, name in enumerate(MPII16_NAMES):
        if name in _MPII_GT_CODES and codes[k] != _MPII_GT_CODES[name]:
            raise BenchmarkFileError(f"{path}: dataset_joints[{k}] is {codes[k]!r}, expected "
                                     f"{_MPII_GT_CODES[name]!r} ({name}); joints must be in MPII order")
    missing = _field(arrays, path, "jnt_missing", (16, None))
    n = missing.shape[1]
    pos = _field(arrays, path, "pos_gt_src", (16, 2, n))
    boxes = _field(arrays, path, "headboxes_src", (2, 2, n))
    missing = missing.T != 0
    joints = pos.transpose(2, 0, 1)
    if not np.all(np.isfinite(joints[~missing])):
        raise BenchmarkFileError(f"{path}: pos_gt_src has non-finite coordinates at annotated joints")
    head_boxes = boxes.transpose(2, 0, 1).reshape(n, 4)
    _check_positive(head_sizes(head_boxes), path, "the head size (headboxes_src)")
    return MPIIGroundTruth(joints=joints, missing=missing, head_boxes=head_boxes, path=path)


# Layout name -> (matches(shape, J), to (N, J, C)).
_LAYOUTS: dict[str, tuple[Callable[[tuple[int, ...], int], bool], Callable[[np.ndarray], np.ndarray]]] = {
    "(N,J,2)": (lambda s, j: s[1] == j and s[2] in (2, 3), lambda a: a),
    "(2,J,N)": (lambda s, j: s[0] in (2, 3) and s[1] == j, lambda a: a.transpose(2, 1, 0)),
    "(J,2,N)": (lambda s, j: s[0] == j and s[1] in (2, 3), lambda a: a.transpose(2, 0, 1)),
}


def _pick_variable(arrays: dict[str, np.ndarray], path: Path) -> str:
    candidates = [k for k, v in arrays.items() if np.asarray(v).ndim == 3]
    if len(candidates) == 1:
        return candidates[0]
    for preferred in ("preds", "pred"):
        if preferred in candidates:
            return preferred
    found = {k or "array": np.shape(v) for k, v in arrays.items()}
    raise BenchmarkFileError(
        f"{path}: expected one 3-D prediction array (or one named 'preds'), found {found}")


def read_predictions(path: str | Path, num_joints: int, valid_n: Sequence[int]) -> Predictions:
    """Read a prediction file and bring it to (N, J, 2).

    Args:
      path: .npy (one array), .npz or .mat (the only 3-D variable, else ``preds``/``pred``).
      num_joints: J of the benchmark (14 LSP, 16 MPII).
      valid_n: the person counts the benchmark accepts; they settle ambiguous shapes.

    Raises:
      BenchmarkFileError: unreadable file, wrong J, wrong N, non-numeric data.
    """
    path = Path(path)
    arrays = _load_arrays(path)
    variable = _pick_variable(arrays, path)
    raw = np.asarray(arrays[variable])
    where = f"{path}" + (f" (variable {variable!r})" if variable else "")
    if not (np.issubdtype(raw.dtype, np.number) and not np.iscomplexobj(raw)):
        raise BenchmarkFileError(f"{where}: predictions must be real numbers, got dtype {raw.dtype}")
    matching = {name: to_njc(raw) for name, (fits, to_njc) in _LAYOUTS.items() if fits(raw.shape, num_joints)}
    if not matching:
        raise BenchmarkFileError(
            f"{where}: shape {raw.shape} is not (N,{num_joints},2), (2,{num_joints},N) or "
            f"({num_joints},2,N); this benchmark has J={num_joints} joints")
    valid = {name: a for name, a in matching.items() if a.shape[0] in valid_n}
    if not valid:
        ns = sorted({a.shape[0] for a in matching.values()})
        raise BenchmarkFileError(f"{where}: shape {raw.shape} holds N={ns[0] if len(ns) == 1 else ns} "
                                 f"people; the benchmark needs N in {list(valid_n)}")
    if len(valid) > 1:
        raise BenchmarkFileError(f"{where}: shape {raw.shape} is ambiguous between layouts {sorted(valid)}")
    (layout, coords), = valid.items()
    if coords.shape[2] == 3:
        layout = layout.replace("2", "3") + ", third coordinate ignored"
    return Predictions(coords=coords[:, :, :2].astype(np.float64), layout=layout,
                       variable=variable or None, path=path)


def _checked_one_based(pred: np.ndarray, num_joints: int, valid_n: Sequence[int], one_based: bool,
                       source: str) -> np.ndarray:
    """(N, J, 2) float64 predictions in MATLAB 1-based pixels, after shape/finiteness checks."""
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim != 3 or pred.shape[1:] != (num_joints, 2):
        raise BenchmarkFileError(f"{source}: predictions must be (N, {num_joints}, 2); got {pred.shape}")
    if pred.shape[0] not in valid_n:
        raise BenchmarkFileError(f"{source}: {pred.shape[0]} people predicted; expected N in {list(valid_n)}")
    bad = np.argwhere(~np.isfinite(pred))
    if bad.size:
        i, j, _ = bad[0]
        raise BenchmarkFileError(f"{source}: non-finite prediction (NaN/inf) at person index {i}, "
                                 f"joint {j}; {len(bad)} non-finite values in all")
    return pred if one_based else pred + 1.0


def score_lsp(gt: LSPGroundTruth, pred: np.ndarray, *, one_based: bool = False,
              source: str = "predictions") -> BenchmarkScore:
    """LSP PCK@0.2 on test images 1001-2000.

    Args:
      gt: from :func:`load_lsp_gt`.
      pred: (2000, 14, 2) for all images (1001-2000 are taken) or (1000, 14, 2) for the
        test images, LSP joint order, pixels of the standard LSP images.
      one_based: True when ``pred`` is already MATLAB 1-based; else 0-based (+1 here).
      source: the predictions' origin, for error messages.
    """
    pred = _checked_one_based(pred, LSP14.num_keypoints, (LSP_TEST_SIZE, LSP_NUM_IMAGES), one_based, source)
    if pred.shape[0] == LSP_NUM_IMAGES:
        pred = pred[LSP_TEST]
        subset = "test images 1001-2000 (taken from predictions for all 2000 images)"
    else:
        subset = "test images 1001-2000 (predictions for the 1000 test images)"
    truth = gt.joints[LSP_TEST]
    joints = pck(pred, truth, np.ones(truth.shape[:2], dtype=bool), torso_sizes(truth), LSP_THRESHOLD)
    return BenchmarkScore(
        benchmark="lsp", metric=f"PCK@{LSP_THRESHOLD}", keypoints=LSP14.keypoints, joints=joints,
        parts=part_table(joints.correct, joints.count, LSP14.keypoints, LSP14.parts),
        n=LSP_TEST_SIZE, subset=subset)


def score_mpii(gt: MPIIGroundTruth, pred: np.ndarray, *, one_based: bool = False,
               source: str = "predictions") -> BenchmarkScore:
    """MPII PCKh@0.5 over every person of ``gt``.

    Args:
      gt: from :func:`load_mpii_gt`.
      pred: (N, 16, 2), MPII joint order, pixels of the original MPII images.
      one_based: True when ``pred`` is already MATLAB 1-based; else 0-based (+1 here).
      source: the predictions' origin, for error messages.
    """
    pred = _checked_one_based(pred, len(MPII16_NAMES), (gt.num_people,), one_based, source)
    joints = pck(pred, gt.joints, ~gt.missing, head_sizes(gt.head_boxes), MPII_THRESHOLD)
    return BenchmarkScore(
        benchmark="mpii", metric=f"PCKh@{MPII_THRESHOLD}", keypoints=MPII16_NAMES, joints=joints,
        parts=part_table(joints.correct, joints.count, MPII16_NAMES, MPII_PARTS, mean_over=MPII_MEAN_JOINTS),
        n=gt.num_people, subset=f"all {gt.num_people} people of {gt.path.name}")
