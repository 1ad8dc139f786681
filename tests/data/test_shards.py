"""The shard writer: naming, distribution, sidecar, atomicity, idempotence."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from repose_tf.data.records import SCHEMA_VERSION, PersonRecord
from repose_tf.data.shards import (
    LOGGED_SKIPS,
    SCHEMA_CONVENTIONS,
    Skipped,
    list_shards,
    read_records,
    records_skeleton,
    sidecar_path,
    write_shards,
)
from repose_tf.skeleton import LSP14, Skeleton

K = LSP14.num_keypoints


def _record(i: int, dataset: str = "toy", skeleton: str = "lsp14") -> PersonRecord:
    return PersonRecord(
        image_bytes=f"image {i}".encode(), height=8, width=8, dataset=dataset, image_id=f"im{i}",
        person_index=i, skeleton=skeleton, keypoints=np.full((K, 2), float(i)),
        annotated=np.ones(K), visible=np.zeros(K), center=np.array([4.0, 4.0]), scale=0.04)


def _ids(out: Path, dataset: str = "toy", split: str = "train") -> list[str]:
    return [r["image/id"].decode() for r in read_records(out, dataset, split)]


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_records_per_shard_fills_shards_in_order(tmp_path: Path):
    summary = write_shards((_record(i) for i in range(5)), tmp_path, "toy", "train",
                           records_per_shard=2, progress=False, metadata={"sources": {"x": 1}})
    names = [f"toy-train-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert [p.name for p in list_shards(tmp_path, "toy", "train")] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == names + ["toy-train.json"]
    assert _ids(tmp_path) == [f"im{i}" for i in range(5)]
    first = next(read_records(tmp_path, "toy", "train"))
    np.testing.assert_array_equal(first["keypoints"], np.zeros((K, 2)))
    sidecar = json.loads(sidecar_path(tmp_path, "toy", "train").read_text())
    assert sidecar == summary
    assert sidecar["schema_version"] == SCHEMA_VERSION
    assert sidecar["skeleton"] == "lsp14" and sidecar["keypoints"] == list(LSP14.keypoints)
    assert sidecar["counts"] == {"written": 5, "skipped": 0, "skipped_by_reason": {}}
    assert sidecar["shards"] == [{"file": n, "records": c} for n, c in zip(names, (2, 2, 1))]
    assert sidecar["sources"] == {"x": 1}
    assert sidecar["conventions"] == SCHEMA_CONVENTIONS


def test_num_shards_deals_records_round_robin_and_may_leave_shards_empty(tmp_path: Path):
    write_shards((_record(i) for i in range(5)), tmp_path, "toy", "train", num_shards=2, progress=False)
    shards = list_shards(tmp_path, "toy", "train")
    assert [p.name for p in shards] == ["toy-train-00000-of-00002.tfrecord", "toy-train-00001-of-00002.tfrecord"]
    assert _ids(tmp_path) == ["im0", "im2", "im4", "im1", "im3"]
    write_shards([_record(0)], tmp_path / "few", "toy", "train", num_shards=3, progress=False)
    sizes = [p.stat().st_size for p in list_shards(tmp_path / "few", "toy", "train")]
    assert len(sizes) == 3 and sizes[0] > 0 and sizes[1:] == [0, 0]


def test_skipped_items_are_counted_listed_and_logged(tmp_path: Path, caplog):
    items = [_record(0), Skipped("missing_image", "a.jpg", 1, "image not found"), _record(2),
             Skipped("nan_coordinates", "joints.mat", 3, "non-finite coordinates"),
             Skipped("missing_image", "b.jpg", 4, "image not found")]
    with caplog.at_level(logging.WARNING, logger="repose_tf.data.shards"):
        summary = write_shards(items, tmp_path, "toy", "train", progress=False)
    assert summary["counts"] == {"written": 2, "skipped": 3,
                                 "skipped_by_reason": {"missing_image": 2, "nan_coordinates": 1}}
    assert summary["skipped"][1] == {"reason": "nan_coordinates", "file": "joints.mat", "index": 3,
                                     "detail": "non-finite coordinates"}
    assert "a.jpg: person 1: image not found" in caplog.text
    assert _ids(tmp_path) == ["im0", "im2"]


def test_many_skips_are_summarised(tmp_path: Path, caplog):
    items = [_record(0), *(Skipped("missing_image", f"im{i}.jpg", i, "image not found") for i in range(1, 1001))]
    with caplog.at_level(logging.WARNING, logger="repose_tf.data.shards"):
        summary = write_shards(items, tmp_path, "toy", "train", progress=False)
    assert summary["counts"]["skipped_by_reason"] == {"missing_image": 1000} and len(summary["skipped"]) == 1000
    assert [r.getMessage() for r in caplog.records] == [
        *(f"skipped im{i}.jpg: person {i}: image not found" for i in range(1, LOGGED_SKIPS + 1)),
        f"skipped {1000 - LOGGED_SKIPS} more for missing_image (each is listed in the sidecar)"]


def test_rerun_gives_same_bytes_and_removes_stale_shards(tmp_path: Path):
    write_shards((_record(i) for i in range(5)), tmp_path, "toy", "train", records_per_shard=2, progress=False)
    write_shards([_record(9)], tmp_path, "toy", "test", progress=False)
    first = _files(tmp_path)
    write_shards((_record(i) for i in range(5)), tmp_path, "toy", "train", records_per_shard=2, progress=False)
    assert _files(tmp_path) == first
    write_shards((_record(i) for i in range(5)), tmp_path, "toy", "train", records_per_shard=5, progress=False)
    assert sorted(_files(tmp_path)) == ["toy-test-00000-of-00001.tfrecord", "toy-test.json",
                                        "toy-train-00000-of-00001.tfrecord", "toy-train.json"]
    assert _ids(tmp_path) == [f"im{i}" for i in range(5)]
    assert _files(tmp_path)["toy-test.json"] == first["toy-test.json"]


def test_failure_midway_keeps_previous_output_and_leaves_no_temp_files(tmp_path: Path):
    write_shards((_record(i) for i in range(3)), tmp_path, "toy", "train", progress=False)
    before = _files(tmp_path)

    def failing() -> Iterator[PersonRecord]:
        yield _record(7)
        raise RuntimeError("bad input")

    with pytest.raises(RuntimeError, match="bad input"):
        write_shards(failing(), tmp_path, "toy", "train", progress=False)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("kwargs, items, message", [
    ({"dataset": "to-y"}, [_record(0)], "letters, digits"),
    ({"split": "a/b"}, [_record(0)], "letters, digits"),
    ({}, [_record(0, dataset="other")], "dataset 'other'"),
    ({}, [_record(0, skeleton="mpii16")], "skeleton 'mpii16'"),
    ({"num_shards": 2, "records_per_shard": 2}, [_record(0)], "not both"),
    ({"num_shards": 0}, [_record(0)], "num_shards"),
    ({"metadata": {"counts": 1}}, [_record(0)], "own keys"),
    ({}, [Skipped("missing_image", "a.jpg", 0, "image not found")], "no record to write"),
])
def test_bad_calls_raise_and_write_nothing(tmp_path: Path, kwargs: dict, items: list, message: str):
    args = {"dataset": "toy", "split": "train", **kwargs}
    with pytest.raises(ValueError, match=message):
        write_shards(items, tmp_path / "out", progress=False, **args)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_sidecar_defines_the_skeleton_and_training_reads_it_back(tmp_path: Path):
    arm = Skeleton("arm", ("shoulder", "elbow", "wrist"), (("shoulder", "elbow"), ("elbow", "wrist")), ())
    people = (dataclasses.replace(_record(i, "arm", "arm"), keypoints=np.zeros((3, 2)), annotated=np.ones(3),
                                  visible=np.ones(3)) for i in range(3))
    summary = write_shards(people, tmp_path, "arm", "train", skeleton=arm, num_shards=2, progress=False)
    assert Skeleton.from_dict(summary["skeleton_definition"]) == arm
    shards = [str(p) for p in list_shards(tmp_path, "arm", "train")]
    assert records_skeleton(shards) == arm
    assert records_skeleton([str(tmp_path / "elsewhere.tfrecord")]) is None  # no sidecar to read

    write_shards((_record(i) for i in range(2)), tmp_path, "toy", "train", progress=False)
    old = json.loads(sidecar_path(tmp_path, "toy", "train").read_text())
    del old["skeleton_definition"]  # as written before sidecars defined the skeleton
    sidecar_path(tmp_path, "toy", "train").write_text(json.dumps(old))
    toy = [str(p) for p in list_shards(tmp_path, "toy", "train")]
    assert records_skeleton(toy) == LSP14
    with pytest.raises(ValueError, match=r"the shards use different skeletons: .*arm-train.json: 'arm' \(3 keypoints\)"):
        records_skeleton(shards + toy)
    sidecar_path(tmp_path, "toy", "train").write_text("{")
    with pytest.raises(ValueError, match=r"toy-train.json: not a sidecar that gives the records' skeleton"):
        records_skeleton(toy)


def test_a_person_box_is_stored_only_when_known(tmp_path: Path):
    import tensorflow as tf

    from repose_tf.data.records import parse, serialize

    plain = _record(0)
    boxed = dataclasses.replace(plain, person_box=np.array([1.0, 2.0, 7.0, 6.5]))
    assert "person_box" not in tf.train.Example.FromString(serialize(plain)).features.feature
    assert parse(tf.constant(serialize(plain)), K)["person_box"].numpy().shape == (0,)
    np.testing.assert_array_equal(parse(tf.constant(serialize(boxed)), K)["person_box"].numpy(), [1, 2, 7, 6.5])
