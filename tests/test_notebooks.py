"""The Colab notebooks of ``colab/``: committed clean, and executed headless end to end on CPU.

Each notebook runs in its own ``python3`` kernel (nbclient), from ``colab/`` as a user's would, with
its ``parameters``-tagged cell rewritten: ``SMOKE = True``, ``OUTPUT_DIR`` a temporary folder and
the smallest counts that still run every cell.  ``visualize_heatmaps`` and ``serve_and_tflite`` get
``MODEL_PATH``, the seeded untrained ``tiny`` model of the export tests, so that only
``train_repose`` pays for compiling a training step.  Training runs beside the other two (one after
the other): most of the time is single-threaded graph tracing, so on two cores the three take about
as long as training alone.  Each test then checks what its notebook wrote to ``OUTPUT_DIR``
(figures as PNG, ``metrics.json``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

from repose_tf.model import output_names
from tests.conftest import REPO
from tests.export.artifacts import PRESET, keras_file

COLAB = REPO / "colab"
NOTEBOOKS = ("train_repose", "visualize_heatmaps", "serve_and_tflite")
NOTEBOOK_SECONDS = 300  # each notebook, start to end; the cells share it
PARAMETERS = "parameters"


@dataclasses.dataclass(frozen=True)
class Run:
    """One executed notebook: where it wrote, how long it took, what stopped it (None = it ran through)."""

    out: Path
    seconds: float
    error: BaseException | None


def notebook_path(name: str) -> Path:
    return COLAB / f"{name}.ipynb"


def read_notebook(name: str) -> nbformat.NotebookNode:
    """The notebook, validated; a missing file fails the calling test (FileNotFoundError)."""
    nb = nbformat.read(notebook_path(name), as_version=4)
    nbformat.validate(nb)
    return nb


def parameters_cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if PARAMETERS in c.metadata.get("tags", [])]
    assert len(cells) == 1 and cells[0].cell_type == "code", \
        f"{name}.ipynb needs exactly one code cell tagged {PARAMETERS!r}"
    return cells[0]


def inject(nb: nbformat.NotebookNode, name: str, values: dict[str, Any]) -> None:
    """Replace the assignment of each parameter (one line ``NAME = ...``) by ``NAME = repr(value)``."""
    cell = parameters_cell(nb, name)
    lines = cell.source.splitlines()
    for key, value in values.items():
        found = [i for i, line in enumerate(lines) if re.match(rf"{key}\s*=", line)]
        assert len(found) == 1, f"{name}.ipynb: parameter {key} is assigned {len(found)} times in its parameters cell"
        lines[found[0]] = f"{key} = {value!r}"
    cell.source = "\n".join(lines)


async def execute(name: str, values: dict[str, Any], out: Path) -> Run:
    """Run notebook ``name`` with ``values`` injected; errors (a failing cell, the time limit) are returned."""
    nb = read_notebook(name)
    inject(nb, name, {**values, "OUTPUT_DIR": str(out)})
    # The repo on the kernel's path: the install cell then finds repose_tf and installs nothing.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    client = NotebookClient(nb, timeout=NOTEBOOK_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(COLAB)}})
    start = time.monotonic()
    error: BaseException | None = None
    try:
        await asyncio.wait_for(client.async_execute(env=env), NOTEBOOK_SECONDS)
    except TimeoutError:
        error = TimeoutError(f"not done within {NOTEBOOK_SECONDS} s; running: {running_cell(nb)}")
    except Exception as e:  # noqa: BLE001 (a failing cell: reported by the notebook's own test)
        error = e
    return Run(out, time.monotonic() - start, error)


def running_cell(nb: nbformat.NotebookNode) -> str:
    """The first line of the first code cell that started and did not finish."""
    for i, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in timing and "shell.execute_reply" not in timing:
            return f"cell {i}: {cell.source.splitlines()[0]}"
    return "no cell (the kernel was starting or stopping)"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The notebooks executed with their smoke parameters: training beside the other two in turn."""
    root = tmp_path_factory.mktemp("notebooks")
    values = {
        "train_repose": {"SMOKE": True, "SMOKE_PEOPLE": 8, "SMOKE_STEPS": 1, "TFLITE_MODES": ("fp16",)},
        "visualize_heatmaps": {"SMOKE": True, "HELD_OUT": 6, "KEYPOINTS": ("l_wrist",), "WORST": 2},
        "serve_and_tflite": {"SMOKE": True, "TEST_PEOPLE": 6, "CALIBRATION_PEOPLE": 4, "LATENCY_RUNS": 5},
    }

    async def all_notebooks() -> dict[str, Run]:
        train = asyncio.create_task(execute("train_repose", values["train_repose"], root / "train_repose"))
        model = str(await asyncio.to_thread(keras_file, tmp_path_factory))
        done = {name: await execute(name, {**values[name], "MODEL_PATH": model}, root / name)
                for name in ("visualize_heatmaps", "serve_and_tflite")}
        return {"train_repose": await train, **done}

    return asyncio.run(all_notebooks())


