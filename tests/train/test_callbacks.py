"""``repose_tf.train.callbacks``: the history file's columns and the progress bar's first step."""

from __future__ import annotations

import io
import time
from pathlib import Path
from types import SimpleNamespace

import keras
import pytest

from repose_tf.train.callbacks import HistoryCSV, ProgressBar, StopAtStep, TimeBudget


def _model(step: int = 0) -> SimpleNamespace:
    return SimpleNamespace(optimizer=SimpleNamespace(iterations=keras.Variable(step), learning_rate=0.1),
                           stop_training=False)


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
    bar = ProgressBar(StopAtStep(100))
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


def test_time_budget_plans_the_last_step_from_the_measured_pace(monkeypatch) -> None:
    import repose_tf.train.callbacks as callbacks
    from repose_tf.train.schedule import WarmupCosine

    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: clock[0])
    model = _model()
    stop, schedule, said = StopAtStep(1000), WarmupCosine(1e-3, 1000, warmup_steps=10), []
    budget = TimeBudget(100.0, stop, schedule, said.append, measure=20)
    budget.set_model(model)
    budget.on_train_begin()

    def step_to(step: int, at: float) -> None:
        model.optimizer.iterations.assign(step)
        clock[0] = at
        budget.on_train_batch_end(step - 1)

    step_to(1, 30.0)  # the first step: tracing and compiling
    step_to(20, 39.5)
    assert budget.planned is None and stop.steps == 1000
    step_to(21, 40.0)  # 20 steps at 0.5 s: 97 s usable - 40 s spent -> 114 more steps
    assert budget.planned == stop.steps == 135 and float(schedule.total_steps.numpy()) == 135.0
    assert said == ["time budget 1.7 min: 0.500 s per step measured, training to step 135"]
    assert float(schedule(135)) == pytest.approx(1e-5, rel=1e-3)  # decays to its floor at the new end

    model.optimizer.iterations.assign(100)
    clock[0] = 89.5  # a 10 s validation pause: the pace over all steps is now 0.6 s
    budget.on_epoch_end(0)
    assert stop.steps == 112 and float(schedule.total_steps.numpy()) == 112.0
    clock[0] = 90.0
    budget.on_epoch_end(1)  # on plan: unchanged
    assert stop.steps == 112 and len(said) == 2
    model.optimizer.iterations.assign(105)
    clock[0] = 91.0  # faster than planned (0.587 s per step): the plan moves out again
    budget.on_epoch_end(2)
    assert stop.steps == 115 and float(schedule.total_steps.numpy()) == 115.0

    # The last epoch ends at the planned step with time to spare: the run is stopping, so the plan stays
    # (moved out, it would name a step the finished run never took, and `repose train` exited 1).
    model.optimizer.iterations.assign(115)
    model.stop_training = True
    clock[0] = 95.0
    budget.on_epoch_end(3)
    assert stop.steps == 115 and float(schedule.total_steps.numpy()) == 115.0 and len(said) == 3


def test_a_resumed_time_budget_only_shortens_its_plan(monkeypatch) -> None:
    import repose_tf.train.callbacks as callbacks

    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: clock[0])
    model = _model(step=500)
    stop = StopAtStep(600)  # the plan kept in the checkpoint
    budget = TimeBudget(1000.0, stop, None, lambda _: None, measure=20, resumed=True)
    budget.set_model(model)
    budget.on_train_begin()
    for step, at in ((501, 30.0), (521, 40.0)):  # 0.5 s per step: 1000 s would allow far more than 600
        model.optimizer.iterations.assign(step)
        clock[0] = at
        budget.on_train_batch_end(0)
    assert stop.steps == 600


def test_a_dead_heatmap_channel_is_restarted_with_fresh_weights_and_moments(tmp_path: Path) -> None:
    import numpy as np

    from repose_tf.model.builder import build_model, output_names
    from repose_tf.train.callbacks import RestartDeadHeatmaps
    from repose_tf.train.fit import TrainRecipe, compile_for_training
    from repose_tf.train.loss import pack_targets
    from tests.train.helpers import TEST_CONFIG, write_people

    cfg, size = TEST_CONFIG, TEST_CONFIG.input_size
    write_people(tmp_path, "val", 4, 1)
    model = build_model(cfg, fused=True)
    compile_for_training(model, cfg, TrainRecipe(steps=10, batch_size=2, learning_rate=1e-3))
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, size, size, 3)).astype("float32")
    targets = pack_targets(rng.uniform(0, size - 1, (2, cfg.num_keypoints, 2)), np.ones((2, cfg.num_keypoints)))
    model.train_on_batch(images, {n: targets for n in output_names(cfg)})
    final = f"refine_{size}"
    p = model.get_layer(f"dec{size}_p")
    head = cfg.skeleton.index("head")
    p.conv.bias.assign(np.where(np.arange(cfg.num_keypoints) == head, -100.0, p.conv.bias.numpy()))
    kernel_before = p.conv.kernel.numpy()
    optimizer = model.optimizer
    index = optimizer._get_variable_index(p.conv.kernel)
    moment_before = optimizer._momentums[index].numpy()
    assert np.abs(moment_before[..., head]).max() > 0

    said: list[str] = []
    restart = RestartDeadHeatmaps(cfg, str(tmp_path / "synthetic-val-*.tfrecord"), said.append, count=4)
    restart.set_model(model)
    restart.on_train_begin()
    restart.on_epoch_end(0, {"loss": 1.0})
    assert restart.restarts == [(1, final, "head")]
    assert said == [f"step 1: restarted dead heatmaps (zero on every validation crop): {final}: head"]
    np.testing.assert_allclose(p.conv.bias.numpy()[head], 0.01)
    kernel = p.conv.kernel.numpy()
    assert not np.allclose(kernel[..., head], kernel_before[..., head]) and np.abs(kernel[..., head]).max() < 0.05
    np.testing.assert_array_equal(np.delete(kernel, head, -1), np.delete(kernel_before, head, -1))
    moment = optimizer._momentums[index].numpy()
    assert not moment[..., head].any()
    np.testing.assert_array_equal(np.delete(moment, head, -1), np.delete(moment_before, head, -1))
    restart.on_epoch_end(1, {"loss": 1.0})  # nothing dead any more: nothing done
    assert len(restart.restarts) == 1
