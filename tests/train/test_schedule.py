"""Learning-rate schedules: the paper's, scaled to shorter runs, and the cosine one."""

from __future__ import annotations

import pytest

from repose_tf.train.schedule import cosine_schedule, make_schedule, paper_schedule


def _rate(schedule, step: int) -> float:
    return float(schedule(step))


def test_paper_schedule_at_full_length() -> None:
    s = paper_schedule()
    assert _rate(s, 0) == pytest.approx(1e-3)
    assert _rate(s, 1_000_000) == pytest.approx(1e-3)  # drops *after* the boundary step
    assert _rate(s, 1_000_001) == pytest.approx(5e-4)
    assert _rate(s, 1_300_001) == pytest.approx(1e-6)
    assert _rate(s, 1_999_999) == pytest.approx(1e-6)


def test_paper_schedule_scales_with_steps_and_rate() -> None:
    s = paper_schedule(20_000, base_rate=2e-3)
    assert _rate(s, 9_999) == pytest.approx(2e-3)
    assert _rate(s, 10_001) == pytest.approx(1e-3)
    assert _rate(s, 13_001) == pytest.approx(2e-6)


def test_cosine_schedule_warms_up_then_decays() -> None:
    s = cosine_schedule(1000, 1e-3, warmup_steps=100, final_fraction=0.01)
    assert _rate(s, 0) == pytest.approx(0.0)
    assert _rate(s, 50) == pytest.approx(5e-4)
    assert _rate(s, 100) == pytest.approx(1e-3)
    assert _rate(s, 550) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5), rel=1e-3)
    assert _rate(s, 1000) == pytest.approx(1e-5, rel=1e-3)


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "step"}, "unknown learning-rate schedule"),
    ({"name": "cosine", "warmup_steps": 10}, "warmup_steps"),
    ({"name": "paper", "base_rate": 0.0}, "positive"),
])
def test_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"name": "paper", "steps": 10, "base_rate": 1e-3, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_schedule(args["name"], args["steps"], args["base_rate"], args.get("warmup_steps", 0))
