"""``benchmarks/quickstart_precision.py``: each precision trains the quickstart's network on the quickstart's
kind of data and is scored on its held-out people."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from repose_tf.quickstart import SMOKE

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import quickstart_precision  # noqa: E402


def test_a_precision_trains_and_is_scored(tmp_path: Path) -> None:
    # no validation pass
    plan = dataclasses.replace(SMOKE, recipe=dataclasses.replace(SMOKE.recipe, pck_every=0, precision="bfloat16"))
    result = quickstart_precision.train_and_score(plan, tmp_path / "data", tmp_path / "run", None)
    assert result["steps"] == SMOKE.recipe.steps and result["n"] == SMOKE.val_count
    assert result["precision"] == "mixed_bfloat16" and result["train_count"] == SMOKE.train_count
    assert 0 <= result["parts"]["Mean"] <= 100 and result["seconds"] > 0
    assert (tmp_path / "run" / "model.keras").is_file()
