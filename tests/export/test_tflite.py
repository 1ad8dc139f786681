"""TFLite export through `repose export --tflite`: builtin ops, metadata, fp32/fp16/int8 against the SavedModel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from repose_tf.export.tflite import TFLiteModel, check_builtin_ops, float_tensors
from repose_tf.inference import load_predictor
from tests.export.artifacts import (
    SIZE,
    keras_file,
    records,
    run_cli,
    saved_model,
    tflite,
)

K = 14


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paths, run = tflite(tmp_path_factory)
    assert run.code == 0
    assert [line.split()[1] for line in run.stdout.splitlines()] == [str(paths[m]) for m in ("fp32", "fp16", "int8")]
    return paths


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The 8 evaluation crops of the synthetic records."""
    from repose_tf.data.pipeline import make_dataset

    images, _, _ = next(iter(make_dataset(records(tmp_path_factory), "eval", 8, input_size=SIZE)))
    return images.numpy()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, crops: np.ndarray):
    """The SavedModel's predictions (which equal the Keras model's within 1e-4, checked on export)."""
    base, _ = saved_model(tmp_path_factory)
    return load_predictor(base).predict_crops(crops)


def test_files_have_metadata_and_only_builtin_ops(files: dict[str, Path]):
    for mode, path in files.items():
        meta = json.loads(path.with_name(path.name + ".json").read_text())
        assert meta["format"] == f"tflite-{mode}" and meta["input_size"] == SIZE
        check_builtin_ops(path.read_bytes())
        ops = [op for op, _, _ in TFLiteModel.load(path).graph_ops()]
        assert not any(op.startswith("Flex") for op in ops) and "CUSTOM" not in ops
        assert ops.count("CONV_2D") > 90 and "ARG_MAX" in ops  # the network and the decoding


def test_fp32_equals_the_saved_model(files: dict[str, Path], crops: np.ndarray, reference):
    out = TFLiteModel.load(files["fp32"]).predict_crops(crops)
    assert out["keypoints"].shape == (8, K, 2) and out["scores"].shape == (8, K)
    np.testing.assert_allclose(out["heatmaps"], reference.heatmaps, atol=1e-4)
    np.testing.assert_allclose(out["scores"], reference.scores, atol=1e-4)
    # Same heatmaps up to float rounding; only near-tied maxima of the untrained model may move.
    error = np.linalg.norm(out["keypoints"] - reference.keypoints, axis=-1)
    assert np.mean(error < 1e-2) >= 0.9, np.sort(error.ravel())[-10:]


def test_any_batch_size(files: dict[str, Path], crops: np.ndarray):
    model = TFLiteModel.load(files["fp32"])
    together = model.predict_crops(crops[:3])["keypoints"]
    alone = np.concatenate([model.predict_crops(crops[i:i + 1])["keypoints"] for i in range(3)])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_fp16_keypoints_stay_within_half_a_pixel(files: dict[str, Path], crops: np.ndarray, reference):
    out = TFLiteModel.load(files["fp16"]).predict_crops(crops)
    assert np.isfinite(out["keypoints"]).all()
    np.testing.assert_allclose(out["heatmaps"], reference.heatmaps, atol=2e-3)
    error = np.linalg.norm(out["keypoints"] - reference.keypoints, axis=-1)
    # An untrained model's heatmaps are flat: a few maxima are near-ties that half precision may swap.
    assert np.mean(error <= 0.5) >= 0.95, np.sort(error.ravel())[-10:]


def test_int8_is_quantized_but_keeps_heatmaps_and_decoding_in_float(files: dict[str, Path], crops: np.ndarray,
                                                                     reference):
    model = TFLiteModel.load(files["int8"])
    convs = [(dtype, name) for op, dtype, name in model.graph_ops() if op == "CONV_2D"]
    keep = float_tensors(SIZE)
    float_convs = [name for dtype, name in convs if dtype == np.float32]
    int8_convs = [name for dtype, name in convs if dtype != np.float32]
    def scopes(names: list[str]) -> set[str]:
        return {m.group(1) for n in names if (m := re.search(r"/(\w+?)_1/", n))}

    # The encoder below full resolution, the heads, the kinematic updates and the decoder are int8 ...
    assert len(int8_convs) > 60 and not [n for n in int8_convs if keep.search(n)]
    assert "dec64_proj" in scopes(int8_convs), int8_convs
    # ... the full-resolution encoder stage and the heatmap convolutions are not.
    assert {"dec32_p", "enc64_d"} <= scopes(float_convs), float_convs
    out = model.predict_crops(crops)
    assert out["heatmaps"].dtype == np.float32 and np.isfinite(out["keypoints"]).all()
    # Loose agreement on an untrained model (docs/deployment.md measures a trained one).
    correlation = np.corrcoef(out["heatmaps"].ravel(), reference.heatmaps.ravel())[0, 1]
    assert correlation > 0.99
    error = np.linalg.norm(out["keypoints"] - reference.keypoints, axis=-1)
    assert np.median(error) < 1.0


def test_cli_refuses_unknown_modes_and_missing_calibration(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture):
    model = str(keras_file(tmp_path_factory))
    assert run_cli(["export", "--model", model, "--out", str(tmp_path), "--tflite", "int4"]).code == 2
    assert "--tflite modes must be among fp32, fp16, int8, got int4" in capsys.readouterr().err
    missing = str(tmp_path / "none-*.tfrecord")
    assert run_cli(["export", "--model", model, "--out", str(tmp_path), "--tflite", "int8",
                    "--calibration", missing]).code == 2
    err = capsys.readouterr().err
    assert "int8 calibration: no files match the TFRecord pattern" in err and "repose convert synthetic" in err
    assert not list(tmp_path.iterdir())
