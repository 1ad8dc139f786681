"""The bfloat16 SavedModel (``export_saved_model(precision="bfloat16")``, ``repose export --precision``):
same signatures, outputs within bfloat16's rounding of the float32 Keras model through ``saved_model_cli``
and the loopback REST and gRPC server, ``auto`` falls back to float32 on a CPU without bfloat16."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import repose_tf.export.saved_model as saved_model_module
from repose_tf import pretrained
from repose_tf.codec import decode_heatmaps
from repose_tf.export.metadata import SAVED_MODEL_METADATA, ExportMetadata
from repose_tf.export.saved_model import (
    BF16_KEYPOINT_MIN_SCORE,
    BF16_KEYPOINT_TOLERANCE,
    BF16_TOLERANCE,
    ExportResult,
    export_precision,
    export_saved_model,
)
from repose_tf.hardware import PrecisionChoice
from repose_tf.inference import load_keras_model
from repose_tf.model.builder import output_names
from repose_tf.serving import Client
from repose_tf.serving.loopback import LoopbackServer
from tests.export.artifacts import run_cli
from tests.export.test_saved_model import saved_model_cli

NAME = "lsp-small"  # a trained network: an untrained one's flat heatmaps have no stable peak to compare
FINAL = output_names(pretrained.config_for(NAME))[-1]


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return load_keras_model(NAME)


@pytest.fixture(scope="module")
def exported(model: keras.Model, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    base = tmp_path_factory.mktemp("bf16") / "small"
    return export_saved_model(model, base, config=pretrained.config_for(NAME), precision="bfloat16")


def _crops(shared_data: Path, numbers: tuple[int, ...]) -> np.ndarray:
    """LSPET people of the fixture set (each image squeezed to the input size, as ``repose predict`` does
    without a box: the real-people network finds most of their keypoints) and one crop of noise."""
    size = pretrained.config_for(NAME).input_size
    people = [np.asarray(Image.open(shared_data / "lspet" / "images" / f"im{n:05d}.jpg").convert("RGB")
                         .resize((size, size))) for n in numbers]
    noise = np.random.default_rng(numbers[0]).uniform(0, 255, (1, size, size, 3))
    return np.concatenate([np.stack(people), noise]).astype(np.float32)


def test_bf16_export_computes_in_bfloat16_and_says_so(exported: ExportResult) -> None:
    assert exported.precision == "bfloat16" or exported.precision_reason == "bfloat16 was asked for"
    assert exported.max_difference <= BF16_TOLERANCE
    metadata = ExportMetadata.read(exported.path / SAVED_MODEL_METADATA)
    assert metadata.format == "saved_model-bf16"
    loaded = tf.saved_model.load(str(exported.path))
    graph = loaded.signatures["serving_default"].graph.as_graph_def()
    ops = [node for f in graph.library.function for node in f.node_def]
    assert any(n.op == "Conv2D" and n.attr["T"].type == tf.bfloat16.as_datatype_enum for n in ops)


def test_saved_model_cli_runs_the_bf16_export_within_tolerance(exported: ExportResult, model: keras.Model,
                                                                 tmp_path: Path, shared_data: Path) -> None:
    crops = _crops(shared_data, (1, 2))
    np.save(tmp_path / "crops.npy", crops)
    run = saved_model_cli("run", "--dir", str(exported.path), "--tag_set", "serve", "--outdir", str(tmp_path / "out"),
                          "--signature_def", "serving_default", "--inputs", f"crops={tmp_path / 'crops.npy'}")
    assert run.returncode == 0, run.stderr
    heatmaps = np.load(tmp_path / "out" / "heatmaps.npy")
    assert heatmaps.dtype == np.float32
    want = model(crops, training=False)[FINAL]
    np.testing.assert_allclose(heatmaps, want, atol=BF16_TOLERANCE)
    keypoints, scores = decode_heatmaps(want, "dark")
    found = scores.numpy() >= BF16_KEYPOINT_MIN_SCORE  # the export's contract: the keypoints the network finds
    assert found.any()
    np.testing.assert_allclose(np.load(tmp_path / "out" / "keypoints.npy")[found], keypoints.numpy()[found],
                               atol=BF16_KEYPOINT_TOLERANCE)


@pytest.fixture(scope="module")
def server(exported: ExportResult) -> Iterator[LoopbackServer]:
    with LoopbackServer(exported.path.parent, "small", max_requests=20, lifetime=300) as running:
        yield running


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_the_loopback_server_serves_the_bf16_export(protocol: str, server: LoopbackServer, model: keras.Model,
                                                    exported: ExportResult, shared_data: Path) -> None:
    address = server.rest_address if protocol == "rest" else server.grpc_address
    crops = _crops(shared_data, (4, 5))
    with Client(address, "small", protocol=protocol) as client:
        got = client.predict_crops(crops)
    keypoints, scores = decode_heatmaps(model(crops, training=False)[FINAL], "dark")
    found = scores.numpy() >= BF16_KEYPOINT_MIN_SCORE
    assert found.any()
    np.testing.assert_allclose(got.keypoints[found], keypoints.numpy()[found], atol=BF16_KEYPOINT_TOLERANCE)
    np.testing.assert_allclose(got.scores, scores, atol=BF16_TOLERANCE)


def test_auto_is_float32_on_a_cpu_without_bfloat16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saved_model_module, "auto_precision", lambda: PrecisionChoice(
        "float32", "the CPU has no bfloat16 instructions (neither AMX-BF16 nor AVX512-BF16)"))
    assert export_precision("auto") == PrecisionChoice(
        "float32", "the CPU has no bfloat16 instructions (neither AMX-BF16 nor AVX512-BF16)")
    monkeypatch.setattr(saved_model_module, "auto_precision", lambda: PrecisionChoice("bfloat16", "the CPU has x"))
    assert export_precision("auto") == PrecisionChoice("bfloat16", "the CPU has x")
    assert export_precision("bfloat16") == PrecisionChoice("bfloat16", "bfloat16 was asked for")
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16, got 'float16'"):
        export_precision("float16")


def test_cli_precision_is_for_the_saved_model_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_cli(["export", "--model", NAME, "--out", str(tmp_path), "--tflite", "fp32",
                    "--precision", "bfloat16"]).code == 2
    assert "--precision is for the SavedModel" in capsys.readouterr().err


def test_a_bf16_export_outside_the_tolerance_is_refused_and_not_written(
        model: keras.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saved_model_module, "BF16_KEYPOINT_TOLERANCE", 1e-6)
    with pytest.raises(saved_model_module.ExportError,
                       match=r"small/1 \(not written\): signature .* differs from the Keras model by .*"
                             r"export it in float32"):
        export_saved_model(model, tmp_path / "small", config=pretrained.config_for(NAME), precision="bfloat16",
                           tolerance=1e-6)
    assert list((tmp_path / "small").iterdir()) == []


def test_auto_exports_float32_when_the_bf16_export_fails_its_check(
        model: keras.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saved_model_module, "auto_precision", lambda: PrecisionChoice("bfloat16", "the CPU has x"))
    monkeypatch.setattr(saved_model_module, "BF16_KEYPOINT_TOLERANCE", 1e-6)
    monkeypatch.setattr(saved_model_module, "BF16_TOLERANCE", 1e-6)
    result = export_saved_model(model, tmp_path / "small", config=pretrained.config_for(NAME), precision="auto")
    assert result.precision == "float32" and result.version == 1
    assert re.fullmatch(r"the CPU has x; but in its bfloat16 export signature \w+ .*output '\w+' differs from "
                        r"the Keras model by [\d.e-]+ \(tolerance 1e-06\), so float32",
                        result.precision_reason), result.precision_reason
    assert ExportMetadata.read(result.path / SAVED_MODEL_METADATA).format == "saved_model"
    assert sorted(p.name for p in (tmp_path / "small").iterdir() if p.is_dir()) == ["1"]


@pytest.mark.parametrize("min_score, refused", [(0.0, True), (1e9, False)])
def test_the_bf16_keypoint_check_covers_the_keypoints_the_network_finds(
        model: keras.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, min_score: float, refused: bool) -> None:
    # With an impossible keypoint tolerance, the export stands or falls by which keypoints are compared:
    # all of them (min score 0), or none (no heatmap reaches 1e9; heatmaps and scores are still checked).
    monkeypatch.setattr(saved_model_module, "BF16_KEYPOINT_TOLERANCE", 1e-9)
    monkeypatch.setattr(saved_model_module, "BF16_KEYPOINT_MIN_SCORE", min_score)
    export = functools.partial(export_saved_model, model, tmp_path / "small", config=pretrained.config_for(NAME),
                               precision="bfloat16")
    if refused:
        with pytest.raises(saved_model_module.ExportError, match="output 'keypoints' differs"):
            export()
    else:
        assert export().precision == "bfloat16"
