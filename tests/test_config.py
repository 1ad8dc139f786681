"""Config validation and presets."""

from __future__ import annotations

import json

import pytest

from repose_tf.config import PAPER_COMPLEXITY, PRESETS, RePoseConfig, get_config
from repose_tf.skeleton import BOTTOM_UP_ORDER, COCO17, LSP14, TOP_DOWN_ORDER, Skeleton


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


def test_a_custom_skeleton_needs_its_ordering_once_or_not_at_all() -> None:
    given = Skeleton("arm", ("shoulder", "elbow", "wrist"), (("shoulder", "elbow"), ("elbow", "wrist")), (),
                     ("shoulder", "elbow", "wrist"))
    assert RePoseConfig(skeleton=given).update_order == ("shoulder", "elbow", "wrist")
    derived = Skeleton("arm", given.keypoints, given.edges, ())
    assert RePoseConfig(skeleton=derived).update_order == ("elbow", "shoulder", "wrist")
    coco = get_config("tiny").replace(skeleton=COCO17)
    assert coco.update_order == COCO17.ordering and coco.num_keypoints == 17
    with pytest.raises(ValueError, match="unknown keypoint"):
        get_config("repose_topdown").replace(skeleton=COCO17)  # its own ordering names LSP keypoints


def test_an_ordering_equal_to_the_skeletons_is_the_default() -> None:
    written_before = {**get_config("tiny").to_dict(), "ordering": list(BOTTOM_UP_ORDER)}
    assert RePoseConfig.from_dict(written_before) == get_config("tiny")
    assert RePoseConfig(ordering=BOTTOM_UP_ORDER).ordering is None
    assert get_config("repose_topdown").update_order == TOP_DOWN_ORDER


def test_a_custom_skeleton_round_trips_through_json() -> None:
    cfg = get_config("tiny").replace(skeleton=COCO17)
    assert RePoseConfig.from_dict(json.loads(cfg.to_json())) == cfg
