"""``repose_tf.train.callbacks``: the history file's columns and the progress bar's first step."""

from __future__ import annotations

import io
import time
from pathlib import Path
from types import SimpleNamespace

import keras

from repose_tf.train.callbacks import HistoryCSV, ProgressBar


def _model(step: int = 0) -> SimpleNamespace:
    return SimpleNamespace(optimizer=SimpleNamespace(iterations=keras.Variable(step), learning_rate=0.1))


def test_history_starts_with_step_and_has_val_columns_only_when_validating(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    history = HistoryCSV(path)
    history.on_epoch_end(0, {"loss": 0.5, "b_loss": 0.2, "a_loss": 0.3, "step": 100, "learning_rate": 1e-3})
    history.on_epoch_end(1, {"loss": 0.25, "b_loss": 0.1, "a_loss": 0.15, "step": 200, "learning_rate": 5e-4})
    assert path.read_text().splitlines() == ["step,learning_rate,loss,a_loss,b_loss",
                                             "100,0.001,0.5,0.3,0.2", "200,0.0005,0.25,0.15,0.1"]

    validated = tmp_path / "validated.csv"
    HistoryCSV(validated).on_epoch_end(0, {"loss": 1.0, "step": 5, "learning_rate": 1e-3, "val_pck": float("nan")})
    # A resumed run appends under the header already there; a missing PCK is an empty cell.
    HistoryCSV(validated).on_epoch_end(0, {"loss": 0.5, "step": 10, "learning_rate": 1e-3, "val_pck": 42.5})
    assert validated.read_text().splitlines() == ["step,learning_rate,loss,val_pck", "5,0.001,1,", "10,0.001,0.5,42.5"]


def test_progress_bar_says_compiling_until_the_first_step_and_times_from_there() -> None:
    model = _model(step=40)  # a resumed run
    bar = ProgressBar(100)
    bar.set_model(model)
    bar.on_train_begin()
    bar._bar.fp = io.StringIO()
    assert str(bar._bar) == "train: 40/100 [00:00, compiling the training step]"
    time.sleep(1.1)  # the first step's time: tracing and compiling
    model.optimizer.iterations.assign(41)
    bar.on_train_batch_end(0, {"loss": 1.0})
    assert "compiling" not in str(bar._bar) and "41/100 [00:00<?" in str(bar._bar)
    model.optimizer.iterations.assign(43)
    bar.on_train_batch_end(1, {"loss": 0.5})
    # Two steps since the first one ended: the rate ignores the second spent compiling.
    assert bar._bar.format_dict["n"] - bar._bar.format_dict["initial"] == 2
    assert bar._bar.format_dict["elapsed"] < 1.0
    bar.on_train_end()
