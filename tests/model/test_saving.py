"""``.keras`` files carry their config, so a custom skeleton needs no --config to evaluate, predict or export."""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from repose_tf.inference import load_predictor
from repose_tf.model.builder import build_model
from repose_tf.model.saving import CONFIG_ENTRY, keras_file_config, model_config, save_keras
from repose_tf.pretrained import get
from repose_tf.skeleton import Skeleton
from tests.train.helpers import TEST_CONFIG

ARM = Skeleton("arm", ("shoulder", "elbow", "wrist"), (("shoulder", "elbow"), ("elbow", "wrist")), ())
ARM_CONFIG = TEST_CONFIG.replace(skeleton=ARM)  # three keypoints: a custom skeleton that builds fast


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, keras.Model]:
    model = build_model(ARM_CONFIG)
    return save_keras(model, ARM_CONFIG, tmp_path_factory.mktemp("keras") / "model.keras"), model


def test_the_file_holds_the_config_and_keras_still_loads_it(saved: tuple[Path, keras.Model]) -> None:
    path, model = saved
    assert keras_file_config(path) == model_config(path) == ARM_CONFIG
    loaded = keras.saving.load_model(path, compile=False)
    x = np.zeros((1, 32, 32, 3), np.float32)
    np.testing.assert_array_equal(loaded(x)["refine_32"], model(x)["refine_32"])
    assert not list(path.parent.glob("*.tmp*")) and sorted(p.name for p in path.parent.iterdir()) == ["model.keras"]


def test_a_predictor_of_the_file_knows_its_keypoints(saved: tuple[Path, keras.Model]) -> None:
    predictor = load_predictor(saved[0])
    assert predictor.skeleton == ARM
    assert predictor.predict_crops(np.zeros((1, 32, 32, 3), np.float32)).keypoints.shape == (1, 3, 2)


def test_files_without_the_entry_fall_back_to_the_run_directory(tmp_path: Path) -> None:
    plain = tmp_path / "model.keras"
    build_model(TEST_CONFIG).save(plain)
    assert keras_file_config(plain) is None and model_config("tiny") is None
    (tmp_path / "config.json").write_text(ARM_CONFIG.to_json())
    assert keras_file_config(plain) == ARM_CONFIG
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ValueError, match=f"{tmp_path / 'config.json'}: not a RePose config"):
        keras_file_config(plain)
    assert model_config("lsp-small") == get("lsp-small").config


def test_a_broken_entry_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    build_model(TEST_CONFIG).save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(CONFIG_ENTRY, '{"name": "x", "skeleton": {"name": "y"}}')
    with pytest.raises(ValueError, match=rf"{path} \({CONFIG_ENTRY}\): not a RePose config"):
        keras_file_config(path)
