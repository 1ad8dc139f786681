"""``benchmarks/lsp_model.py``: the stages of the recipe, their history end to end, the card's recipe text."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import lsp_model  # noqa: E402


def test_each_stage_after_the_first_starts_from_the_previous_stages_model() -> None:
    (first, first_args), *later = lsp_model.STAGES
    assert later and "--init" not in first_args and lsp_model.FINAL_RUN == later[-1][0]
    previous = first
    for run, args in later:
        assert args[args.index("--init") + 1] == str(previous / "model.keras")
        assert args[args.index("--out") + 1] == str(run)
        previous = run


def test_train_runs_only_the_stages_without_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    done, todo = tmp_path / "a", tmp_path / "b"
    done.mkdir()
    (done / "model.keras").write_bytes(b"")
    stages = ((done, ("train", "--out", str(done))), (todo, ("train", "--out", str(todo))))
    monkeypatch.setattr(lsp_model, "STAGES", stages)
    ran = []
    monkeypatch.setattr(lsp_model.subprocess, "run", lambda argv, check: ran.append(argv))
    lsp_model.run_train()
    assert ran == [["repose", "train", "--out", str(todo)]]


def test_stage_history_counts_steps_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, rows in (("a", "500,1e-3,0.05,\n1000,5e-4,0.04,40.0\n"), ("b", "500,5e-4,0.045,\n1000,1e-5,0.03,50.0\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "history.csv").write_text("step,learning_rate,loss,val_pck\n" + rows)
    monkeypatch.setattr(lsp_model, "STAGES", ((tmp_path / "a", ()), (tmp_path / "b", ())))
    history = lsp_model.stage_history()
    np.testing.assert_array_equal(history["step"], [500, 1000, 1500, 2000])
    np.testing.assert_array_equal(history["loss"], [0.05, 0.04, 0.045, 0.03])
    np.testing.assert_array_equal(history["val_pck"][[1, 3]], [40.0, 50.0])


def test_recipe_text_names_every_stage() -> None:
    card = {"command": "repose train A && repose train B", "steps": 300, "hours": 3.0,
            "stages": [{"command": "repose train A", "steps": 100, "hours": 1.0},
                       {"command": "repose train B", "steps": 200, "hours": 2.0}]}
    assert lsp_model.recipe_text(card) == ("`repose train A` (100 steps, 1.00 h); then `repose train B` (200 steps, "
                                           "2.00 h)")
    single = {"command": "repose train A", "steps": 100, "hours": 1.0}
    assert lsp_model.recipe_text(single) == "`repose train A` (100 steps, 1.00 h)"


def test_runs_counts_the_stages_in_words() -> None:
    assert lsp_model.runs({"stages": [{}, {}]}) == "two runs, "
    assert lsp_model.runs({"stages": [{}, {}, {}]}) == "three runs, "
    assert lsp_model.runs({"stages": [{}]}) == lsp_model.runs({}) == ""
