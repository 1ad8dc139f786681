"""``benchmarks/hourglass_torch.py``: the PyTorch stacked hourglass that ``benchmarks/latency.py --fpd`` times
beside RePose has the FPD student's size as issue 18 measured it, gives one heatmap per keypoint at a quarter
of the input, and its bfloat16 runner agrees with float32. Skipped where PyTorch is not installed (it is no
dependency of the package)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import hourglass_torch  # noqa: E402


def test_the_fpd_student_has_the_size_issue_18_measured() -> None:
    spec = hourglass_torch.NETWORKS["fpd-student"]
    params, flops = hourglass_torch.complexity(hourglass_torch.StackedHourglass(spec), spec.size)
    assert round(params / 1e6, 2) == 3.29
    assert round(flops / 1e9, 2) == 7.81


def test_runners_give_quarter_size_heatmaps_and_bfloat16_follows_float32() -> None:
    spec = hourglass_torch.Hourglass("small", stacks=2, feats=16, stem=8, keypoints=5, size=64)
    crops = np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 3)).astype(np.float32)
    fp32 = hourglass_torch.runner(spec, "float32", threads=1)(crops)
    bf16 = hourglass_torch.runner(spec, "bfloat16", threads=1)(crops)
    assert fp32.shape == bf16.shape == (2, 5, 16, 16)
    assert fp32.dtype == bf16.dtype == np.float32
    assert np.abs(bf16 - fp32).max() <= 0.05 * np.abs(fp32).max()
    assert not np.allclose(bf16, fp32, rtol=0, atol=0)
