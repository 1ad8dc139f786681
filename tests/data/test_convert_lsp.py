"""LSP and LSPET converters on the real joints.mat files (stand-in LSP images, real LSPET images)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from repose_tf.data.convert import InputError
from repose_tf.data.convert.common import ConvertOptions
from repose_tf.data.convert.images import StorageOptions
from repose_tf.data.convert.lsp import convert_lsp, convert_lspet
from repose_tf.data.shards import read_records

LIMIT = 4
MARK_RADIUS = 6
QUIET = ConvertOptions(progress=False, workers=2)


def write_standin(path: Path, size: tuple[int, int], marks: Sequence[Sequence[float]] = ()) -> None:
    """A gray JPEG of ``size`` (w, h) with a white disk at each 0-based (x, y) of ``marks``."""
    ys, xs = np.mgrid[:size[1], :size[0]]
    pixels = np.full((size[1], size[0], 3), 40, np.uint8)
    for x, y in marks:
        pixels[(xs - x) ** 2 + (ys - y) ** 2 <= MARK_RADIUS ** 2] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=95)


def to_source(rec: dict, xy: np.ndarray) -> np.ndarray:
    """Stored pixels -> source pixels through the record's source_offset / source_scale."""
    return np.asarray(xy, np.float64) * float(rec["source/scale"]) + rec["source/offset"].astype(np.float64)


def mark_centroid(rec: dict) -> np.ndarray:
    """Source-pixel position of the bright disk in the record's stored image."""
    pixels = np.asarray(Image.open(io.BytesIO(rec["image/encoded"])).convert("L"), np.float64)
    assert pixels.shape == (rec["image/height"], rec["image/width"])
    weight = np.clip(pixels - 128.0, 0.0, None)
    ys, xs = np.mgrid[:pixels.shape[0], :pixels.shape[1]]
    return to_source(rec, [(weight * xs).sum() / weight.sum(), (weight * ys).sum() / weight.sum()])


@pytest.fixture(scope="module")
def lsp_joints(shared_data: Path) -> np.ndarray:
    """(2000, 14, 3): x, y (1-based), flag per image and joint."""
    return scipy.io.loadmat(shared_data / "lsp" / "joints.mat")["joints"].transpose(2, 1, 0)


@pytest.fixture(scope="module")
def lsp_images(tmp_path_factory, lsp_joints: np.ndarray) -> Path:
    """Stand-in images for the first LIMIT images of each split, marked at the head top."""
    folder = tmp_path_factory.mktemp("lsp_images")
    for i in [*range(LIMIT), *range(1000, 1000 + LIMIT)]:
        xy = lsp_joints[i, :, :2] - 1.0
        size = (int(xy[:, 0].max()) + 25, int(xy[:, 1].max()) + 15)
        write_standin(folder / f"im{i + 1:04d}.jpg", size, [xy[13]])
    return folder


@pytest.mark.parametrize("storage", [
    StorageOptions(),
    StorageOptions(crop_margin=1.0, max_box_px=64),
    StorageOptions(source_bytes=True),
], ids=["default", "crop_and_downscale", "source_bytes"])
def test_lsp_records_map_back_to_the_annotations(shared_data: Path, lsp_joints: np.ndarray, lsp_images: Path,
                                                 tmp_path: Path, storage: StorageOptions):
    joints_mat = shared_data / "lsp" / "joints.mat"
    options = ConvertOptions(storage=storage, progress=False, workers=2)
    summaries = convert_lsp(joints_mat, lsp_images, tmp_path, limit=LIMIT, options=options)
    assert [(s["split"], s["counts"]["written"]) for s in summaries] == [("train", LIMIT), ("test", LIMIT)]
    downscaled = 0
    for split, first in (("train", 0), ("test", 1000)):
        records = list(read_records(tmp_path, "lsp", split))
        for i, rec in zip(range(first, first + LIMIT), records, strict=True):
            name = f"im{i + 1:04d}.jpg"
            source = Image.open(lsp_images / name)
            assert rec["image/id"].decode() == name and rec["person/index"] == i
            assert rec["dataset"] == b"lsp" and rec["skeleton"] == b"lsp14"
            assert (rec["image/source_width"], rec["image/source_height"]) == source.size
            expected = lsp_joints[i, :, :2] - 1.0
            np.testing.assert_allclose(to_source(rec, rec["keypoints"]), expected, rtol=0, atol=1e-4)
            np.testing.assert_array_equal(rec["annotated"], np.ones(14))
            np.testing.assert_array_equal(rec["visible"], lsp_joints[i, :, 2] == 0)
            np.testing.assert_allclose(mark_centroid(rec), expected[13], atol=0.5)
            center, scale = to_source(rec, rec["center"]), rec["scale"] * rec["source/scale"]
            if split == "train":
                lo, hi = expected.min(axis=0), expected.max(axis=0)
                np.testing.assert_allclose(center, (lo + hi) / 2, atol=1e-4)
                assert scale == pytest.approx(1.25 * (hi - lo).max() / 200, rel=1e-6)
            else:
                w, h = source.size
                np.testing.assert_allclose(center, [(w - 1) / 2, (h - 1) / 2], atol=1e-4)
                assert scale == pytest.approx(max(w, h) / 200, rel=1e-6)
            assert rec["has_head_box"] == 0 and rec["extra/joints"].size == 0
            whole = rec["image/width"] == source.width and rec["image/height"] == source.height
            if storage.source_bytes or (split == "test" and storage == StorageOptions()):
                assert whole and rec["image/encoded"] == (lsp_images / name).read_bytes()
            downscaled += rec["source/scale"] > 1
    assert downscaled == (2 * LIMIT if storage.max_box_px == 64 else 0)


