"""``benchmarks/quickstart_recipes.py``: each variant is the quickstart's plan with its batch size, learning
rate, training people and seed; other numbers of people go to their own folder; the table gives the images
per second its steps held."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from repose_tf.quickstart import FULL

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import quickstart_recipes  # noqa: E402


@pytest.mark.parametrize("name", sorted(quickstart_recipes.VARIANTS))
def test_a_variant_changes_only_its_own_fields(name: str) -> None:
    plan = quickstart_recipes.variant_plan(FULL, name, seed=3)
    v = quickstart_recipes.VARIANTS[name]
    assert (plan.recipe.batch_size, plan.recipe.learning_rate, plan.recipe.seed) == (v.batch, v.lr, 3)
    assert plan.train_count == (v.train_count or FULL.train_count)
    for field in ("steps", "schedule", "warmup_steps", "precision", "augment", "shuffle_buffer"):
        assert getattr(plan.recipe, field) == getattr(FULL.recipe, field), field
    assert (plan.val_count, plan.time_budget, plan.decode, plan.flip) == (
        FULL.val_count, FULL.time_budget, FULL.decode, FULL.flip)


def test_other_numbers_of_people_get_their_own_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    default = quickstart_recipes.variant_plan(FULL, "b32_lr1e-2", seed=0)
    more = quickstart_recipes.variant_plan(FULL, "b32_lr7e-3_8000", seed=0)
    assert quickstart_recipes.data_dir(data, default, FULL) == data
    assert quickstart_recipes.data_dir(data, more, FULL) == tmp_path / "data-8000"


def test_the_table_gives_images_per_second_and_every_part() -> None:
    parts = {"Head": 90.0, "Mean": 61.25}
    results = {"b32_lr1e-2": {"steps": 100, "seconds": 40.0, "parts": parts, "n": 300, "train_count": 4000},
               "b8_lr5e-3": {"steps": 300, "seconds": 40.0, "parts": parts, "n": 300, "train_count": 4000}}
    lines = quickstart_recipes.table(results)
    assert lines[0] == "| variant | batch | peak lr | training people | steps | images/s | Head | Mean |"
    assert lines[2] == "| b32_lr1e-2 | 32 | 0.01 | 4000 | 100 | 80.0 | 90.0 | 61.2 |"
    assert lines[3] == "| b8_lr5e-3 | 8 | 0.005 | 4000 | 300 | 60.0 | 90.0 | 61.2 |"
