"""``repose convert coco``: COCO keypoint JSON -> records, the category's skeleton, and bad files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from repose_tf.cli import main
from repose_tf.data.convert import InputError
from repose_tf.data.convert.coco import convert_coco
from repose_tf.data.convert.common import ConvertOptions
from repose_tf.data.shards import read_records, records_skeleton
from repose_tf.skeleton import COCO17, Skeleton
from tests.data.coco_people import CATEGORY, write_coco_people

QUIET = ConvertOptions(progress=False, workers=1)


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Four synthetic people (plus a crowd and an empty annotation on images 0 and 3) as COCO JSON."""
    root = tmp_path_factory.mktemp("coco")
    return root, write_coco_people(root, "person_keypoints_train2017", 4, seed=3)


def _variant(people: tuple[Path, dict], tmp_path: Path, change) -> Path:
    """A copy of the people's JSON in ``tmp_path``, edited by ``change(content)``."""
    content = json.loads(json.dumps(people[1]))
    change(content)
    path = tmp_path / "person_keypoints_train.json"
    path.write_text(json.dumps(content))
    return path


def test_records_hold_the_annotations_in_pixel_centres(people: tuple[Path, dict], tmp_path: Path) -> None:
    root, content = people
    sidecar = convert_coco(root / "person_keypoints_train2017.json", root / "images", tmp_path, options=QUIET)
    assert (sidecar["dataset"], sidecar["split"], sidecar["skeleton"]) == ("coco", "train", "coco17")
    assert sidecar["counts"]["written"] == 4
    assert sidecar["selection"] == {"category": "person", "annotations": 8, "other_categories": 0, "crowd": 2,
                                    "no_keypoints": 2, "people": 4}
    assert records_skeleton(sorted(str(p) for p in tmp_path.glob("coco-train-*.tfrecord"))) == COCO17
    annotations = [a for a in content["annotations"] if any(a["keypoints"][2::3])]
    records = list(read_records(tmp_path, "coco", "train", COCO17))
    for ann, rec in zip(annotations, records, strict=True):
        values = np.reshape(ann["keypoints"], (17, 3))
        offset, scale = rec["source/offset"], rec["source/scale"]
        source = rec["keypoints"] * scale + offset
        labelled = values[:, 2] > 0
        np.testing.assert_allclose(source[labelled], values[labelled, :2] - 0.5, atol=1e-3)
        np.testing.assert_array_equal(rec["annotated"], labelled)
        np.testing.assert_array_equal(rec["visible"], values[:, 2] == 2)
        x, y, w, h = ann["bbox"]
        np.testing.assert_allclose(rec["center"] * scale + offset, [x + w / 2 - 0.5, y + h / 2 - 0.5], atol=1e-3)
        assert rec["scale"] * scale == pytest.approx(1.25 * max(w, h) / 200, rel=1e-5)
        np.testing.assert_allclose(rec["person_box"] * scale + np.tile(offset, 2),
                                   [x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5], atol=1e-3)
        assert rec["person/index"] == content["annotations"].index(ann)
        assert rec["skeleton"] == b"coco17"