def test_lsp_sidecar(shared_data: Path, lsp_images: Path, tmp_path: Path):
    joints_mat = shared_data / "lsp" / "joints.mat"
    (summary,) = convert_lsp(joints_mat, lsp_images, tmp_path, splits=("test",), limit=2, options=QUIET)
    sidecar = json.loads((tmp_path / "lsp-test.json").read_text())
    assert sidecar == summary
    assert sidecar["dataset"] == "lsp" and sidecar["split"] == "test" and sidecar["skeleton"] == "lsp14"
    assert sidecar["counts"] == {"written": 2, "skipped": 0, "skipped_by_reason": {}}
    assert sidecar["sources"] == {"joints": str(joints_mat.resolve()), "images": str(lsp_images.resolve()),
                                  "limit": 2}
    assert sidecar["conventions"]["visible"] == "joints.mat flag == 0"
    assert "max(w, h) / 200" in sidecar["conventions"]["center_scale"]
    assert sidecar["storage"]["mode"] == "crop" and sidecar["storage"]["crop_margin"] == 2.0
    assert not (tmp_path / "lsp-train.json").exists()


def test_lspet_real_images(shared_data: Path, tmp_path: Path):
    root = shared_data / "lspet"
    joints = scipy.io.loadmat(root / "joints.mat")["joints"].transpose(2, 0, 1)
    [summary] = convert_lspet(root / "joints.mat", root / "images", tmp_path, limit=30, options=QUIET)
    assert summary["counts"]["written"] == 30 and summary["split"] == "train"
    cropped = 0
    for i, rec in enumerate(read_records(tmp_path, "lspet", "train")):
        flag = joints[i, :, 2] == 1
        np.testing.assert_array_equal(rec["annotated"], flag)
        np.testing.assert_array_equal(rec["visible"], flag)
        np.testing.assert_allclose(to_source(rec, rec["keypoints"][flag]), joints[i, flag, :2] - 1.0,
                                   rtol=0, atol=1e-4)
        np.testing.assert_array_equal(rec["keypoints"][~flag], 0.0)
        # The stored pixels are the source's at the mapped position: a 1 px shift fits much worse.
        assert rec["source/scale"] == 1.0
        x0, y0 = rec["source/offset"].astype(int) + 1
        source = np.asarray(Image.open(root / "images" / f"im{i + 1:05d}.jpg").convert("RGB"), np.float64)
        stored = np.asarray(Image.open(io.BytesIO(rec["image/encoded"])).convert("RGB"), np.float64)
        padded = np.pad(source, ((1, 1), (1, 1), (0, 0)), mode="edge")
        h, w = stored.shape[:2]
        error = {(dx, dy): np.abs(stored - padded[y0 + dy:y0 + dy + h, x0 + dx:x0 + dx + w]).mean()
                 for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))}
        assert error.pop((0, 0)) < 0.7 * min(error.values())
        cropped += stored.shape != source.shape
    assert cropped > 0


