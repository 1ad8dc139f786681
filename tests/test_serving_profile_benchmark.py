"""``benchmarks/serving_profile.py``: a profile of a small export is read back, op types land in categories,
the per-call times add up, and the network is set against the conv stack of its FLOPs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import keras

from repose_tf.hardware import cpu_name
from repose_tf.model.builder import build_model
from repose_tf.model.saving import save_keras
from tests.train.helpers import TEST_CONFIG

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import serving_profile  # noqa: E402


def test_op_types_fall_in_their_categories() -> None:
    assert serving_profile.categorise("_MklNativeFusedConv2D") == "convolution"
    assert serving_profile.categorise("_MklNativeDepthwiseConv2dNative") == "convolution"
    assert serving_profile.categorise("FusedBatchNormV3") == "BatchNorm, bias, activation"
    assert serving_profile.categorise("ConcatV2") == "data movement"
    assert serving_profile.categorise("_MklTranspose") == "data movement"
    assert serving_profile.categorise("ResizeBilinear") == "resize"
    assert serving_profile.categorise("Cast") == "cast"
    assert serving_profile.categorise("IDLE") == "idle (no op running on a thread)"
    assert serving_profile.categorise("ArgMax") == "other"


def test_profile_of_a_small_export(tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    model_path = save_keras(build_model(TEST_CONFIG), TEST_CONFIG, tmp_path / "model.keras")
    out = tmp_path / "profile.md"
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "serving_profile.py"), "--model", str(model_path),
                          "--precisions", "float32", "--batches", "2", "--runs", "2", "--out", str(out)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    text = out.read_text()
    assert "## float32, batch 2:" in text and cpu_name() in text
    shares = [float(m) for m in re.findall(r"^\| [^`|]+ \| [\d.]+ \| ([\d.]+) % \|$", text, re.M)]
    assert abs(sum(shares) - 100) < 0.5, shares
    assert re.search(r"^\| convolution \| [\d.]+ \| [\d.]+ % \|$", text, re.M), text
    assert re.search(r"per-keypoint layers \(float32 exports\) vs the inference form \(bfloat16 exports\): [\d.]+ vs [\d.]+ ms", text), text
    stack = re.search(r"float32 conv stack of its FLOPs .*: ([\d.]+) vs ([\d.]+) ms per call, so ([\d.]+) of the "
                      r"stack's images/s\. Ops other than convolutions are (\d+) % .* at most ([\d.]+)\.", text)
    assert stack, text
    network_ms, stack_ms, ratio, rest, ceiling = map(float, stack.groups())
    # The ratio of the unrounded times, which the printed ones round to 0.01 ms.
    low, high = (stack_ms - 0.005) / (network_ms + 0.005), (stack_ms + 0.005) / (network_ms - 0.005)
    assert low - 0.005 <= ratio <= high + 0.005
    assert 0 < rest < 100 and ceiling > 0


def test_an_unknown_preset_is_a_clear_error(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "serving_profile.py"), "--preset", "huge",
                          "--out", str(tmp_path / "profile.md")], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2 and "unknown preset 'huge'" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "profile.md").exists()