def completed(runs: dict[str, Run], name: str) -> dict[str, Any]:
    """The notebook's metrics.json; fails with the notebook's error if it stopped."""
    run = runs[name]
    if run.error is not None:
        pytest.fail(f"{name}.ipynb stopped after {run.seconds:.0f} s: {type(run.error).__name__}: {run.error}")
    assert run.seconds < NOTEBOOK_SECONDS
    return json.loads((run.out / "metrics.json").read_text())


def assert_png(path: str | Path) -> None:
    """A real picture: a PNG of some size with more than a few distinct colours."""
    with Image.open(path) as image:
        assert image.format == "PNG", path
        pixels = np.asarray(image.convert("RGB"))
    assert min(pixels.shape[:2]) >= 64, (path, pixels.shape)
    sample = pixels[::3, ::3].reshape(-1, 3)
    assert len(np.unique(sample, axis=0)) > 16 and sample.std() > 5, f"{path} is blank"


def assert_percent(value: float, what: str) -> None:
    assert isinstance(value, float) and 0.0 <= value <= 100.0, f"{what} = {value!r}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_with_outputs_cleared(name: str):
    nb = read_notebook(name)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}.ipynb cell {i} has outputs"
    source = parameters_cell(nb, name).source
    for key in ("SMOKE", "OUTPUT_DIR", "REPO_URL"):
        assert re.search(rf"^{key}\s*=", source, re.MULTILINE), f"{name}.ipynb has no {key} parameter"


def test_readme_describes_every_notebook_with_a_badge():
    readme = (COLAB / "README.md").read_text()
    for name in NOTEBOOKS:
        url = f"https://colab.research.google.com/github/repose-tf/repose-tf/blob/main/colab/{name}.ipynb"
        assert f"(https://colab.research.google.com/assets/colab-badge.svg)]({url})" in readme, name


def test_train_notebook(runs: dict[str, Run]):
    metrics = completed(runs, "train_repose")
    assert metrics["preset"] == "tiny" and metrics["smoke"] and metrics["steps"] == 1
    score = metrics["scores"]["synthetic"]
    assert score["metric"] == "PCK@0.2" and score["n"] == 4
    assert list(score["parts"]) == ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean"]
    for part, value in score["parts"].items():
        assert_percent(value, f"PCK {part}")
    files = metrics["files"]
    assert Path(files["model"]).is_file() and Path(files["eval"]).is_file()
    assert (Path(files["savedmodel"]) / "saved_model.pb").is_file()
    assert list(files["tflite"]) == ["fp16"] and Path(files["tflite"]["fp16"]).stat().st_size > 100_000
    figures = {Path(p).name for p in files["figures"]}
    assert {"training_curves.png", "pck-synthetic.png", "overlay-0.png"} <= figures
    for path in files["figures"]:
        assert_png(path)


def test_visualize_notebook(runs: dict[str, Run]):
    metrics = completed(runs, "visualize_heatmaps")
    assert metrics["preset"] == PRESET and metrics["people"] == 6
    outputs = output_names(PRESET)
    assert list(metrics["pck"]) == outputs and outputs[:2] == ["pre_update", "post_update"]
    for name, value in metrics["pck"].items():
        assert_percent(value, f"PCK of {name}")
    errors = [w["error"] for w in metrics["worst"]]
    assert len(errors) == 2 and errors == sorted(errors, reverse=True) and all(math.isfinite(e) for e in errors)
    figures = {Path(p).name for p in metrics["figures"]}
    assert figures == {"heatmaps-pre_update.png", "heatmaps-post_update.png", f"heatmaps-{outputs[-1]}.png",
                       "outputs-l_wrist.png", "overlay.png", "figure1.png", "worst-1.png", "worst-2.png"}
    for path in metrics["figures"]:
        assert_png(path)


def test_serve_notebook(runs: dict[str, Run]):
    metrics = completed(runs, "serve_and_tflite")
    assert (Path(metrics["savedmodel"]) / "saved_model.pb").is_file()
    serving = metrics["serving"]
    assert serving["backend"] == "loopback"
    assert serving["grpc_median_px_to_keras"] < 1e-2  # the same network over gRPC
    assert math.isfinite(serving["rest_median_error_px"])
    results = metrics["tflite"]
    assert list(results) == ["keras", "fp32", "fp16", "int8"]
    for name, r in results.items():
        assert_percent(r["pck"], f"{name} PCK")
        assert r["people"] > 0 and r["latency_ms"] > 0
    assert results["fp32"]["median_px_to_fp32"] == 0.0 and results["keras"]["median_px_to_fp32"] < 1e-2
    # An untrained model's heatmaps are flat: half precision may swap a few near-tied maxima, not more.
    assert results["fp16"]["median_px_to_fp32"] < 0.1 and results["fp16"]["within_half_px_of_fp32"] >= 0.9
    assert results["fp16"]["megabytes"] < 0.75 * results["fp32"]["megabytes"]
    figures = {Path(p).name for p in metrics["figures"]}
    assert figures == {"served.png", "tflite.png"}
    for path in metrics["figures"]:
        assert_png(path)
