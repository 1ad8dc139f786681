"""Learning-rate schedules, as functions of the optimizer step.

``paper``: the recipe of the paper (Sec. 4, "Training"): Adam at 1e-3, 5e-4 from step 1M,
1e-6 from step 1.3M, stop at 2M.  For a run of ``steps`` steps the boundaries scale by
``steps / 2M`` and the rates by ``base / 1e-3``, so ``--steps 20000`` drops at 10k and 13k.

``cosine``: linear warm-up to the base rate, then a half cosine down to
``final_fraction * base`` at the last step.  Short runs (the quickstart) reach a better model
with it than with the paper's schedule, whose last 35 % run at a thousandth of the base rate.
Its last step is a variable (:class:`WarmupCosine`): a run planned by time
(:class:`repose_tf.train.callbacks.TimeBudget`) moves it once the step time is measured, without
retracing the training step.
"""

from __future__ import annotations

import math

import keras
from keras import ops

PAPER_STEPS = 2_000_000
PAPER_BOUNDARIES = (1_000_000, 1_300_000)
PAPER_RATES = (1e-3, 5e-4, 1e-6)
SCHEDULES = ("paper", "cosine")


def paper_schedule(steps: int = PAPER_STEPS,
                   base_rate: float = PAPER_RATES[0]) -> keras.optimizers.schedules.LearningRateSchedule:
    """The paper's piecewise-constant schedule, scaled to ``steps`` and ``base_rate``."""
    _check(steps, base_rate)
    boundaries = [max(1, round(b * steps / PAPER_STEPS)) for b in PAPER_BOUNDARIES]
    rates = [r * base_rate / PAPER_RATES[0] for r in PAPER_RATES]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, rates)


@keras.saving.register_keras_serializable(package="repose_tf")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``base_rate`` over ``warmup_steps``, then a half cosine down to
    ``final_fraction * base_rate`` at ``total_steps`` (held after it); Keras' ``CosineDecay``
    with its warm-up, except that the last step is a float32 variable (:meth:`set_total_steps`).
    """

    def __init__(self, base_rate: float, total_steps: int, warmup_steps: int = 0, final_fraction: float = 0.01) -> None:
        _check_cosine(total_steps, base_rate, warmup_steps, final_fraction)
        self.base_rate = float(base_rate)
        self.warmup_steps = int(warmup_steps)
        self.final_fraction = float(final_fraction)
        self.total_steps = keras.Variable(float(total_steps), dtype="float32", trainable=False,
                                          name="schedule_total_steps")

    def set_total_steps(self, steps: int) -> None:
        """Move the last step (kept after the warm-up); takes effect in traced training steps too."""
        self.total_steps.assign(float(max(int(steps), self.warmup_steps + 1)))

    def __call__(self, step: int) -> keras.KerasTensor:
        step = ops.cast(step, "float32")
        warmup = float(self.warmup_steps)
        progress = ops.clip((step - warmup) / ops.maximum(self.total_steps - warmup, 1.0), 0.0, 1.0)
        cosine = self.final_fraction + (1.0 - self.final_fraction) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        warming = self.base_rate * step / max(warmup, 1.0)
        return ops.where(step < warmup, warming, self.base_rate * cosine)

    def get_config(self) -> dict:
        return {"base_rate": self.base_rate, "total_steps": int(self.total_steps.numpy()),
                "warmup_steps": self.warmup_steps, "final_fraction": self.final_fraction}


def cosine_schedule(steps: int, base_rate: float, warmup_steps: int = 0,
                    final_fraction: float = 0.01) -> WarmupCosine:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``final_fraction * base_rate`` at ``steps``."""
    return WarmupCosine(base_rate, steps, warmup_steps, final_fraction)


def check_schedule(name: str, steps: int, base_rate: float, warmup_steps: int = 0) -> None:
    """The checks of :func:`make_schedule`, without making one (ValueError)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of {SCHEDULES}")
    if name == "cosine":
        _check_cosine(steps, base_rate, warmup_steps)
    else:
        _check(steps, base_rate)


def make_schedule(name: str, steps: int, base_rate: float,
                  warmup_steps: int = 0) -> keras.optimizers.schedules.LearningRateSchedule:
    """A schedule by name: "paper" or "cosine" (``warmup_steps`` applies to "cosine")."""
    if name == "paper":
        return paper_schedule(steps, base_rate)
    if name == "cosine":
        return cosine_schedule(steps, base_rate, warmup_steps)
    raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of {SCHEDULES}")


def _check_cosine(steps: int, base_rate: float, warmup_steps: int, final_fraction: float = 0.01) -> None:
    _check(steps, base_rate)
    if not 0 <= warmup_steps < steps:
        raise ValueError(f"warmup_steps must be in [0, steps={steps}), got {warmup_steps}")
    if not 0 <= final_fraction <= 1:
        raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")


def _check(steps: int, base_rate: float) -> None:
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not base_rate > 0:
        raise ValueError(f"the learning rate must be positive, got {base_rate}")
