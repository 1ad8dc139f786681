"""Skeletons as data: sides from names, inferred flip pairs, the derived ordering, torso, dict form."""

from __future__ import annotations

import pytest

from repose_tf.skeleton import (
    BOTTOM_UP_ORDER,
    CENTER,
    COCO17,
    COCO17_ORDER,
    LEFT,
    LSP14,
    RIGHT,
    Skeleton,
    base_name,
    derive_ordering,
    infer_flip_pairs,
    mirror_name,
    side_of,
)

CHAIN = Skeleton("chain", ("a", "b", "c", "d", "e"), (("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")), ())


@pytest.mark.parametrize("name, side, base, mirror", [
    ("r_knee", RIGHT, "knee", "l_knee"),
    ("left_eye", LEFT, "eye", "right_eye"),
    ("LShoulder", LEFT, "shoulder", "RShoulder"),
    ("RIGHT_HIP", RIGHT, "hip", "LEFT_HIP"),
    ("leftEye", LEFT, "eye", "rightEye"),
    ("front_left_paw", LEFT, "front_paw", "front_right_paw"),
    ("lefthand", LEFT, "hand", "righthand"),
    ("neck", CENTER, "neck", None),
    ("rear_paw", CENTER, "rear_paw", None),
])
def test_sides_come_from_the_names(name: str, side: str, base: str, mirror: str | None) -> None:
    assert (side_of(name), base_name(name), mirror_name(name)) == (side, base, mirror)


def test_flip_pairs_are_inferred_from_left_and_right_names() -> None:
    assert set(infer_flip_pairs(LSP14.keypoints)) == set(LSP14.flip_pairs)
    assert infer_flip_pairs(("nose", "LEye", "REye", "tail", "left_paw")) == (("LEye", "REye"),)
    assert COCO17.flip_permutation[COCO17.index("left_eye")] == COCO17.index("right_eye")
    assert COCO17.flip_permutation[COCO17.index("nose")] == COCO17.index("nose")


def test_a_chain_is_ordered_from_its_middle_outwards() -> None:
    assert CHAIN.ordering == ("c", "b", "d", "a", "e")


def test_coco17_ordering_is_the_derived_one_and_starts_at_the_torso() -> None:
    assert derive_ordering(COCO17.keypoints, COCO17.edges, COCO17.flip_pairs) == COCO17_ORDER == COCO17.ordering
    assert COCO17_ORDER[:4] == ("right_shoulder", "left_shoulder", "right_hip", "left_hip")
    assert COCO17_ORDER[-4:] == ("right_wrist", "left_wrist", "right_ankle", "left_ankle")


def test_derived_ordering_moves_along_edges_with_right_before_left() -> None:
    for sk in (COCO17, LSP14.with_ordering(derive_ordering(LSP14.keypoints, LSP14.edges, LSP14.flip_pairs))):
        order = sk.ordering
        for i, name in enumerate(order[1:], 1):
            mirror = mirror_name(name)
            touches = {sk.keypoints[j] for j in sk.neighbours(sk.index(name))} & set(order[:i])
            assert touches or (side_of(name) == LEFT and order[i - 1] == mirror), name
            if side_of(name) == RIGHT:
                assert order[i + 1] == mirror, name
    # LSP14 keeps the paper's order; its graph alone would start at the shoulders.
    assert LSP14.ordering == BOTTOM_UP_ORDER
    assert derive_ordering(LSP14.keypoints, LSP14.edges, LSP14.flip_pairs)[:5] == (
        "r_shoulder", "l_shoulder", "r_hip", "l_hip", "neck")


def test_keypoints_without_edges_come_last_in_listed_order() -> None:
    assert derive_ordering(("x", "a", "b", "y"), (("a", "b"),)) == ("a", "b", "x", "y")


def test_torso_is_found_by_name() -> None:
    assert LSP14.torso == (LSP14.index("l_shoulder"), LSP14.index("r_hip"))
    assert COCO17.torso == (COCO17.index("left_shoulder"), COCO17.index("right_hip"))
    assert CHAIN.torso is None


def test_table_parts_default_to_one_column_per_keypoint() -> None:
    assert LSP14.table_parts == LSP14.parts
    assert CHAIN.table_parts == tuple((n, (n,)) for n in "abcde")


@pytest.mark.parametrize("skeleton", [LSP14, COCO17, CHAIN])
def test_dict_round_trip(skeleton: Skeleton) -> None:
    assert Skeleton.from_dict(skeleton.to_dict()) == skeleton


def test_a_hand_written_dict_gets_flip_pairs_ordering_and_parts() -> None:
    sk = Skeleton.from_dict({"name": "face", "keypoints": ["nose", "left_eye", "right_eye"],
                             "edges": [["nose", "left_eye"], ["nose", "right_eye"]],
                             "parts": {"Eye": ["left_eye", "right_eye"]}})
    assert sk.flip_pairs == (("left_eye", "right_eye"),)
    assert sk.ordering == ("nose", "right_eye", "left_eye")
    assert sk.parts == (("Eye", ("left_eye", "right_eye")),)


@pytest.mark.parametrize("d, message", [
    ({"name": "x", "keypoints": ["a"]}, r"missing key\(s\) \['edges'\]"),
    ({"name": "x", "keypoints": ["a"], "edges": [], "colour": 1}, r"unknown key\(s\) \['colour'\]"),
    ({"name": "x", "keypoints": "ab", "edges": []}, "keypoints must be a list of names"),
    ({"name": "x", "keypoints": ["a", "b"], "edges": [["a"]]}, "edges must be a list of name pairs"),
    ({"name": "x", "keypoints": ["a", "b"], "edges": [["a", "z"]]}, r"edge names unknown keypoint\(s\) \['z'\]"),
    ({"name": "x", "keypoints": ["a/b"], "edges": []}, "without '/'"),
    ({"name": "x", "keypoints": ["l_a", "r_a", "c"], "edges": [], "flip_pairs": [["l_a", "r_a"], ["r_a", "c"]]},
     "more than one flip pair"),
])
def test_bad_dicts_say_what_is_wrong(d: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Skeleton.from_dict(d)
