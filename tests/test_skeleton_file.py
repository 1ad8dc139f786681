"""``--skeleton``: a preset's name or a JSON file; a bad file is named in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repose_tf.skeleton import COCO17, Skeleton
from repose_tf.skeleton_file import load_skeleton

ARM = {"name": "arm", "keypoints": ["shoulder", "elbow", "wrist", "left_finger", "right_finger"],
       "edges": [["shoulder", "elbow"], ["elbow", "wrist"], ["wrist", "left_finger"], ["wrist", "right_finger"]],
       "parts": {"Arm": ["shoulder", "elbow", "wrist"], "Finger": ["left_finger", "right_finger"]}}


def test_a_preset_by_name() -> None:
    assert load_skeleton("coco17") is COCO17


def test_a_file_with_what_it_leaves_out_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "arm.json"
    path.write_text(json.dumps(ARM))
    sk = load_skeleton(path)
    assert sk.keypoints == tuple(ARM["keypoints"]) and sk.flip_pairs == (("left_finger", "right_finger"),)
    # The wrist is the graph's centre (it touches three keypoints); the fingers go together, right first.
    assert sk.ordering == ("wrist", "elbow", "right_finger", "left_finger", "shoulder")
    assert load_skeleton(str(path)) == Skeleton.from_dict(sk.to_dict()) == sk


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable JSON file"),
    (json.dumps({**ARM, "edges": [["shoulder", "hand"]]}), r"edge names unknown keypoint\(s\) \['hand'\]"),
    (json.dumps([ARM]), "a skeleton is a JSON object"),
])
def test_bad_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "body.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        load_skeleton(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_neither_a_preset_nor_a_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'coco18' is neither a preset .* nor a file"):
        load_skeleton("coco18")
