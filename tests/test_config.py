"""Config validation and presets."""

from __future__ import annotations

import pytest

from repose_tf.config import PAPER_COMPLEXITY, PRESETS, RePoseConfig, get_config
from repose_tf.skeleton import BOTTOM_UP_ORDER, LSP14, Skeleton


def test_every_paper_figure_has_a_preset() -> None:
    assert set(PAPER_COMPLEXITY) <= set(PRESETS)
    for name in ("repose_add", "repose_replace", "repose_sequential", "repose_topdown", "unet", "tiny"):
        assert name in PRESETS


def test_unknown_preset() -> None:
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        get_config("nope")


@pytest.mark.parametrize("changes, message", [
    ({"ordering": BOTTOM_UP_ORDER[:-1] + ("nose",)}, "unknown keypoint.*nose"),
    ({"ordering": BOTTOM_UP_ORDER[:-1]}, "misses keypoint.*head"),
    ({"input_size": 96}, "power of 2"),
    ({"input_size": 100}, "power of 2"),
    ({"coarsest": 128}, "must be below the input size"),
    ({"coarsest": 256}, "must be below the input size"),
    ({"update_strategy": "mean"}, "update_strategy"),
    ({"width": 0}, "width must be a positive integer"),
    ({"heatmap_init": "zeros"}, "heatmap_init must be one of"),
])
def test_bad_config_raises_value_error_naming_the_problem(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RePoseConfig(**changes)


def test_self_edge_is_rejected() -> None:
    with pytest.raises(ValueError, match="self-edge"):
        Skeleton("bad", ("a", "b"), (("a", "a"),), (), ("a", "b"))


def test_custom_keypoint_set() -> None:
    sk = Skeleton("arm", ("shoulder", "elbow", "wrist"), (("shoulder", "elbow"), ("elbow", "wrist")), (),
                  ("shoulder", "elbow", "wrist"))
    cfg = RePoseConfig(name="arm", skeleton=sk, ordering=sk.ordering)
    assert cfg.num_keypoints == 3
    assert sk.neighbours(1) == (0, 2)


def test_dict_round_trip() -> None:
    cfg = get_config("repose_topdown")
    assert RePoseConfig.from_dict(cfg.to_dict()) == cfg
    assert RePoseConfig.from_dict({"name": "x", "skeleton": "lsp14"}).skeleton == LSP14
