"""``benchmarks/quickstart_precision.py``: each precision trains the quickstart's network on the quickstart's
kind of data and is scored on its held-out people; its ``--out`` check, which the long benchmarks share,
refuses an unwritable file before any work."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("script", ["quickstart_precision", "quickstart_recipes", "precision", "batch_norm",
                                    "latency", "serving_profile"])
def test_an_out_that_cannot_be_written_is_refused_before_any_work(script: str, tmp_path: Path) -> None:
    # A file where the folder should be: the long benchmarks stop at once with a usage error, not at the end.
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{script}.py"), "--out",
                           str(blocker / "result.md")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--out" in done.stderr and "Traceback" not in done.stderr, done.stderr
