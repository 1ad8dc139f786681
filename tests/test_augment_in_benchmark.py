"""``benchmarks/augment_in.py``: both places train the same network on the same records and get a rate."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.train.helpers import TEST_CONFIG, write_people

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import augment_in  # noqa: E402


def test_both_places_train_and_are_timed(tmp_path: Path) -> None:
    data = write_people(tmp_path, "train", 8, 0)
    results, policy = augment_in.compare(TEST_CONFIG, batch=2, steps=2, warmup=1, data=[data])
    assert sorted(results) == ["pipeline", "step"]
    for r in results.values():
        assert r["images_s"] > 0 and r["cpu_ms"] > 0
    assert policy in ("float32", "mixed_bfloat16")
