"""``benchmarks/dead_heatmaps.py``: prints every output's maxima and names the dead channels of a saved
model; bad arguments are usage errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from repose_tf.model.builder import build_model
from repose_tf.model.saving import save_keras
from tests.train.helpers import TEST_CONFIG

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "dead_heatmaps.py"), *args],
                          capture_output=True, text=True, timeout=600)


def test_names_the_dead_channel(tmp_path: Path) -> None:
    model = build_model(TEST_CONFIG)
    size = TEST_CONFIG.input_size
    bias = model.get_layer(f"dec{size}_p").conv.bias
    bias.assign(np.where(np.arange(TEST_CONFIG.num_keypoints) == TEST_CONFIG.skeleton.index("head"), -100.0,
                         bias.numpy()))
    path = tmp_path / "model.keras"
    save_keras(model, TEST_CONFIG, path)
    done = _run("--model", str(path), "--people", "3")
    assert done.returncode == 0, done.stderr
    assert f"dead: refine_{size}: head" in done.stdout
    assert all(name in done.stdout for name in model.output)


@pytest.mark.parametrize(("args", "message"), [(["--model", "x.keras", "--people", "0"], "--people"),
                                               (["--model", "missing.keras"], "no file missing.keras")])
def test_bad_arguments_are_usage_errors(args: list[str], message: str) -> None:
    done = _run(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_file_that_is_no_model_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.keras"
    bad.write_text("not a zip")
    done = _run("--model", str(bad))
    assert done.returncode == 2 and "does not carry its config" in done.stderr and "Traceback" not in done.stderr
