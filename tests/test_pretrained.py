"""The shipped pretrained models: found by name everywhere, finding real people, and giving the keypoints
they gave when they were shipped (a broken file or a changed decoder fails here)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

import repose_tf
from repose_tf import pretrained
from repose_tf.eval.metrics import torso_sizes
from repose_tf.export.metadata import config_of
from repose_tf.inference import UntrainedModelWarning, load_keras_model, load_predictor
from tests.conftest import SHARED_DATA
from tests.export.artifacts import run_cli

DATASETS = SHARED_DATA.parent / "datasets"


@pytest.fixture(scope="module")
def datasets() -> Path:
    """../shared/datasets (the whole LSP release).  In CI a missing folder fails; elsewhere it skips."""
    if not (DATASETS / "lsp" / "images").is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs the LSP images at {DATASETS / 'lsp' / 'images'}")
        pytest.skip(f"{DATASETS} not present")
    return DATASETS


def test_every_shipped_model_loads_by_name() -> None:
    names = pretrained.available()
    assert pretrained.DEFAULT_MODEL in names
    for name in names:
        shipped = pretrained.get(name)
        assert shipped.path.stat().st_size < 20e6
        assert {"summary", "command", "hardware", "hours", "steps", "check"} <= set(shipped.card)
        model = repose_tf.load_model(name)
        assert config_of(model, shipped.config) == shipped.config
        assert pretrained.config_for(name) == shipped.config


def test_unknown_names_and_paths_are_not_pretrained(tmp_path: Path) -> None:
    assert not pretrained.is_pretrained(Path(pretrained.DEFAULT_MODEL))
    assert pretrained.config_for("tiny") is None
    with pytest.raises(ValueError, match=f"no pretrained model named 'lsp-huge'; shipped: .*{pretrained.DEFAULT_MODEL}"):
        pretrained.get("lsp-huge")


@pytest.mark.parametrize("name", pretrained.available())
def test_a_forward_pass_gives_the_stored_keypoints(name: str, datasets: Path) -> None:
    check = pretrained.get(name).card["check"]
    images = [(datasets / image).read_bytes() for image in check["images"]]
    result = load_predictor(name).predict_images(images)
    np.testing.assert_allclose(result.keypoints, np.array(check["keypoints"]), rtol=0, atol=0.5)


def test_predict_without_model_draws_the_person(datasets: Path, tmp_path: Path) -> None:
    numbers = (1001, 1002, 1003, 1004)
    images = [str(datasets / "lsp" / "images" / f"im{i:04d}.jpg") for i in numbers]
    run = run_cli(["predict", *images, "--out", str(tmp_path), "--no-progress"])
    assert run.code == 0
    assert run.stdout.startswith(f"model: {pretrained.DEFAULT_MODEL} (pretrained: ")
    assert ", computing in bfloat16\n" in run.stdout or ", computing in float32\n" in run.stdout
    joints = scipy.io.loadmat(datasets / "lsp" / "joints.mat")["joints"]  # (3, 14, 2000), 1-based
    gt = joints[:2, :, [i - 1 for i in numbers]].transpose(2, 1, 0) - 1.0
    predicted = np.array([[[k["x"], k["y"]] for k in json.loads((tmp_path / f"im{i:04d}.json").read_text())
                           ["keypoints"]] for i in numbers])
    within = np.linalg.norm(predicted - gt, axis=-1) <= 0.2 * torso_sizes(gt)[:, None]
    assert within.mean() > 0.5, within.sum(1)  # most joints of these people within PCK@0.2
    assert all((tmp_path / f"im{i:04d}.png").is_file() for i in numbers)


def test_a_preset_name_is_an_untrained_network_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.warns(UntrainedModelWarning, match="'tiny' is a preset name: an UNTRAINED network"):
        load_keras_model("tiny")
    image = tmp_path / "gray.png"
    Image.new("RGB", (40, 60), (90, 90, 90)).save(image)
    run = run_cli(["predict", str(image), "--model", "tiny", "--out", str(tmp_path / "out"), "--no-overlay"])
    assert run.code == 0 and run.stdout.startswith("model: tiny (UNTRAINED preset, random weights)")
    assert "repose predict: WARNING: 'tiny' is a preset name: an UNTRAINED network" in capsys.readouterr().err
