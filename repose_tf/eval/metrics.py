"""PCK metrics in numpy: per-joint rates, benchmark part tables and PCK-vs-threshold curves.

Conventions (those of the field's evaluation code, bearpaw/eval_pose for LSP and the
MPII/HRNet ``evaluate`` for MPII):

* A keypoint's *normalized error* is ``||pred - gt|| / norm`` with ``norm`` the person's
  reference length: the torso (LSP's PCK), 0.6 x the head-box diagonal (MPII's PCKh), or the
  longer side of the person box (:func:`box_sizes`: the PCK of custom keypoint sets, as
  mmpose's ``PCKAccuracy`` computes it by default).  It is correct when
  the normalized error is ``<= threshold``: an error exactly at the threshold counts.  The
  comparison is made on the quotient, as the reference code does, not on
  ``threshold * norm``, so boundary cases round the same way.
* Rates are percentages.  A joint with no counted instance has rate NaN.
* A part (a column of the paper's tables) is the plain mean of its joints' *rates*
  (MPII: ``0.5 * (PCKh[left] + PCKh[right])``), never a pooled count.
* "Mean" pools counts: total correct / total counted over the mean's joints, i.e. each
  joint's rate weighted by its count.  With every joint counted for every person (LSP)
  this equals the plain mean of the joint rates.

Arrays: ``pred`` and ``gt`` are (N, K, 2) pixel (x, y) in the same coordinate convention,
``counted`` is (N, K) bool, ``norm`` is (N,) pixels.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from repose_tf.skeleton import LSP14, Skeleton

MEAN = "Mean"
# MPII head size = SC_BIAS x head-box diagonal (Andriluka et al.'s util_get_head_size.m).
HEAD_SIZE_FACTOR = 0.6

Parts = Sequence[tuple[str, Sequence[str]]]


@dataclasses.dataclass(frozen=True)
class JointPCK:
    """Per-joint PCK counts at one threshold.

    Attributes:
      correct: (K,) int64, counted instances with normalized error <= threshold.
      count: (K,) int64, counted instances.
    """

    correct: np.ndarray
    count: np.ndarray

    @property
    def rates(self) -> np.ndarray:
        """(K,) float64 percentages; NaN where a joint has no counted instance."""
        return _percent(self.correct, self.count)


@dataclasses.dataclass(frozen=True)
class PCKCurve:
    """PCK as a function of the threshold.

    Attributes:
      thresholds: (T,) float64.
      correct: (T, K) int64, correct counts per threshold and joint.
      count: (K,) int64, counted instances per joint (independent of the threshold).
    """

    thresholds: np.ndarray
    correct: np.ndarray
    count: np.ndarray

    @property
    def rates(self) -> np.ndarray:
        """(T, K) float64 percentages; NaN for joints with no counted instance."""
        return _percent(self.correct, self.count[None, :])

    def pooled(self, joints: Sequence[int] | None = None) -> np.ndarray:
        """(T,) pooled percentage over ``joints`` (indices; default all), as the tables' Mean."""
        idx = slice(None) if joints is None else list(joints)
        return _percent(self.correct[:, idx].sum(axis=1), self.count[idx].sum())

    def at(self, t: int) -> JointPCK:
        """The per-joint counts at ``thresholds[t]``."""
        return JointPCK(correct=self.correct[t], count=self.count)


def _percent(correct: np.ndarray, count: np.ndarray | int) -> np.ndarray:
    correct = np.asarray(correct, dtype=np.float64)
    count = np.broadcast_to(np.asarray(count, dtype=np.float64), correct.shape)
    out = np.full(correct.shape, np.nan)
    np.divide(100.0 * correct, count, out=out, where=count > 0)
    return out


