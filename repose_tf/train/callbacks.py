"""Keras callbacks of a training run, counted in optimizer steps.

A run is ``fit`` over "epochs" of ``checkpoint_every`` steps each, so that Keras' per-epoch
machinery (the history file, TensorBoard) writes one row per checkpoint.  In the order
:func:`repose_tf.train.fit.fit` installs them:

* :class:`NaNGuard`: stops at the first non-finite loss and remembers where.
* :class:`StopAtStep`: ends the run at exactly the last step, even mid-"epoch".
* :class:`TimeBudget` (runs given a time budget): moves that last step, and the cosine
  schedule's end with it, to what the measured pace allows.
* :class:`StepLogs`: adds ``step`` and ``learning_rate`` to every epoch's logs.
* :class:`ValidationPCK`: every ``every`` steps, PCK of the current weights on validation
  records (:mod:`repose_tf.eval.evaluate`), as ``val_pck`` (NaN in the rows without it, so
  the CSV keeps one column: an empty cell there).
* :class:`RestartDeadHeatmaps` (runs with validation data): restarts heatmap channels that output zero on
  every validation crop.
* :class:`Checkpointer`: the atomic checkpoint of :class:`~repose_tf.train.checkpoints.CheckpointWriter`,
  skipped once the loss is not finite so that the last good checkpoint stays ``latest``.
* :class:`HistoryCSV` and Keras' ``TensorBoard`` (chief only), then :class:`ProgressBar`.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from tqdm import tqdm

from repose_tf.config import RePoseConfig
from repose_tf.train.checkpoints import CheckpointWriter


def current_step(model: keras.Model) -> int:
    return int(model.optimizer.iterations.numpy())


def current_learning_rate(model: keras.Model) -> float:
    """The learning rate the optimizer applies at its current step."""
    optimizer = model.optimizer
    rate = optimizer.learning_rate  # a scheduled rate reads as the value at the current step
    return float(rate.numpy() if hasattr(rate, "numpy") else rate)


class NaNGuard(keras.callbacks.Callback):
    """Stop training at the first NaN/inf loss or weight; ``tripped`` then says what and where.

    The loss is checked after every step.  Non-finite weights do not always show in the loss:
    a ReLU can map NaN to 0 (oneDNN's does), so a network whose weights are NaN may still report
    a finite loss.  :class:`Checkpointer` therefore calls :meth:`check_weights` before writing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tripped: str | None = None

    def trip(self, what: str) -> None:
        if self.tripped is None:
            self.tripped = what
        self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.trip(f"the loss became {float(loss)} at step {current_step(self.model)}")

    def check_weights(self) -> bool:
        """True if every weight is finite; otherwise trip and return False."""
        bad = [v.path for v in self.model.trainable_variables if not np.isfinite(v.numpy()).all()]
        if bad:
            self.trip(f"{len(bad)} weight tensor(s) became non-finite by step {current_step(self.model)} "
                      f"(first: {bad[0]})")
        return not bad


class StopAtStep(keras.callbacks.Callback):
    """Stop once the optimizer has taken ``steps`` steps."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if current_step(self.model) >= self.steps:
            self.model.stop_training = True


class TimeBudget(keras.callbacks.Callback):
    """Fit a run into ``seconds`` of wall time counted from the start of training (tracing included).

    The first step's time is the compilation's.  After ``measure`` more steps the pace is known,
    and the run's last step becomes the one reached when the time runs out (at most ``stop``'s
    step when training starts, never before the next step): :class:`StopAtStep` stops there and
    a schedule with ``set_total_steps`` (:class:`repose_tf.train.schedule.WarmupCosine`) ends
    its decay there, so the learning rate still reaches its floor.  At every epoch end
    (checkpoint, validation) the pace is measured again over all steps since the first, those
    pauses included, and the plan moves when it would miss the budget by more than
    ``tolerance`` either way (the first steps, with the input pipeline still filling its
    buffers, are slower than the rest: a quickstart planned on them alone ended 1.5 min early).

    Args:
      seconds: the budget.
      stop: the run's :class:`StopAtStep`.
      schedule: the optimizer's learning-rate schedule.
      say: where the plan is reported (a print function).
      measure: steps after the first that set the pace.
      margin: share of the remaining time left unplanned (the end of ``fit``: a checkpoint, the model file).
      tolerance: miss (share of the budget) that moves the plan.
      resumed: ``stop`` holds the plan of the run being resumed: it may only become shorter.
      start: the budget's zero (``time.time()``; default: when ``fit`` starts training), so that
        the caller's preparation (data check, model build) counts too.
    """

    def __init__(self, seconds: float, stop: StopAtStep, schedule: Any, say: Callable[[str], None],
                 measure: int = 20, margin: float = 0.03, tolerance: float = 0.01, resumed: bool = False,
                 start: float | None = None) -> None:
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"the time budget must be positive, got {seconds}")
        self.seconds = seconds
        self.stop = stop
        self.schedule = schedule
        self.say = say
        self.measure = measure
        self.margin = margin
        self.tolerance = tolerance
        self.resumed = resumed
        self.start = start
        self.planned: int | None = None
        self._start = self._first_time = 0.0
        self._first_step: int | None = None
        self._ceiling = stop.steps
        self._measured = False

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.time() if self.start is None else self.start
        self._first_step = None
        self._measured = False
        self._ceiling = self.stop.steps
        self.planned = self.stop.steps if self.resumed else None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = current_step(self.model)
        if self._first_step is None:
            self._first_step, self._first_time = step, time.time()
        elif not self._measured and step >= self._first_step + self.measure:
            self._measured = True
            self._plan(step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # A run that is stopping (its last step reached) keeps its plan: the step it names is the last taken.
        if self._measured and not self.model.stop_training:
            self._plan(current_step(self.model))

    def _plan(self, step: int) -> None:
        now = time.time()
        pace = (now - self._first_time) / max(step - self._first_step, 1)
        remaining = self.seconds * (1 - self.margin) - (now - self._start)
        reachable = max(step + 1, min(self._ceiling, step + int(remaining / pace)))
        if self.planned is not None and abs(self.stop.steps - reachable) * pace <= self.tolerance * self.seconds:
            return
        self.planned = self.stop.steps = reachable
        if hasattr(self.schedule, "set_total_steps"):
            self.schedule.set_total_steps(reachable)
        self.say(f"time budget {self.seconds / 60:.1f} min: {pace:.3f} s per step measured, training to step "
                 f"{reachable:,}")


class StepLogs(keras.callbacks.Callback):
    """Put the optimizer step and the learning rate into the epoch logs (the CSV's x axis)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["step"] = current_step(self.model)
            logs["learning_rate"] = current_learning_rate(self.model)


class ValidationPCK(keras.callbacks.Callback):
    """PCK of the current weights on validation records, every ``every`` steps (and at the end).

    Args:
      config: the network's config.
      data: TFRecord pattern(s) of the validation records.
      every: steps between two evaluations; an evaluation happens at the first epoch end at or
        past each multiple, and at the last step.
      stop: the run's :class:`StopAtStep`, whose ``steps`` is its final step (which a
        :class:`TimeBudget` may move).
      limit: evaluate the first ``limit`` records only.
      batch_size: crops per forward pass.
    """

    def __init__(self, config: RePoseConfig, data: str | Sequence[str], every: int, stop: StopAtStep,
                 limit: int | None = None, batch_size: int = 32) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(f"the PCK interval must be >= 1 step, got {every}")
        self.config = config
        self.data = data
        self.every = every
        self.stop = stop
        self.limit = limit
        self.batch_size = batch_size
        self._predictor = None
        self._next = None
        self.last: dict[str, float] = {}

    def on_train_begin(self, logs: dict | None = None) -> None:
        from repose_tf.eval.evaluate import predictor_from_model

        self._predictor = predictor_from_model(self.model, self.config, "training")
        self._next = (current_step(self.model) // self.every + 1) * self.every

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from repose_tf.eval.evaluate import predict, score

        logs = logs if logs is not None else {}
        step = current_step(self.model)
        logs["val_pck"] = float("nan")
        if step < min(self._next, self.stop.steps) or not math.isfinite(float(logs.get("loss", 0.0))):
            return
        self._next = (step // self.every + 1) * self.every
        predictions = predict(self._predictor, self.data, batch_size=self.batch_size, limit=self.limit, progress=False)
        scores = score(predictions, self.config.skeleton)
        means = [s.parts["Mean"] for s in scores.values()]
        logs["val_pck"] = float(np.nanmean(means))
        self.last = {name: s.parts["Mean"] for name, s in scores.items()}


class RestartDeadHeatmaps(keras.callbacks.Callback):
    """Restarts heatmap channels that died, at every epoch end (every checkpoint interval).

    A heatmap (p) block ends in a ReLU; once a channel's pre-activations are negative on every pixel, it
    outputs zeros and no gradient reaches it again, so its keypoint stays lost (one quickstart run on an AMX
    Xeon lost six of its fourteen final heatmaps so; ``docs/training.md``).  This callback runs the network
    on the first ``count`` validation crops (:mod:`repose_tf.eval.dead_heatmaps`); for every keypoint whose
    heatmap in some output is zero on all of them, the column of its p block that computes it starts again
    from the initialisation (kernel and bias drawn as at the start, Adam's moments of them zeroed), and
    ``say`` reports it.  ``restarts`` lists (step, output, keypoint) of every restart.
    """

    def __init__(self, config: RePoseConfig, data: str | Sequence[str], say: Callable[[str], None],
                 count: int = 16) -> None:
        super().__init__()
        self.config, self.data, self.say, self.count = config, data, say, count
        self._crops: np.ndarray | None = None
        self.restarts: list[tuple[int, str, str]] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        from repose_tf.eval.evaluate import predict, predictor_from_model

        predictor = predictor_from_model(self.model, self.config, "training")
        self._crops = predict(predictor, self.data, limit=self.count, keep_crops=self.count, progress=False).crops

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from repose_tf.eval.dead_heatmaps import dead_heatmaps

        if logs is not None and not math.isfinite(float(logs.get("loss", 0.0))):
            return
        dead = dead_heatmaps(self.model, self._crops, self.config.skeleton)
        if not dead:
            return
        step = current_step(self.model)
        for output, keypoints in dead.items():
            for keypoint in keypoints:
                self._restart(output, keypoint)
                self.restarts.append((step, output, keypoint))
        self.say(f"step {step}: restarted dead heatmaps (zero on every validation crop): "
                 + "; ".join(f"{output}: {', '.join(k)}" for output, k in dead.items()))

    def _restart(self, output: str, keypoint: str) -> None:
        """Column ``keypoint`` of the p block of ``output`` back to its initial distribution, its Adam moments 0."""
        from repose_tf.model.builder import P_INITIALIZERS, heatmap_block

        layer, column = heatmap_block(self.model, self.config, output, keypoint)
        kernel_init, bias_init = (keras.initializers.get(i) for i in P_INITIALIZERS[self.config.heatmap_init])
        fresh = {"kernel": np.asarray(kernel_init(tuple(layer.conv.kernel.shape))),
                 "bias": np.asarray(bias_init(tuple(layer.conv.bias.shape)))}
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        moments = [getattr(optimizer, name, None) for name in ("_momentums", "_velocities")]
        for name, variable in (("kernel", layer.conv.kernel), ("bias", layer.conv.bias)):
            for target, value in [(variable, fresh[name])] + [
                    (slots[optimizer._get_variable_index(variable)], np.zeros(variable.shape, np.float32))
                    for slots in moments if slots]:
                current = np.asarray(target.numpy())
                current[..., column] = value[..., column]
                target.assign(current)


class Checkpointer(keras.callbacks.Callback):
    """Write a checkpoint at every epoch end (every ``checkpoint_every`` steps) while the loss is finite.

    With ``stop``, its last step goes into the checkpoint's state as ``last_step`` (a run planned
    by :class:`TimeBudget` resumes towards the same end).
    """

    def __init__(self, writer: CheckpointWriter, guard: NaNGuard, stop: StopAtStep | None = None) -> None:
        super().__init__()
        self.writer = writer
        self.guard = guard
        self.stop = stop
        self.last_saved: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss = float(logs.get("loss", float("nan")))
        if self.guard.tripped is not None or not math.isfinite(loss) or not self.guard.check_weights():
            return
        step = current_step(self.model)
        state = {"learning_rate": current_learning_rate(self.model), "loss": loss}
        if self.stop is not None:
            state["last_step"] = self.stop.steps
        if math.isfinite(float(logs.get("val_pck", float("nan")))):
            state["val_pck"] = float(logs["val_pck"])
        self.writer.save(step, self.model, self.model.optimizer, state)
        self.last_saved = step


class HistoryCSV(keras.callbacks.Callback):
    """``history.csv``: one row per epoch end (checkpoint), ``step`` first.

    Columns: ``step``, ``learning_rate``, ``loss``, each output's ``<output>_loss``, then ``val_pck``
    only when the run validates (an empty cell in rows without a PCK).  Keras' ``CSVLogger``
    led with its ``epoch`` counter and added ``val_`` twins of every column, all NA, to runs
    without validation data.  A resumed run appends under the header already in the file.
    """

    FIRST = ("step", "learning_rate", "loss")

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._columns: list[str] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self._columns is None:
            self._columns = self._header()
            if self._columns is None:
                rest = sorted(k for k in logs if k not in self.FIRST and not k.startswith("val_"))
                self._columns = [*(k for k in self.FIRST if k in logs), *rest, *sorted(k for k in logs
                                                                                       if k.startswith("val_"))]
                self._append(self._columns)
        self._append([_cell(logs.get(column)) for column in self._columns])

    def _header(self) -> list[str] | None:
        if not self.path.is_file():
            return None
        with self.path.open(newline="") as f:
            return next(csv.reader(f), None) or None

    def _append(self, row: list[str]) -> None:
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow(row)


def _cell(value: object) -> str:
    """A CSV cell: the number, or empty for a missing or NaN value."""
    if value is None:
        return ""
    number = float(value)
    return "" if math.isnan(number) else repr(number) if not number.is_integer() else str(int(number))


class ProgressBar(keras.callbacks.Callback):
    """A tqdm bar over the whole run (not per epoch): step, ETA, loss, learning rate, last val_pck.

    Until the first step ends (tracing and compiling the step: a minute or more) it says
    "compiling the training step" instead of an ETA, and the rate and ETA count from the end of
    that first step, so they are not hours long while the graph is built.
    """

    COMPILING = "{desc}: {n_fmt}/{total_fmt} [{elapsed}, compiling the training step]"

    def __init__(self, stop: StopAtStep, enabled: bool = True) -> None:
        super().__init__()
        self.stop = stop  # its last step (which a TimeBudget may move) is the bar's total
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._postfix: dict[str, str] = {}
        self._compiling = True

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._compiling = True
        self._bar = tqdm(total=self.stop.steps, initial=current_step(self.model), desc="train", unit="step",
                         disable=not self.enabled, dynamic_ncols=True, bar_format=self.COMPILING)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = current_step(self.model)
        if self._compiling:
            # Measure the rate from here on: the first step's time is the compilation's.
            self._compiling = False
            self._bar.bar_format = None
            self._bar.initial = self._bar.n = self._bar.last_print_n = step
            self._bar.start_t = self._bar.last_print_t = time.time()
        if self._bar.total != self.stop.steps:
            self._bar.total = self.stop.steps
        self._bar.update(step - self._bar.n)
        if logs and "loss" in logs:
            self._postfix["loss"] = f"{float(logs['loss']):.3g}"
            self._postfix["lr"] = f"{current_learning_rate(self.model):.2g}"
            self._bar.set_postfix(self._postfix, refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get("val_pck", float("nan"))
        if math.isfinite(float(value)):
            self._postfix["val_pck"] = f"{float(value):.1f}"
            self._bar.set_postfix(self._postfix)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._bar.close()
