"""``repose_tf.data.scan``: usable records counted, truncated shards and undecodable records found and named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from repose_tf.data.scan import SHOWN_BAD, expected_records, scan, scan_file
from repose_tf.data.shards import write_shards
from repose_tf.data.synthetic import generate_people
from repose_tf.skeleton import LSP14
from tests.train.helpers import write_people


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.fixture()
def shards(tmp_path: Path) -> list[Path]:
    write_people(tmp_path, "train", 8, 0, dataset="people")  # two shards of four records
    return sorted(tmp_path.glob("people-train-*.tfrecord"))


def test_intact_shards_are_all_usable_and_match_their_sidecar(shards: list[Path]) -> None:
    result = scan([str(p) for p in shards], LSP14, progress=False)
    assert [(f.readable, f.usable, f.expected, f.framing_error) for f in result.files] == [(4, 4, 4, None)] * 2
    assert (result.total, result.usable, result.lost, result.problems()) == (8, 8, 0, [])
    assert result.summary() == "8 records in 2 file(s), all readable"


def test_a_truncated_shard_loses_its_tail_and_the_sidecar_says_how_much(shards: list[Path]) -> None:
    truncate(shards[0])
    result = scan([str(p) for p in shards], LSP14, progress=False)
    cut = result.files[0]
    assert cut.readable < 4 and cut.framing_error
    assert (cut.total, cut.lost) == (4, 4 - cut.readable)
    assert result.lost == 4 - cut.readable and result.lost_fraction == pytest.approx(result.lost / 8)
    [line] = result.problems()
    assert line.startswith(f"{shards[0]}: unreadable after record {cut.readable} (truncated or corrupt file")
    assert line.endswith(f"{4 - cut.readable} records lost")
    assert result.to_dict()["damaged_files"][0]["file"] == str(shards[0])


def test_without_a_sidecar_a_truncated_shard_counts_at_least_one_lost_record(shards: list[Path]) -> None:
    (shards[0].parent / "people-train.json").unlink()
    truncate(shards[0])
    cut = scan_file(str(shards[0]), LSP14)
    assert cut.expected is None and cut.lost == 1
    assert "how many records were lost is unknown" in cut.problems()[0]


def test_undecodable_images_are_counted_and_the_first_ones_named(tmp_path: Path) -> None:
    people = list(generate_people(6, 1, 96))
    broken = {1, 2, 3, 5}
    garbage = {"image_bytes": b"\xff\xd8 not a jpeg"}
    people = [dataclasses.replace(p, dataset="broken", **(garbage if i in broken else {})) for i, p in enumerate(people)]
    write_shards(people, tmp_path, "broken", "train", records_per_shard=6, progress=False)
    [path] = tmp_path.glob("broken-train-*.tfrecord")
    result = scan_file(str(path), LSP14)
    assert (result.readable, result.usable, result.lost, result.framing_error) == (6, 2, 4, None)
    assert [i for i, _ in result.bad] == sorted(broken)[:SHOWN_BAD]
    assert all(reason and reason != "decodes when read alone" for _, reason in result.bad)
    assert result.problems() == [f"{path}: 4 record(s) do not decode ("
                                 + "; ".join(f"record {i}: {r}" for i, r in result.bad) + ")"]


def test_expected_records_needs_a_sidecar_that_lists_the_file(shards: list[Path], tmp_path: Path) -> None:
    assert expected_records(str(shards[1])) == 4
    assert expected_records(str(tmp_path / "people-train-00009-of-00010.tfrecord")) is None
    assert expected_records(str(tmp_path / "loose.tfrecord")) is None
    (tmp_path / "people-train.json").write_text("{not json")
    assert expected_records(str(shards[1])) is None