def test_a_custom_category_brings_its_skeleton(people: tuple[Path, dict], tmp_path: Path) -> None:
    """Five arm keypoints: edges from the 1-based skeleton, flip pairs from the names, the derived order."""
    names = ["shoulder", "elbow", "wrist", "left_finger", "right_finger"]

    def arm(content: dict) -> None:
        content["categories"] = [{"id": 7, "name": "arm", "keypoints": names, "skeleton": [[1, 2], [2, 3], [3, 4],
                                                                                           [3, 5]]},
                                 {"id": 1, "name": "person"}]
        for ann in content["annotations"]:
            ann["category_id"] = 7
            ann["keypoints"] = ann["keypoints"][5 * 3:10 * 3]  # shoulders and elbows stand in for the arm

    path = _variant(people, tmp_path, arm)
    sidecar = convert_coco(path, people[0] / "images", tmp_path / "out", options=QUIET)
    expected = Skeleton("arm", tuple(names), (("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "left_finger"),
                                              ("wrist", "right_finger")), (("left_finger", "right_finger"),))
    assert Skeleton.from_dict(sidecar["skeleton_definition"]) == expected
    assert expected.ordering == ("wrist", "elbow", "right_finger", "left_finger", "shoulder")
    assert len(list(read_records(tmp_path / "out", "coco", "train", expected))) == 4


def test_a_skeleton_given_must_name_the_same_keypoints(people: tuple[Path, dict], tmp_path: Path) -> None:
    root = people[0]
    renamed = Skeleton("mine", ("head",) + COCO17.keypoints[1:], (), ())
    with pytest.raises(InputError, match=r"category 'person' has keypoints \['nose', .*skeleton 'mine' has "
                                         r"\['head', .*the same names in the same order"):
        convert_coco(root / "person_keypoints_train2017.json", root / "images", tmp_path, skeleton=renamed,
                     options=QUIET)
    mine = Skeleton("mine", COCO17.keypoints, COCO17.edges[:4], COCO17.flip_pairs)
    sidecar = convert_coco(root / "person_keypoints_train2017.json", root / "images", tmp_path, skeleton=mine,
                           split="mine", options=QUIET)
    assert Skeleton.from_dict(sidecar["skeleton_definition"]) == mine
    assert sidecar["skeleton"] == "mine" and sidecar["split"] == "mine"


def test_limit_split_name_and_an_image_of_another_size(people: tuple[Path, dict], tmp_path: Path) -> None:
    root = people[0]
    path = _variant(people, tmp_path, lambda c: c["images"][1].update(width=97))
    sidecar = convert_coco(path, root / "images", tmp_path / "out", limit=2, options=QUIET)
    assert sidecar["counts"]["written"] == 1 and sidecar["selection"]["people"] == 2
    (skip,) = sidecar["skipped"]
    assert skip["reason"] == "image_size_mismatch" and skip["file"].endswith("person_keypoints_train2017-1.jpg")
    assert skip["detail"] == f"the image is 96x96, {path} says 97x96"


def test_rerun_writes_the_same_bytes(people: tuple[Path, dict], tmp_path: Path) -> None:
    root = people[0]
    args = ["convert", "coco", "--annotations", str(root / "person_keypoints_train2017.json"),
            "--images", str(root / "images"), "--out", str(tmp_path), "--no-progress", "--dataset", "people"]
    assert main(args) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(args) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first
    assert sorted(first) == ["people-train-00000-of-00001.tfrecord", "people-train.json"]


def _no_categories(c: dict) -> None:
    del c["categories"]


def _short_keypoints(c: dict) -> None:
    c["annotations"][3]["keypoints"] = c["annotations"][3]["keypoints"][:-1]


def _unknown_image(c: dict) -> None:
    c["annotations"][3]["image_id"] = 99


def _missing_image(c: dict) -> None:
    c["images"][1]["file_name"] = "gone.jpg"


def _nan(c: dict) -> None:
    c["annotations"][3]["keypoints"][15] = math.nan  # keypoint 5, x


def _negative(c: dict) -> None:
    c["annotations"][3]["keypoints"][16] = -4.0  # keypoint 5, y


@pytest.mark.parametrize("change, message, skip_reason", [
    (_no_categories, "{json}: no 'categories' list of JSON objects; not a COCO keypoint file", None),
    (_short_keypoints, "{json}: annotation 3 (id 4): keypoints has 50 values, expected 3 x 17 = 51", None),
    (_unknown_image, "{json}: annotation 3 (id 4): image_id 99 has no entry in images", None),
    (_missing_image, "{images}/gone.jpg: person 3: image not found", "missing_image"),
    (_nan, "{json}: person 3: non-finite coordinates at keypoint(s) [5]", "nan_coordinates"),
    (_negative, "{json}: person 3: annotation id 4: negative coordinates at keypoint(s) [5]", "negative_coordinates"),
], ids=["no categories", "keypoints of the wrong length", "image id without image", "missing image file", "NaN",
        "negative"])
def test_bad_files_name_file_and_index_and_write_nothing(people: tuple[Path, dict], tmp_path: Path, change,
                                                          message: str, skip_reason: str | None,
                                                          capsys: pytest.CaptureFixture) -> None:
    """A fault of the file stops the conversion; a fault of one person is skipped, or stops it with --strict.

    Either way the error is one line naming the file and the index, and a stopped conversion leaves no file.
    """
    images = people[0] / "images"
    path = _variant(people, tmp_path, change)
    message = message.format(json=path, images=images)
    args = ["convert", "coco", "--annotations", str(path), "--images", str(images), "--no-progress"]
    if skip_reason is not None:
        assert main([*args, "--out", str(tmp_path / "lenient")]) == 0
        sidecar = json.loads((tmp_path / "lenient" / "coco-train.json").read_text())
        assert sidecar["counts"]["skipped_by_reason"] == {skip_reason: 1}
        assert f"{sidecar['skipped'][0]['file']}: person 3: {sidecar['skipped'][0]['detail']}" == message
        capsys.readouterr()
        args.append("--strict")
    assert main([*args, "--out", str(tmp_path / "records")]) == 2
    err = capsys.readouterr().err
    assert err == f"repose convert: error: {message}\n"
    assert not (tmp_path / "records").exists() or not any((tmp_path / "records").iterdir())


def test_the_category_to_convert(people: tuple[Path, dict], tmp_path: Path) -> None:
    root = people[0]

    def two(content: dict) -> None:
        content["categories"].append({**CATEGORY, "id": 2, "name": "robot"})

    path = _variant(people, tmp_path, two)
    with pytest.raises(InputError, match=r"2 categories have keypoints \(\['person', 'robot'\]\); choose one"):
        convert_coco(path, root / "images", tmp_path, options=QUIET)
    with pytest.raises(InputError, match=r"no category 'dog' with keypoints"):
        convert_coco(path, root / "images", tmp_path, category="dog", options=QUIET)
    with pytest.raises(InputError, match=r"no annotation of category 'robot' labels a keypoint .*'other_categories': 8"):
        convert_coco(path, root / "images", tmp_path, category="robot", options=QUIET)
    assert convert_coco(path, root / "images", tmp_path, category="person", options=QUIET)["counts"]["written"] == 4
