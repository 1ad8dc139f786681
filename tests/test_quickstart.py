"""``repose quickstart --smoke``: every step of the main job runs and leaves its files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from repose_tf.cli import main
from repose_tf.quickstart import FULL, SMOKE, format_summary, plan_for


def test_smoke_run_leaves_every_output(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "qs"
    assert main(["quickstart", "--out", str(out), "--smoke", "--no-progress", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "PCK@0.2 on 6 held-out synthetic people" in printed
    summary = json.loads((out / "quickstart.json").read_text())
    assert summary["plan"]["smoke"] and summary["steps"] == 2 and summary["n_val"] == 6
    assert 0.0 <= summary["pck"] <= 100.0
    assert set(summary["seconds"]) == {"data", "train", "evaluate", "export", "plots", "total"}
    for name in ("model", "eval", "overlay", "training_curves"):
        assert Path(summary["files"][name]).is_file(), name
    assert (Path(summary["files"]["savedmodel"]) / "saved_model.pb").is_file()
    assert len(list((out / "data").glob("synthetic-train-*.tfrecord"))) == 1
    assert (out / "eval" / "predictions-synthetic.npy").is_file()
    assert isinstance(summary["dead_heatmaps"], dict)


def test_the_summary_warns_of_a_collapsed_run() -> None:
    summary = {"metric": "PCK@0.2", "n_val": 300, "pck": 48.4, "parts": {"Mean": 48.4}, "steps": 1429,
               "seconds": dict.fromkeys(("total", "data", "train", "evaluate", "export", "plots"), 1.0),
               "files": dict.fromkeys(("model", "savedmodel", "overlay", "training_curves"), "x"),
               "dead_heatmaps": {"refine_32": ["r_wrist"]}}
    assert "collapsed" not in format_summary(summary)
    summary["dead_heatmaps"]["refine_64"] = ["l_wrist", "head"]
    assert "warning: this run collapsed: the final heatmaps of l_wrist, head are zero" in format_summary(summary)


def test_steps_override_keeps_the_recipe() -> None:
    assert plan_for() is FULL and plan_for(smoke=True) is SMOKE
    longer = plan_for(steps=3 * FULL.recipe.steps)
    assert longer.recipe.steps == 3 * FULL.recipe.steps
    assert dataclasses.replace(longer.recipe, steps=FULL.recipe.steps) == FULL.recipe
    assert (longer.train_count, longer.val_count, longer.flip, longer.decode) == (
        FULL.train_count, FULL.val_count, FULL.flip, FULL.decode)


@pytest.mark.parametrize("steps", [0, -5, 2.5, True])
def test_bad_steps_are_refused(steps: object) -> None:
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        plan_for(steps=steps)


def test_cli_refuses_zero_steps(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["quickstart", "--steps", "0"])
    assert exit_info.value.code == 2
    assert "--steps" in capsys.readouterr().err
