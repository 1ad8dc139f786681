"""PCK primitives: threshold boundary, counting, part averaging, pooled mean, curves, tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repose_tf.eval.metrics import (
    box_sizes,
    format_part_table,
    head_sizes,
    normalized_errors,
    part_table,
    pck,
    pck_curve,
    torso_sizes,
)
from repose_tf.skeleton import COCO17, LSP14


def _offset(gt: np.ndarray, dx: np.ndarray, dy: np.ndarray | float = 0.0) -> np.ndarray:
    pred = gt.copy()
    pred[..., 0] += dx
    pred[..., 1] += dy
    return pred


def test_error_exactly_at_threshold_counts_and_just_above_does_not():
    gt = np.zeros((1, 4, 2))
    # norm 10, threshold 0.5 -> 5 px.  (3, 4) has length exactly 5.
    pred = gt.copy()
    pred[0, 0] = (5.0, 0.0)
    pred[0, 1] = (3.0, 4.0)
    pred[0, 2] = (5.0 + 1e-9, 0.0)
    pred[0, 3] = (4.0, 4.0)
    res = pck(pred, gt, np.ones((1, 4), bool), np.array([10.0]), 0.5)
    np.testing.assert_array_equal(res.correct, [1, 1, 0, 0])
    np.testing.assert_array_equal(res.count, [1, 1, 1, 1])
    np.testing.assert_array_equal(res.rates, [100.0, 100.0, 0.0, 0.0])


def test_boundary_is_decided_on_the_quotient_like_the_reference_code():
    # 4.1000000000000005 / 20.5 rounds above 0.2 while 0.2 * 20.5 rounds up to it: the
    # reference code divides (err / norm <= t), so this keypoint is not correct.
    err, norm = 41 * 0.1, 20.5
    assert err <= 0.2 * norm and not err / norm <= 0.2
    gt = np.zeros((1, 1, 2))
    pred = np.array([[[err, 0.0]]])
    assert pck(pred, gt, np.ones((1, 1), bool), np.array([norm]), 0.2).correct[0] == 0


def test_uncounted_instances_are_left_out_and_empty_joints_are_nan():
    gt = np.zeros((3, 2, 2))
    pred = _offset(gt, np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 0.0]]))
    counted = np.array([[True, False], [False, False], [True, False]])
    res = pck(pred, gt, counted, np.ones(3), 0.5)
    np.testing.assert_array_equal(res.correct, [2, 0])
    np.testing.assert_array_equal(res.count, [2, 0])
    assert res.rates[0] == 100.0 and math.isnan(res.rates[1])


def test_zero_norm_is_never_correct():
    gt = np.zeros((2, 1, 2))
    res = pck(gt.copy(), gt, np.ones((2, 1), bool), np.array([0.0, 1.0]), 0.5)
    np.testing.assert_array_equal(res.correct, [1])


def test_shape_errors_are_clear():
    gt = np.zeros((2, 3, 2))
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        pck(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), np.ones((2, 3), bool), np.ones(2), 0.5)
    with pytest.raises(ValueError, match="norm must be"):
        pck(gt, gt, np.ones((2, 3), bool), np.ones(3), 0.5)
    with pytest.raises(ValueError, match="counted must be"):
        pck(gt, gt, np.ones((2, 2), bool), np.ones(2), 0.5)


def test_fixed_offset_gives_the_analytic_pck():
    # Offset d on every joint: correct iff d / norm <= t, i.e. norm >= d / t.
    rng = np.random.default_rng(0)
    n, k, d, t = 500, 5, 3.0, 0.2
    gt = rng.uniform(0, 100, (n, k, 2))
    norm = rng.uniform(5, 40, n)
    res = pck(_offset(gt, d), gt, np.ones((n, k), bool), norm, t)
    np.testing.assert_allclose(res.rates, 100.0 * np.mean(norm >= d / t))


def test_curve_matches_pck_at_each_threshold_and_is_monotone():
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 50, (40, 3, 2))
    pred = gt + rng.normal(0, 3, gt.shape)
    counted = rng.uniform(size=(40, 3)) > 0.2
    norm = rng.uniform(5, 15, 40)
    thresholds = np.linspace(0, 0.5, 11)
    curve = pck_curve(pred, gt, counted, norm, thresholds)
    assert curve.correct.shape == (11, 3) and curve.rates.shape == (11, 3)
    for i, t in enumerate(thresholds):
        single = pck(pred, gt, counted, norm, t)
        np.testing.assert_array_equal(curve.at(i).correct, single.correct)
        np.testing.assert_array_equal(curve.count, single.count)
    assert np.all(np.diff(curve.correct, axis=0) >= 0)
    np.testing.assert_allclose(curve.pooled(), 100.0 * curve.correct.sum(1) / counted.sum())
    np.testing.assert_allclose(curve.pooled([0, 2]), 100.0 * curve.correct[:, [0, 2]].sum(1)
                               / counted[:, [0, 2]].sum())


def test_part_is_mean_of_rates_and_mean_is_pooled_by_count():
    names = ("a", "b", "c", "d")
    correct = np.array([1, 1, 3, 0])
    count = np.array([1, 4, 3, 2])
    table = part_table(correct, count, names, (("AB", ("a", "b")), ("C", ("c",))),
                       mean_over=("a", "b", "c"))
    assert list(table) == ["AB", "C", "Mean"]
    assert table["AB"] == pytest.approx((100.0 + 25.0) / 2)  # not pooled (2 / 5 = 40)
    assert table["C"] == 100.0
    assert table["Mean"] == pytest.approx(100.0 * 5 / 8)  # d left out of the mean
    assert part_table(correct, count, names, ())["Mean"] == pytest.approx(100.0 * 5 / 10)


def test_part_table_rejects_unknown_names_and_wrong_lengths():
    with pytest.raises(ValueError, match="unknown joint"):
        part_table(np.ones(2), np.ones(2), ("a", "b"), (("X", ("a", "z")),))
    with pytest.raises(ValueError, match="unknown joint"):
        part_table(np.ones(2), np.ones(2), ("a", "b"), (), mean_over=("q",))
    with pytest.raises(ValueError, match=r"must be \(3,\)"):
        part_table(np.ones(2), np.ones(2), ("a", "b", "c"), ())


def test_torso_is_left_shoulder_to_right_hip():
    gt = np.zeros((1, 14, 2))
    gt[0, LSP14.index("l_shoulder")] = (0.0, 0.0)
    gt[0, LSP14.index("r_hip")] = (3.0, 4.0)
    gt[0, LSP14.index("r_shoulder")] = (100.0, 0.0)
    gt[0, LSP14.index("l_hip")] = (0.0, 100.0)
    np.testing.assert_array_equal(torso_sizes(gt), [5.0])


def test_head_size_is_0_6_times_head_box_diagonal():
    np.testing.assert_allclose(head_sizes(np.array([[10, 20, 40, 60], [0, 0, 5, 12]])), [30.0, 7.8])
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        head_sizes(np.zeros((2, 2, 2)))


def test_normalized_errors():
    gt = np.zeros((2, 1, 2))
    pred = np.array([[[3.0, 4.0]], [[6.0, 8.0]]])
    np.testing.assert_allclose(normalized_errors(pred, gt, np.array([10.0, 5.0])), [[0.5], [2.0]])


def test_text_table_is_fixed_width_with_dashes_for_missing_values():
    rows = {"RePose": {"Head": 97.654, "Wrist": 85.2, "Mean": 90.29},
            "Sekii": {"Mean": 88.1},
            "empty": {"Head": float("nan")}}
    lines = format_part_table(rows).splitlines()
    assert lines[0].split() == ["Head", "Wrist", "Mean"]
    assert lines[1].split() == ["RePose", "97.65", "85.20", "90.29"]
    assert lines[2].split() == ["Sekii", "-", "-", "88.10"]
    assert lines[3].split() == ["empty", "-", "-", "-"]
    # Columns are right-aligned: every value ends where its header ends.
    for col in ("Head", "Wrist", "Mean"):
        end = lines[0].index(col) + len(col)
        assert all(line[end - 1] != " " for line in lines[1:])
    assert len({len(line) for line in lines}) == 1


def test_markdown_table():
    text = format_part_table({"m": {"Head": 1.0, "Mean": 2.5}}, markdown=True, digits=1)
    assert text.splitlines() == ["|  | Head | Mean |", "| --- | ---: | ---: |", "| m | 1.0 | 2.5 |"]


def test_torso_of_coco_names_and_box_sizes():
    gt = np.zeros((1, 17, 2))
    gt[0, COCO17.index("left_shoulder")] = (3.0, 0.0)
    gt[0, COCO17.index("right_hip")] = (0.0, 4.0)
    np.testing.assert_array_equal(torso_sizes(gt, COCO17), [5.0])
    np.testing.assert_array_equal(box_sizes(np.array([[10, 20, 40, 60], [0, 0, 5, 2]])), [40.0, 5.0])
    with pytest.raises(ValueError, match=r"person boxes must be \(N, 4\)"):
        box_sizes(np.zeros(4))
