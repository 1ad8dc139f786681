"""Learning-rate schedules, as functions of the optimizer step.

``paper``: the recipe of the paper (Sec. 4, "Training"): Adam at 1e-3, 5e-4 from step 1M,
1e-6 from step 1.3M, stop at 2M.  For a run of ``steps`` steps the boundaries scale by
``steps / 2M`` and the rates by ``base / 1e-3``, so ``--steps 20000`` drops at 10k and 13k.

``cosine``: linear warm-up to the base rate, then a half cosine down to
``final_fraction * base`` at the last step.  Short runs (the quickstart) reach a better model
with it than with the paper's schedule, whose last 35 % run at a thousandth of the base rate.
"""

from __future__ import annotations

import keras

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


def cosine_schedule(steps: int, base_rate: float, warmup_steps: int = 0,
                    final_fraction: float = 0.01) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``final_fraction * base_rate`` at ``steps``."""
    _check(steps, base_rate)
    if not 0 <= warmup_steps < steps:
        raise ValueError(f"warmup_steps must be in [0, steps={steps}), got {warmup_steps}")
    if not 0 <= final_fraction <= 1:
        raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(base_rate, steps, alpha=final_fraction)
    return keras.optimizers.schedules.CosineDecay(
        0.0, steps - warmup_steps, alpha=final_fraction, warmup_target=base_rate, warmup_steps=warmup_steps)


def make_schedule(name: str, steps: int, base_rate: float,
                  warmup_steps: int = 0) -> keras.optimizers.schedules.LearningRateSchedule:
    """A schedule by name: "paper" or "cosine" (``warmup_steps`` applies to "cosine")."""
    if name == "paper":
        return paper_schedule(steps, base_rate)
    if name == "cosine":
        return cosine_schedule(steps, base_rate, warmup_steps)
    raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of {SCHEDULES}")


def _check(steps: int, base_rate: float) -> None:
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not base_rate > 0:
        raise ValueError(f"the learning rate must be positive, got {base_rate}")
