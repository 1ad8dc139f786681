"""``repose quickstart --smoke``: every step of the main job runs and leaves its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repose_tf.cli import main


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