def test_lspet_validation_slice_is_held_out_of_train(shared_data: Path, tmp_path: Path):
    root = shared_data / "lspet"
    train, val = convert_lspet(root / "joints.mat", root / "images", tmp_path, limit=20, options=QUIET,
                               val=range(20, 30))
    assert (train["split"], train["counts"]["written"]) == ("train", 20)
    assert (val["split"], val["counts"]["written"]) == ("val", 10)
    assert val["sources"]["val_images"] == [21, 30]
    ids = {split: [r["image/id"].decode() for r in read_records(tmp_path, "lspet", split)]
           for split in ("train", "val")}
    assert ids["train"] == [f"im{i:05d}.jpg" for i in range(1, 21)]
    assert ids["val"] == [f"im{i:05d}.jpg" for i in range(21, 31)]
    with pytest.raises(InputError, match="within 1-10000, got 9991-10010"):
        convert_lspet(root / "joints.mat", root / "images", tmp_path / "bad", options=QUIET, val=range(9990, 10010))


def test_rerun_is_idempotent_and_leaves_no_temp_files(shared_data: Path, tmp_path: Path):
    root = shared_data / "lspet"
    convert_lspet(root / "joints.mat", root / "images", tmp_path, limit=6, options=QUIET)
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    convert_lspet(root / "joints.mat", root / "images", tmp_path, limit=6,
                  options=ConvertOptions(progress=False, workers=1))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first
    assert sorted(first) == ["lspet-train-00000-of-00001.tfrecord", "lspet-train.json"]


@pytest.fixture()
def bad_lspet(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """joints.mat with NaN in person 0 and no labelled joint in person 1; images 3-5 missing,
    corrupt, truncated; images 1, 2 and 6 real."""
    root = shared_data / "lspet"
    joints = scipy.io.loadmat(root / "joints.mat")["joints"]
    joints[4, 0, 0] = np.nan
    joints[:, 2, 1] = 0
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    images = tmp_path / "images"
    images.mkdir()
    for i in (1, 2, 6):
        (images / f"im{i:05d}.jpg").write_bytes((root / "images" / f"im{i:05d}.jpg").read_bytes())
    (images / "im00004.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    data = (root / "images" / "im00005.jpg").read_bytes()
    (images / "im00005.jpg").write_bytes(data[: len(data) // 2])
    return tmp_path / "joints.mat", images


def test_bad_people_and_images_are_skipped_and_reported(bad_lspet: tuple[Path, Path], tmp_path: Path):
    joints_mat, images = bad_lspet
    [summary] = convert_lspet(joints_mat, images, tmp_path / "out", limit=6, options=QUIET)
    assert summary["counts"] == {"written": 1, "skipped": 5, "skipped_by_reason": {
        "missing_image": 1, "nan_coordinates": 1, "no_annotated_keypoints": 1, "unreadable_image": 2}}
    got = [(s["reason"], Path(s["file"]).name, s["index"]) for s in summary["skipped"]]
    assert got == [("nan_coordinates", "joints.mat", 0), ("no_annotated_keypoints", "joints.mat", 1),
                   ("missing_image", "im00003.jpg", 2), ("unreadable_image", "im00004.jpg", 3),
                   ("unreadable_image", "im00005.jpg", 4)]
    assert "keypoint(s) [4]" in summary["skipped"][0]["detail"]
    assert [r["image/id"] for r in read_records(tmp_path / "out", "lspet", "train")] == [b"im00006.jpg"]


def test_strict_mode_stops_at_the_first_bad_person(bad_lspet: tuple[Path, Path], tmp_path: Path):
    joints_mat, images = bad_lspet
    strict = ConvertOptions(strict=True, progress=False)
    with pytest.raises(InputError, match=r"joints\.mat: person 0: non-finite coordinates"):
        convert_lspet(joints_mat, images, tmp_path / "out", limit=6, options=strict)
    assert not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("variables, message", [
    ({"joints": np.zeros((3, 14, 10))}, r"shape \(3, 14, 10\).*expected numeric \(3, 14, 2000\)"),
    ({"points": np.zeros((3, 14, 2000))}, r"no variable 'joints' \(found \['points'\]\)"),
    ({"joints": np.full((3, 14, 2000), 2.0)}, "person 0, joint 0: flag 2.0 is neither 0 nor 1"),
])
def test_malformed_joints_mat_is_fatal(tmp_path: Path, lsp_images: Path, variables: dict, message: str):
    scipy.io.savemat(tmp_path / "joints.mat", variables)
    with pytest.raises(InputError, match=message):
        convert_lsp(tmp_path / "joints.mat", lsp_images, tmp_path / "out", limit=2, options=QUIET)


def test_lspet_file_given_as_lsp_is_fatal(shared_data: Path, lsp_images: Path, tmp_path: Path):
    with pytest.raises(InputError, match=r"shape \(14, 3, 10000\)"):
        convert_lsp(shared_data / "lspet" / "joints.mat", lsp_images, tmp_path, limit=2, options=QUIET)
