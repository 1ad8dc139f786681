"""SavedModel export: versioned layout, signatures via saved_model_cli, warm-up, equality check, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

import repose_tf.export.saved_model as saved_model_module
from repose_tf.export.crops import CropOptions
from repose_tf.export.metadata import SAVED_MODEL_METADATA, ExportMetadata, config_of
from repose_tf.export.saved_model import (
    WARMUP_FILE,
    ExportError,
    check_export,
    export_saved_model,
    next_version,
    resolve_version_dir,
)
from repose_tf.skeleton import LSP14
from tests.export.artifacts import MODEL_NAME, SIZE, keras_file, saved_model

K = LSP14.num_keypoints


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base, run = saved_model(tmp_path_factory)
    assert run.code == 0, run.stdout
    return base


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> keras.Model:
    import repose_tf.model.layers  # noqa: F401  (registers the layers of the .keras file)

    return keras.saving.load_model(keras_file(tmp_path_factory), compile=False)


def saved_model_cli(*args: str) -> subprocess.CompletedProcess:
    script = "import sys; from tensorflow.python.tools.saved_model_cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)


def test_layout_is_versioned_with_models_config_and_metadata(exported: Path):
    assert sorted(p.name for p in exported.iterdir()) == ["1", "models.config"]
    version = exported / "1"
    assert (version / "saved_model.pb").is_file() and (version / WARMUP_FILE).is_file()
    config = text_format.Parse((exported / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    (entry,) = config.model_config_list.config
    assert (entry.name, entry.base_path, entry.model_platform) == (MODEL_NAME, f"/models/{MODEL_NAME}", "tensorflow")
    meta = json.loads((version / SAVED_MODEL_METADATA).read_text())
    assert meta["input_size"] == SIZE and meta["keypoints"] == list(LSP14.keypoints)
    assert meta["crop"]["box_margin"] == 1.25 and meta["decode_method"] == "dark"
    assert ExportMetadata.read(version / SAVED_MODEL_METADATA).config.name == "tiny"
    assert next_version(exported) == 2 and resolve_version_dir(exported) == version


def test_an_existing_version_is_never_overwritten(exported: Path, model: keras.Model):
    with pytest.raises(FileExistsError, match="exists already"):
        export_saved_model(model, exported, version=1)
    assert sorted(p.name for p in exported.iterdir()) == ["1", "models.config"]


def test_without_the_serving_api_the_model_is_exported_and_the_extras_are_named(
        model: keras.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(saved_model_module, "serving_api_installed", lambda: False)
    result = export_saved_model(model, tmp_path / "repose")
    assert (result.path / "saved_model.pb").is_file() and not (result.path / WARMUP_FILE).exists()
    assert not (tmp_path / "repose" / "models.config").exists()
    assert "tensorflow-serving-api is not installed" in result.skipped and "--no-deps" in result.skipped


def test_next_version_follows_the_highest_numeric_directory(tmp_path: Path):
    assert next_version(tmp_path / "missing") == 1
    for name in ("1", "7", "tmp", ".export-8-1.tmp"):
        (tmp_path / name).mkdir()
    assert next_version(tmp_path) == 8
    with pytest.raises(FileNotFoundError, match="no saved_model.pb"):
        resolve_version_dir(tmp_path)


def test_saved_model_cli_shows_both_signatures(exported: Path):
    shown = saved_model_cli("show", "--all", "--dir", str(exported / "1"))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    for text in ("signature_def['serving_default']", "inputs['crops']", "outputs['heatmaps']",
                 f"shape: (-1, {SIZE}, {SIZE}, {K})", "signature_def['predict_images']", "inputs['images']",
                 "dtype: DT_STRING", "inputs['boxes']", "shape: (-1, 4)", f"shape: (-1, {K}, 2)"):
        assert text in out, text


def test_saved_model_cli_runs_both_signatures(exported: Path, tmp_path: Path):
    from repose_tf.export.saved_model import sample_image

    np.save(tmp_path / "images.npy", np.array([sample_image(96, 64)], object), allow_pickle=True)
    np.save(tmp_path / "crops.npy", np.zeros((1, SIZE, SIZE, 3), np.float32))
    common = ["run", "--dir", str(exported / "1"), "--tag_set", "serve", "--outdir", str(tmp_path / "out")]
    crops = saved_model_cli(*common, "--signature_def", "serving_default",
                            "--inputs", f"crops={tmp_path / 'crops.npy'}")
    assert crops.returncode == 0, crops.stderr
    assert np.load(tmp_path / "out" / "heatmaps.npy").shape == (1, SIZE, SIZE, K)
    # No boxes: the SignatureDef's default (no boxes, whole image) applies.
    images = saved_model_cli(*common, "--overwrite", "--signature_def", "predict_images",
                             "--inputs", f"images={tmp_path / 'images.npy'}")
    assert images.returncode == 0, images.stderr
    assert np.load(tmp_path / "out" / "keypoints.npy").shape == (1, K, 2)


def test_warmup_requests_parse_and_run(exported: Path):
    loaded = tf.saved_model.load(str(exported / "1"))
    logs = [prediction_log_pb2.PredictionLog.FromString(r.numpy())
            for r in tf.data.TFRecordDataset(str(exported / "1" / WARMUP_FILE))]
    requests = [log.predict_log.request for log in logs]
    assert [(r.model_spec.name, r.model_spec.signature_name, sorted(r.inputs)) for r in requests] == [
        (MODEL_NAME, "serving_default", ["crops"]),
        (MODEL_NAME, "predict_images", ["images"]),
        (MODEL_NAME, "predict_images", ["boxes", "images"])]
    for request in requests:
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        if request.model_spec.signature_name == "predict_images":
            inputs.setdefault("boxes", tf.zeros([0, 4]))
        out = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert out["keypoints"].shape == (1, K, 2)


def test_exported_outputs_equal_keras(exported: Path, model: keras.Model):
    loaded = tf.saved_model.load(str(exported / "1"))
    crops = np.random.default_rng(1).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    got = loaded.signatures["serving_default"](crops=tf.constant(crops))
    want = model(crops, training=False)["refine_64"]
    np.testing.assert_allclose(got["heatmaps"].numpy(), want, atol=1e-4)


def test_equality_check_catches_a_model_that_differs(exported: Path, model: keras.Model):
    metadata = ExportMetadata(config_of(model), CropOptions(SIZE), "dark", "saved_model")
    bias = model.get_layer("dec64_p").conv.bias  # the last heatmap convolution
    original = bias.numpy()
    bias.assign(original + 0.01)
    try:
        with pytest.raises(ExportError, match="signature serving_default output .* differs from the Keras model"):
            check_export(model, exported / "1", metadata)
    finally:
        bias.assign(original)


def test_bad_input_is_invalid_argument(exported: Path):
    loaded = tf.saved_model.load(str(exported / "1"))
    crops_fn, images_fn = loaded.signatures["serving_default"], loaded.signatures["predict_images"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"crops must be \(N, 64, 64, 3\)"):
        crops_fn(crops=tf.zeros([1, 32, 32, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"crops must hold RGB values in \[0, 255\]"):
        crops_fn(crops=tf.fill([1, SIZE, SIZE, 3], 300.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a float tensor but is a int32"):
        crops_fn(crops=tf.zeros([1, SIZE, SIZE, 3], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"images\[0\] is neither a JPEG nor a PNG"):
        images_fn(images=tf.constant([b"not an image"]), boxes=tf.zeros([0, 4]))


def test_config_must_match_the_model(model: keras.Model):
    with pytest.raises(ValueError, match="does not match config 'repose'"):
        config_of(model, "repose")
    renamed = keras.Model(model.input, model.output, name="my_net")
    with pytest.raises(ValueError, match="not named after a preset"):
        config_of(renamed)
    assert config_of(renamed, "tiny").name == "tiny"
