"""`repose predict`: JSON and overlay per image from each model form; bad images name the file."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from repose_tf.inference import load_predictor
from repose_tf.model.builder import build_model
from repose_tf.skeleton import LSP14
from repose_tf.train.checkpoints import CheckpointWriter
from tests.export.artifacts import encode, person_image, run_cli, saved_model, tflite
from tests.train.helpers import TEST_CONFIG


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    jpeg, _ = person_image()
    files = {
        "person.jpg": jpeg,
        "gray.png": encode(np.full((70, 50), 100, np.uint8), "PNG"),
        "rgba.png": encode(np.full((60, 60, 4), 200, np.uint8), "PNG"),
        "text.jpg": b"this is not an image",
        "cut.jpg": jpeg[: len(jpeg) // 3],
        "dot.png": encode(np.zeros((1, 1, 3), np.uint8), "PNG"),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base, _ = saved_model(tmp_path_factory)
    files, _ = tflite(tmp_path_factory)
    return {"saved_model": str(base), "tflite": str(files["fp16"])}


@pytest.mark.parametrize("form", ["saved_model", "tflite"])  # .keras: tests/test_inference.py
def test_json_and_overlay_per_image(form: str, models: dict[str, str], images: dict[str, Path], tmp_path: Path):
    inputs = [images["person.jpg"], images["gray.png"], images["rgba.png"]]
    run = run_cli(["predict", *map(str, inputs), "--model", models[form], "--out", str(tmp_path), "--no-progress"])
    assert run.code == 0 and run.stdout == f"model: {models[form]}\nwrote 3 prediction(s) to {tmp_path}\n"
    record = json.loads((tmp_path / "person.json").read_text())
    assert record["image"] == str(images["person.jpg"]) and (record["width"], record["height"]) == (96, 96)
    assert record["box"] is None and record["skeleton"] == "lsp14"
    assert [k["name"] for k in record["keypoints"]] == list(LSP14.keypoints)
    assert all(np.isfinite([k["x"], k["y"], k["score"]]).all() for k in record["keypoints"])
    assert json.loads((tmp_path / "gray.json").read_text())["width"] == 50
    with Image.open(tmp_path / "person.png") as overlay:
        assert overlay.size == (96, 96)


def test_one_box_for_all_or_one_per_image(models: dict[str, str], images: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture):
    person, gray = str(images["person.jpg"]), str(images["gray.png"])
    common = ["--model", models["saved_model"], "--out", str(tmp_path), "--no-overlay"]
    assert run_cli(["predict", person, gray, "--box", "5,5,40,50", *common]).code == 0
    assert json.loads((tmp_path / "gray.json").read_text())["box"] == [5, 5, 40, 50]
    assert not (tmp_path / "gray.png").exists()
    assert run_cli(["predict", person, gray, "--box", "0,0,90,90", "--box", "1,2,3,4", *common]).code == 2
    assert "gray.json exist(s) from an earlier run: pass --overwrite" in capsys.readouterr().err
    assert json.loads((tmp_path / "gray.json").read_text())["box"] == [5, 5, 40, 50]
    assert run_cli(["predict", person, gray, "--box", "0,0,90,90", "--box", "1,2,3,4", *common,
                    "--overwrite"]).code == 0
    assert json.loads((tmp_path / "gray.json").read_text())["box"] == [1, 2, 3, 4]
    with pytest.raises(SystemExit):
        run_cli(["predict", person, "--box", "1,2", *common])
    assert "is not x,y,w,h" in capsys.readouterr().err


@pytest.mark.parametrize("name, message", [
    ("text.jpg", "text.jpg: images[0] is neither a JPEG nor a PNG image"),
    ("cut.jpg", "cut.jpg: "),
    ("dot.png", "dot.png: images[0] is 1 x 1 pixels"),
])
def test_bad_image_names_the_file(name: str, message: str, models: dict[str, str], images: dict[str, Path],
                                  tmp_path: Path, capsys: pytest.CaptureFixture):
    run = run_cli(["predict", str(images[name]), "--model", models["saved_model"], "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert run.code == 2 and f"repose predict: error: {images[name].parent / message}" in err
    assert "Traceback" not in err


def test_box_outside_and_argument_errors(models: dict[str, str], images: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture):
    person = str(images["person.jpg"])
    common = ["--model", models["saved_model"], "--out", str(tmp_path)]
    assert run_cli(["predict", person, "--box", "500,500,10,10", *common]).code == 2
    assert "boxes[0] = [500 500 10 10] (x, y, w, h) lies outside the 96 x 96 image" in capsys.readouterr().err
    assert run_cli(["predict", person, person, "--box", "1,1,5,5", "--box", "1,1,5,5", "--box", "1,1,5,5",
                    *common]).code == 2
    assert "3 --box for 2 images" in capsys.readouterr().err
    assert run_cli(["predict", str(tmp_path / "none.jpg"), *common]).code == 2
    assert "none.jpg: no such image file" in capsys.readouterr().err
    # A box reaching past the left and top edges: negative numbers are values, not options.
    assert run_cli(["predict", person, "--box", "-10,-5,80,90", *common, "--no-overlay"]).code == 0
    assert json.loads((tmp_path / "person.json").read_text())["box"] == [-10, -5, 80, 90]


def test_a_training_run_directory_predicts_with_its_newest_checkpoint(images: dict[str, Path], tmp_path: Path):
    model = build_model(TEST_CONFIG)
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    writer = CheckpointWriter(tmp_path / "run" / "checkpoints", TEST_CONFIG)
    writer.save(5, build_model(TEST_CONFIG), optimizer)
    writer.save(10, model, optimizer)
    model.save(tmp_path / "same.keras")
    person = images["person.jpg"]
    assert run_cli(["predict", str(person), "--model", str(tmp_path / "run"), "--out", str(tmp_path),
                    "--no-overlay", "--precision", "float32"]).code == 0
    written = json.loads((tmp_path / "person.json").read_text())
    expected = load_predictor(tmp_path / "same.keras", config=TEST_CONFIG).predict_images([person.read_bytes()])
    assert written["format"] == "keras"
    np.testing.assert_allclose([[k["x"], k["y"]] for k in written["keypoints"]], expected.keypoints[0], atol=0.01)


def test_outputs_never_replace_an_input_or_a_file(models: dict[str, str], images: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture):
    photo = tmp_path / "photo.png"
    photo.write_bytes(images["gray.png"].read_bytes())
    before = photo.read_bytes()
    for extra in ([], ["--overwrite"]):
        assert run_cli(["predict", str(photo), "--model", models["saved_model"], "--out", str(tmp_path),
                        *extra]).code == 2
        assert "photo.png is an input image and would be replaced by an output" in capsys.readouterr().err
        assert photo.read_bytes() == before and not (tmp_path / "photo.json").exists()
    assert run_cli(["predict", str(photo), "--model", models["saved_model"], "--out", str(photo)]).code == 2
    assert f"--out {photo}: is a file; give a folder" in capsys.readouterr().err


def test_exif_orientation_is_applied(models: dict[str, str], tmp_path: Path):
    # Stored 80 wide x 40 tall, left half red; Orientation 6: a viewer turns it 90 degrees clockwise.
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, :40, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif)
    assert run_cli(["predict", str(tmp_path / "phone.jpg"), "--model", models["saved_model"],
                    "--out", str(tmp_path / "out")]).code == 0
    record = json.loads((tmp_path / "out" / "phone.json").read_text())
    assert (record["width"], record["height"]) == (40, 80)
    with Image.open(tmp_path / "out" / "phone.png") as overlay:
        assert overlay.size == (40, 80)


def test_overlay_of_a_large_image_is_downscaled(models: dict[str, str], tmp_path: Path):
    Image.new("RGB", (2600, 400), (90, 90, 90)).save(tmp_path / "wide.png")
    assert run_cli(["predict", str(tmp_path / "wide.png"), "--model", models["saved_model"],
                    "--out", str(tmp_path / "out")]).code == 0
    assert json.loads((tmp_path / "out" / "wide.json").read_text())["width"] == 2600  # full-size pixels
    with Image.open(tmp_path / "out" / "wide.png") as overlay:
        assert max(overlay.size) <= 2048
