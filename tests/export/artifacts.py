"""Deployment artifacts shared by the export, serving, inference and CLI tests, made once per session.

A seeded, untrained ``tiny`` model saved as ``.keras``, its SavedModel and TFLite exports
(made through ``repose export``, so the CLI runs once per form), a few synthetic person
records for int8 calibration, and image encoders.  Each builder is cached on pytest's
session temp directory, so every test module that asks gets the same files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from repose_tf.cli import main
from repose_tf.data.records import serialize
from repose_tf.data.synthetic import synthetic_record

PRESET = "tiny"
SIZE = 64  # the tiny preset's input size
MODEL_NAME = "repose"


@dataclasses.dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str


def run_cli(args: list[str]) -> CliRun:
    """``repose ARGS`` in this process, stdout captured."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(args)
    return CliRun(code, out.getvalue())


def encode(array: np.ndarray, fmt: str = "JPEG", mode: str | None = None) -> bytes:
    """Encode an image array with PIL (``mode`` e.g. "I;16" for 16-bit PNG)."""
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format=fmt)
    return buffer.getvalue()


def person_image(seed: int = 0, size: int = 96) -> tuple[bytes, np.ndarray]:
    """A synthetic person JPEG and its (14, 2) keypoints."""
    record = synthetic_record(seed, 0, image_size=size)
    return record.image_bytes, record.keypoints


@functools.cache
def _keras_file(root: Path) -> Path:
    keras.utils.set_random_seed(0)
    from repose_tf import build_model

    path = root / "tiny.keras"
    build_model(PRESET).save(path)
    return path


@functools.cache
def _saved_model(root: Path) -> tuple[Path, CliRun]:
    base = root / "savedmodel" / MODEL_NAME
    run = run_cli(["export", "--model", str(_keras_file(root)), "--out", str(base)])
    return base, run


@functools.cache
def _records(root: Path) -> str:
    out = root / "records" / "synthetic-valid-00000-of-00001.tfrecord"
    out.parent.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(out)) as writer:
        for i in range(8):
            writer.write(serialize(synthetic_record(7, i, image_size=96)))
    return str(root / "records" / "synthetic-valid-*.tfrecord")


@functools.cache
def _tflite(root: Path) -> tuple[dict[str, Path], CliRun]:
    out = root / "tflite"
    run = run_cli(["export", "--model", str(_keras_file(root)), "--out", str(out), "--tflite", "fp32", "fp16",
                   "int8", "--calibration", _records(root), "--calibration-steps", "4"])
    return {mode: out / f"tiny-{mode}.tflite" for mode in ("fp32", "fp16", "int8")}, run


def _root(factory: pytest.TempPathFactory) -> Path:
    root = factory.getbasetemp() / "deploy"
    root.mkdir(exist_ok=True)
    return root


def keras_file(factory: pytest.TempPathFactory) -> Path:
    """The seeded tiny model as a .keras file."""
    return _keras_file(_root(factory))


def saved_model(factory: pytest.TempPathFactory) -> tuple[Path, CliRun]:
    """(model directory with version 1, the ``repose export`` run that wrote it)."""
    return _saved_model(_root(factory))


def records(factory: pytest.TempPathFactory) -> str:
    """Glob pattern of 8 synthetic person records (96 x 96 images)."""
    return _records(_root(factory))


def tflite(factory: pytest.TempPathFactory) -> tuple[dict[str, Path], CliRun]:
    """(mode -> .tflite path for fp32, fp16, int8, the ``repose export --tflite`` run)."""
    return _tflite(_root(factory))