def normalized_errors(pred: np.ndarray, gt: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """(N, K) float64 ``||pred - gt|| / norm``.

    Args:
      pred, gt: (N, K, 2) pixel coordinates in the same convention.
      norm: (N,) reference lengths in pixels.  A zero norm gives inf (NaN for a zero
        error), which never counts as correct, as in the reference code.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    norm = np.asarray(norm, dtype=np.float64)
    if pred.ndim != 3 or pred.shape[-1] != 2 or pred.shape != gt.shape:
        raise ValueError(f"pred and gt must both be (N, K, 2); got {pred.shape} and {gt.shape}")
    if norm.shape != pred.shape[:1]:
        raise ValueError(f"norm must be (N,) = ({pred.shape[0]},); got {norm.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.linalg.norm(pred - gt, axis=-1) / norm[:, None]


def _check_counted(counted: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    counted = np.asarray(counted)
    if counted.shape != shape:
        raise ValueError(f"counted must be (N, K) = {shape}; got {counted.shape}")
    return counted.astype(bool)


def pck_curve(pred: np.ndarray, gt: np.ndarray, counted: np.ndarray, norm: np.ndarray,
              thresholds: Sequence[float] | np.ndarray) -> PCKCurve:
    """Per-joint PCK counts at each of ``thresholds``.

    Args:
      pred, gt: (N, K, 2) pixel coordinates in the same convention.
      counted: (N, K) bool, which instances enter the metric (e.g. not missing).
      norm: (N,) reference length per person, pixels.
      thresholds: (T,) fractions of ``norm`` (e.g. ``np.linspace(0, 0.5, 51)``).
    """
    errors = normalized_errors(pred, gt, norm)
    counted = _check_counted(counted, errors.shape)
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if thresholds.ndim != 1:
        raise ValueError(f"thresholds must be 1-D; got shape {thresholds.shape}")
    within = errors[None, :, :] <= thresholds[:, None, None]  # NaN errors compare False
    correct = np.sum(within & counted[None], axis=1, dtype=np.int64)
    return PCKCurve(thresholds=thresholds, correct=correct,
                    count=counted.sum(axis=0, dtype=np.int64))


def pck(pred: np.ndarray, gt: np.ndarray, counted: np.ndarray, norm: np.ndarray,
        threshold: float) -> JointPCK:
    """Per-joint PCK counts at one threshold; arguments as :func:`pck_curve`."""
    return pck_curve(pred, gt, counted, norm, [threshold]).at(0)


def torso_sizes(gt: np.ndarray, skeleton: Skeleton = LSP14) -> np.ndarray:
    """(N,) PCK torso: ||left shoulder - right hip|| of ``gt`` (N, K, 2), person-centric labels.

    This is the diagonal eval_pose uses for LSP (MATLAB joints 10 and 3), not the
    right shoulder - left hip one; the two keypoints are found by name (:attr:`Skeleton.torso`).

    Raises:
      ValueError: the skeleton names no left shoulder and right hip.
    """
    if skeleton.torso is None:
        raise ValueError(f"skeleton {skeleton.name!r} names no torso (a left shoulder and a right hip); "
                         "normalise PCK by the person box instead")
    left_shoulder, right_hip = skeleton.torso
    gt = np.asarray(gt, dtype=np.float64)
    return np.linalg.norm(gt[:, left_shoulder] - gt[:, right_hip], axis=-1)


def box_sizes(boxes: np.ndarray) -> np.ndarray:
    """(N,) the longer side of (N, 4) person boxes [x1, y1, x2, y2]: max(w, h), mmpose's bbox PCK norm."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"person boxes must be (N, 4) [x1, y1, x2, y2]; got {boxes.shape}")
    return np.max(boxes[:, 2:] - boxes[:, :2], axis=-1)


def head_sizes(head_boxes: np.ndarray) -> np.ndarray:
    """(N,) PCKh head size: 0.6 x the diagonal of (N, 4) head boxes [x1, y1, x2, y2]."""
    boxes = np.asarray(head_boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"head boxes must be (N, 4) [x1, y1, x2, y2]; got {boxes.shape}")
    return np.linalg.norm(boxes[:, 2:] - boxes[:, :2], axis=-1) * HEAD_SIZE_FACTOR


def part_table(correct: np.ndarray, count: np.ndarray, keypoints: Sequence[str], parts: Parts,
               mean_over: Sequence[str] | None = None) -> dict[str, float]:
    """The benchmark table row: each part's value, then "Mean" (percentages).

    Args:
      correct, count: (K,) per-joint counts (e.g. from :class:`JointPCK`).
      keypoints: the K joint names, in the order of ``correct``.
      parts: (part name, member joint names) pairs, e.g. ``LSP14.parts``; a part is the
        plain mean of its members' rates.
      mean_over: joints pooled into "Mean" (default: all K).

    Returns:
      ``{part: value, ..., "Mean": value}`` in the order of ``parts``; NaN where a part or
      the mean has a joint with no counted instance.
    """
    correct = np.asarray(correct)
    count = np.asarray(count)
    names = list(keypoints)
    if correct.shape != (len(names),) or count.shape != (len(names),):
        raise ValueError(f"correct and count must be ({len(names)},) for keypoints {names}; "
                         f"got {correct.shape} and {count.shape}")

    def indices(members: Sequence[str], where: str) -> list[int]:
        unknown = [m for m in members if m not in names]
        if unknown:
            raise ValueError(f"{where} names unknown joint(s) {unknown}; known: {names}")
        return [names.index(m) for m in members]

    rates = _percent(correct, count)
    table = {part: float(np.mean(rates[indices(members, f"part {part!r}")]))
             for part, members in parts}
    mean_idx = indices(mean_over, "mean_over") if mean_over is not None else list(range(len(names)))
    table[MEAN] = float(_percent(correct[mean_idx].sum(), count[mean_idx].sum()))
    return table


def format_part_table(rows: Mapping[str, Mapping[str, float | None]], *, markdown: bool = False,
                      digits: int = 2) -> str:
    """Rows of part values as a table in the layout of the paper's Tables 1-2.

    Args:
      rows: row label (method, checkpoint, file) -> ``{column: value}``; columns are the
        union of the rows' keys in first-seen order.  A missing, None or NaN value
        prints as "-".
      markdown: a GitHub markdown table instead of fixed-width text.
      digits: decimals of the values.

    Returns:
      The table, lines joined by newlines, no trailing newline.
    """
    columns: list[str] = []
    for values in rows.values():
        columns += [c for c in values if c not in columns]

    def cell(value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return f"{value:.{digits}f}"

    body = [[label] + [cell(values.get(c)) for c in columns] for label, values in rows.items()]
    header = [""] + columns
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join([" --- "] + [" ---: "] * len(columns)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    return "\n".join(
        "  ".join([r[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(r[1:], widths[1:])]).rstrip()
        for r in [header] + body)
