"""``repose convert`` end to end on the real annotation files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from repose_tf.cli import main
from repose_tf.data.records import PersonRecord
from repose_tf.data.shards import read_records
from tests.data.test_convert_lsp import write_standin


def _lspet_args(shared_data: Path, out: Path, *extra: str) -> list[str]:
    root = shared_data / "lspet"
    return ["convert", "lspet", "--joints", str(root / "joints.mat"), "--images", str(root / "images"),
            "--out", str(out), "--no-progress", *extra]


def test_lspet(shared_data: Path, tmp_path: Path, capsys):
    assert main(_lspet_args(shared_data, tmp_path, "--limit", "3", "--workers", "2")) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"lspet-train: wrote 3 record(s) in 1 shard(s) -> {tmp_path}/lspet-train-*.tfrecord"
    assert len(list(read_records(tmp_path, "lspet", "train"))) == 3


def test_lspet_validation_slice(shared_data: Path, tmp_path: Path, capsys):
    assert main(_lspet_args(shared_data, tmp_path, "--limit", "2", "--val", "29-30")) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"lspet-train: wrote 2 record(s) in 1 shard(s) -> {tmp_path}/lspet-train-*.tfrecord",
        f"lspet-val: wrote 2 record(s) in 1 shard(s) -> {tmp_path}/lspet-val-*.tfrecord"]
    for bad in ("30-29", "0-5", "8501", "a-b"):
        with pytest.raises(SystemExit) as e:
            main(_lspet_args(shared_data, tmp_path / "bad", "--val", bad))
        assert e.value.code == 2
        assert "--val: " in capsys.readouterr().err


def test_missing_image_is_skipped_or_fatal_with_strict(shared_data: Path, tmp_path: Path, capsys, caplog):
    assert main(_lspet_args(shared_data, tmp_path / "lenient", "--limit", "31")) == 0
    assert "wrote 30 record(s) in 1 shard(s), skipped 1 {'missing_image': 1}" in capsys.readouterr().out
    assert "im00031.jpg: person 30: image not found" in caplog.text
    assert main(_lspet_args(shared_data, tmp_path / "strict", "--limit", "31", "--strict")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"repose convert: error: {shared_data / 'lspet' / 'images' / 'im00031.jpg'}: person 30: "
                   "image not found"]
    assert not any((tmp_path / "strict").iterdir())


def test_lsp_test_split_only(shared_data: Path, tmp_path: Path, capsys):
    joints = scipy.io.loadmat(shared_data / "lsp" / "joints.mat")["joints"]
    for i in (1000, 1001):
        write_standin(tmp_path / "images" / f"im{i + 1:04d}.jpg", (int(joints[0, :, i].max()) + 20,
                                                                   int(joints[1, :, i].max()) + 20))
    args = ["convert", "lsp", "--joints", str(shared_data / "lsp" / "joints.mat"), "--images",
            str(tmp_path / "images"), "--out", str(tmp_path / "out"), "--split", "test", "--limit", "2",
            "--no-progress"]
    assert main(args) == 0
    assert "lsp-test: wrote 2 record(s)" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["lsp-test-00000-of-00001.tfrecord",
                                                                    "lsp-test.json"]


def test_mpii_with_head_boxes(shared_data: Path, tmp_path: Path, capsys):
    mpii = shared_data / "mpii"
    args = ["convert", "mpii", "--annotations", str(mpii / "valid_sample.json"), "--images", str(mpii / "images"),
            "--out", str(tmp_path), "--gt-mat", str(mpii / "gt_valid.mat"), "--limit", "2", "--no-progress",
            "--records-per-shard", "1"]
    assert main(args) == 0
    assert "mpii-valid: wrote 2 record(s) in 2 shard(s)" in capsys.readouterr().out
    assert [int(r["has_head_box"]) for r in read_records(tmp_path, "mpii", "valid")] == [1, 1]


def test_malformed_annotation_file_is_a_one_line_error(tmp_path: Path, capsys):
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": np.zeros((3, 14, 10))})
    args = ["convert", "lspet", "--joints", str(tmp_path / "joints.mat"), "--images", str(tmp_path),
            "--out", str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"repose convert: error: {tmp_path / 'joints.mat'}: joints has shape (3, 14, 10) and dtype "
                   "float64, expected numeric (14, 3, 10000)"]


def test_bad_storage_option_is_a_user_error(shared_data: Path, tmp_path: Path, capsys):
    assert main(_lspet_args(shared_data, tmp_path, "--crop-margin", "0")) == 2
    assert "crop margin must be > 0" in capsys.readouterr().err


def test_limit_must_be_positive(shared_data: Path, tmp_path: Path):
    with pytest.raises(SystemExit) as exc:
        main(_lspet_args(shared_data, tmp_path, "--limit", "0"))
    assert exc.value.code == 2


def test_synthetic_uses_the_generator_and_the_writer(tmp_path: Path, monkeypatch, capsys):
    calls = []

    def generate_people(count: int, seed: int, image_size: int = 192, *, workers: int = 1) -> Iterator[PersonRecord]:
        calls.append((count, seed, image_size, workers))
        for i in range(count):
            yield PersonRecord(image_bytes=b"jpeg", height=image_size, width=image_size, dataset="synthetic",
                               image_id=f"synthetic-{seed}-{i}", person_index=i, skeleton="lsp14",
                               keypoints=np.zeros((14, 2)), annotated=np.ones(14), visible=np.ones(14),
                               center=np.full(2, image_size / 2), scale=image_size / 200)

    monkeypatch.setitem(sys.modules, "repose_tf.data.synthetic",
                        types.SimpleNamespace(generate_people=generate_people))
    args = ["convert", "synthetic", "--count", "3", "--seed", "5", "--image-size", "64", "--out", str(tmp_path),
            "--no-progress", "--workers", "2"]
    assert main(args) == 0
    assert calls == [(3, 5, 64, 2)]
    assert "synthetic-train: wrote 3 record(s) in 1 shard(s)" in capsys.readouterr().out
    ids = [r["image/id"].decode() for r in read_records(tmp_path, "synthetic", "train")]
    assert ids == ["synthetic-5-0", "synthetic-5-1", "synthetic-5-2"]
    sidecar = json.loads((tmp_path / "synthetic-train.json").read_text())
    assert sidecar["sources"] == {"generator": "repose_tf.data.synthetic.generate_people", "count": 3,
                                  "seed": 5, "image_size": 64}


def test_reruns_in_other_processes_write_the_same_bytes(tmp_path: Path):
    # Protobuf's map order follows the process's hash seed unless records serialize deterministically.
    code = "import sys; from repose_tf.cli import main; sys.exit(main(sys.argv[1:]))"
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", code, "convert", "synthetic", "--count", "3", "--workers", "1",
                        "--out", str(tmp_path / seed), "--no-progress"], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
    first, second = (sorted((p.name, p.read_bytes()) for p in (tmp_path / seed).iterdir()) for seed in ("1", "2"))
    assert [name for name, _ in first] == ["synthetic-train-00000-of-00001.tfrecord", "synthetic-train.json"]
    assert first == second
