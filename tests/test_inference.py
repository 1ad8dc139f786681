"""repose_tf.inference: the same keypoints from every model form; bad input as InputError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repose_tf.inference import (
    InputError,
    KerasPredictor,
    SavedModelPredictor,
    TFLitePredictor,
    load_keras_model,
    load_predictor,
)
from tests.export.artifacts import (
    SIZE,
    encode,
    keras_file,
    person_image,
    saved_model,
    tflite,
)

K = 14


@pytest.fixture(scope="module")
def predictors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base, _ = saved_model(tmp_path_factory)
    files, _ = tflite(tmp_path_factory)
    return {"keras": load_predictor(keras_file(tmp_path_factory)), "saved_model": load_predictor(base),
            "tflite": load_predictor(files["fp32"])}


def test_load_predictor_picks_the_form(predictors: dict[str, object]):
    assert isinstance(predictors["keras"], KerasPredictor)
    assert isinstance(predictors["saved_model"], SavedModelPredictor)
    assert isinstance(predictors["tflite"], TFLitePredictor)
    for p in predictors.values():
        assert p.input_size == SIZE and p.skeleton.num_keypoints == K


def test_every_form_gives_the_same_keypoints_in_image_pixels(predictors: dict[str, object]):
    jpeg, _ = person_image()
    gray = encode(np.linspace(0, 255, 60 * 80, dtype=np.uint8).reshape(60, 80), "PNG")
    boxes = [[8, 4, 70, 88], [10, 0, 50, 60]]
    results = {name: p.predict_images([jpeg, gray], boxes) for name, p in predictors.items()}
    reference = results["saved_model"]
    assert reference.keypoints.shape == (2, K, 2) and reference.heatmaps is None
    for name, result in results.items():
        # Same heatmaps; DARK may break near-ties of the untrained model differently in TFLite.
        error = np.linalg.norm(result.keypoints - reference.keypoints, axis=-1)
        assert np.mean(error < 1e-2) >= 0.9, (name, np.sort(error.ravel())[-5:])
        np.testing.assert_allclose(result.scores, reference.scores, atol=1e-4)


def test_keypoints_follow_the_box(predictors: dict[str, object]):
    """Shifting image and box together shifts the keypoints by the same amount."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (80, 80, 3), np.uint8)
    shifted = np.zeros((100, 110, 3), np.uint8)
    shifted[20:100, 30:110] = image
    p = predictors["saved_model"]
    a = p.predict_images([encode(image, "PNG")], [[10, 10, 50, 60]]).keypoints
    b = p.predict_images([encode(shifted, "PNG")], [[40, 30, 50, 60]]).keypoints
    np.testing.assert_allclose(b - a, np.broadcast_to([30, 20], a.shape), atol=1e-3)


def test_predict_crops_returns_heatmaps(predictors: dict[str, object]):
    crops = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3))
    for p in predictors.values():
        out = p.predict_crops(crops)
        assert out.keypoints.shape == (2, K, 2) and out.heatmaps.shape == (2, SIZE, SIZE, K)


@pytest.mark.parametrize("form", ["keras", "saved_model", "tflite"])
def test_bad_input_is_input_error(predictors: dict[str, object], form: str):
    p = predictors[form]
    with pytest.raises(InputError, match=r"images\[0\] is neither a JPEG nor a PNG"):
        p.predict_images([b"plain text"])
    with pytest.raises(InputError, match=r"boxes\[0\] .* lies outside"):
        p.predict_images([encode(np.zeros((40, 40, 3), np.uint8))], [[100, 100, 5, 5]])
    with pytest.raises(InputError, match=r"crops must be \(N, 64, 64, 3\)"):
        p.predict_crops(np.zeros((1, 20, 20, 3)))
    with pytest.raises(InputError, match="not encoded image bytes"):
        p.predict_images(["photo.jpg"])
    with pytest.raises(InputError, match="boxes must be"):
        p.predict_images([b"x"], [["a", "b", "c", "d"]])


def test_load_errors(tmp_path: Path):
    with pytest.raises(ValueError, match="expected a pretrained model .*, a .keras file or a preset name"):
        load_keras_model(tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_predictor(tmp_path / "missing.keras")
    with pytest.raises(FileNotFoundError, match="no saved_model.pb"):
        load_predictor(tmp_path)
    (tmp_path / "m.tflite").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="metadata of m.tflite is missing"):
        load_predictor(tmp_path / "m.tflite")


def test_exif_orientation_turns_photos_upright() -> None:
    import io

    from PIL import Image

    from repose_tf.inference import apply_exif_orientation

    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, :40, 0] = 255  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: the left half ends on top
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif)
    upright = np.asarray(Image.open(io.BytesIO(apply_exif_orientation(buffer.getvalue()))).convert("RGB"))
    assert upright.shape == (80, 40, 3)
    assert upright[:30, :, 0].mean() > 200 and upright[50:, :, 0].mean() < 50
    plain = encode(pixels)
    assert apply_exif_orientation(plain) is plain
    assert apply_exif_orientation(b"not an image") == b"not an image"


def test_keras_models_compute_in_bfloat16_when_asked_or_when_auto_finds_it(monkeypatch: pytest.MonkeyPatch):
    import repose_tf.export.saved_model as saved_model_module
    from repose_tf.hardware import PrecisionChoice

    jpeg, _ = person_image(2, 128)
    exact = load_predictor("lsp-small")
    fast = load_predictor("lsp-small", precision="bfloat16")
    assert (exact.precision, fast.precision) == ("float32", "bfloat16")
    # Within bfloat16's rounding: 0.5 crop pixels (64 px crops of a 128 px image: 1 image pixel).
    np.testing.assert_allclose(fast.predict_images([jpeg]).keypoints, exact.predict_images([jpeg]).keypoints, atol=1.0)
    assert fast.predict_crops(np.zeros((1, 64, 64, 3), np.float32)).heatmaps.dtype == np.float32
    monkeypatch.setattr(saved_model_module, "auto_precision", lambda: PrecisionChoice("float32", "no bf16 here"))
    assert load_predictor("lsp-small", precision="auto").precision == "float32"
    monkeypatch.setattr(saved_model_module, "auto_precision", lambda: PrecisionChoice("bfloat16", "bf16 here"))
    assert load_predictor("lsp-small", precision="auto").precision == "bfloat16"
