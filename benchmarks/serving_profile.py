"""Where a served SavedModel spends its time: op-type shares of ``serving_default``, as TF Serving runs it.

    python benchmarks/serving_profile.py                       # lsp-small, float32 and bfloat16, batch 1 and 32
    python benchmarks/serving_profile.py --model runs/x/model.keras --batches 1 --runs 50
    python benchmarks/serving_profile.py --preset repose --precisions bfloat16 --out docs/serving_profile-repose.md

The model is exported with ``repose_tf.export.export_saved_model`` in each precision, reloaded, and its
``serving_default`` signature (input checks, the frozen network, DARK decoding) runs on random crops under
the TensorFlow profiler.  The profile's self time per op type (TensorFlow's ``framework_op_stats``) is
summed per category: convolutions; BatchNorm, bias and activations (also the decoding's arithmetic);
data movement (concatenations, splits, slices, pads, transposes and layout conversions); resizes; dtype
casts; the rest; and the time the executor's threads sat idle.  Times are thread time per call, summed
over the threads, so they add up to more than the wall time per call, reported beside them.  Each row
also times the frozen network alone in the per-keypoint form (what float32 exports run) against the
inference form (``build_model(config, inference=True)``, what bfloat16 exports run), and times
``serving_default`` against the conv stack of its FLOPs in the same precision (``latency.py``'s roofline),
calls interleaved: their images/s ratio, and the ratio's ceiling if the convolutions ran at the stack's
rate and every other op kept its share of the time.  ``--preset`` profiles an untrained preset with
``latency.py``'s trained-like biases and BatchNorm statistics.  Writes ``docs/serving_profile.md``.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import repose_tf  # noqa: F401  (before TensorFlow: it turns TF's oneDNN kernels on)

# isort: split
import keras
import numpy as np
import tensorflow as tf
from latency import roofline_model, time_forms, trained_like
from out_check import parse_checked

from repose_tf.config import RePoseConfig, get_config
from repose_tf.export.crops import CropOptions
from repose_tf.export.metadata import ExportMetadata
from repose_tf.export.saved_model import CROPS_SIGNATURE, export_saved_model, freeze, inference_model
from repose_tf.hardware import cpu_name
from repose_tf.inference import load_keras_model
from repose_tf.model.builder import build_model
from repose_tf.model.complexity import graph_conv_flops, model_graph
from repose_tf.model.convert import copy_weights
from repose_tf.model.saving import model_config
from repose_tf.train.strategy import dtype_policy

ROOT = Path(__file__).resolve().parents[1]
# (category, op types matched from the start of the name; oneDNN's rewritten ops start with _Mkl or _Fused)
CATEGORIES = (
    ("convolution", r"(_Mkl|_MklNative)?(_Fused)?(Fused)?(Conv2D|DepthwiseConv2dNative|MatMul)"),
    ("BatchNorm, bias, activation", r"(_Mkl|_MklNative)?(FusedBatchNorm|BiasAdd|Relu|AddV2|Add|Mul|Sub|Maximum|"
                                    r"Minimum|Rsqrt|Square|Exp|Log|RealDiv|Neg)"),
    ("data movement", r"(_Mkl|_MklNative)?(ConcatV2|Concat|Split|SplitV|Slice|StridedSlice|Pad|PadV2|Transpose|"
                      r"Reshape|Pack|Unpack|Tile|GatherV2|GatherNd|_MklToTf|Identity|Squeeze|ExpandDims)"),
    ("resize", r"Resize"),
    ("cast", r"Cast"),
)


def categorise(op: str) -> str:
    """The category of an op type of the profile."""
    if op == "IDLE":
        return "idle (no op running on a thread)"
    for name, pattern in CATEGORIES:
        if re.match(pattern, op):
            return name
    return "other"


def op_self_times(log_dir: Path) -> dict[str, float]:
    """Self time (µs) per op type in the profile under ``log_dir``, from TensorFlow's own converter of the
    profiler's XSpace to the TensorBoard profile plugin's ``framework_op_stats`` table."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin  # internal, but the only offline reader

    spaces = sorted(str(p) for p in log_dir.glob("plugins/profile/*/*.xplane.pb"))
    data, ok = _pywrap_profiler_plugin.xspace_to_tools_data(spaces, "framework_op_stats", {})
    if not ok:
        raise RuntimeError(f"the profile could not be read: {data!r}")
    table = json.loads(data)[0]
    columns = [c["id"] for c in table["cols"]]
    times: dict[str, float] = collections.defaultdict(float)
    for row in table["rows"]:
        cells = dict(zip(columns, (c["v"] if c else None for c in row["c"])))
        times[cells["type"]] += cells["total_self_time"]
    return dict(times)


def profile_run(signature: Callable, size: int, batch: int, runs: int, log_dir: Path
                ) -> tuple[dict[str, float], dict[str, float], float]:
    """(op ms per call per category, per op type, median wall ms per call) of ``runs`` profiled calls of
    ``signature`` (a loaded export's ``serving_default``) on random crops."""
    crops = tf.constant(np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)), tf.float32)
    for _ in range(3):
        signature(crops=crops)
    walls = []
    tf.profiler.experimental.start(str(log_dir))
    for _ in range(runs):
        start = time.perf_counter()
        signature(crops=crops)
        walls.append(time.perf_counter() - start)
    tf.profiler.experimental.stop()
    per_op = {op: micros / runs / 1000 for op, micros in op_self_times(log_dir).items()}
    per_category: dict[str, float] = collections.defaultdict(float)
    for op, ms in per_op.items():
        per_category[categorise(op)] += ms
    return dict(per_category), per_op, 1000 * statistics.median(walls)


def form_comparison(model: keras.Model, config: RePoseConfig, metadata: ExportMetadata, precision: str, batch: int,
                    calls: int) -> tuple[float, float]:
    """Median ms per call of the frozen final-heatmap network in its per-keypoint form and in its inference
    form (``build_model(config, inference=True)``: grouped convolutions, the kinematic updates in steps),
    calls interleaved."""
    with dtype_policy("float32" if precision == "float32" else "mixed_bfloat16"):
        plain, inference = build_model(config), build_model(config, inference=True)
    plain.set_weights(model.get_weights())
    copy_weights(model, inference, config)
    forms = {name: freeze(inference_model(net, metadata)) for name, net in (("plain", plain), ("inference", inference))}
    crops = np.random.default_rng(0).uniform(0, 255, (batch, config.input_size, config.input_size, 3))
    times = time_forms({name: lambda b, form=form: form(tf.constant(b)).numpy() for name, form in forms.items()},
                       crops.astype(np.float32), calls, warmup=2)
    return 1000 * times["plain"], 1000 * times["inference"]


def same_precision_stack(config: RePoseConfig, precision: str, deployed_flops: int) -> tuple[Callable, int]:
    """``latency.py``'s roofline for ``deployed_flops``, trained-like, in ``precision``: (its traced forward, its
    FLOPs)."""
    with dtype_policy("float32" if precision == "float32" else "mixed_bfloat16"):
        stack = trained_like(roofline_model(config.input_size, deployed_flops))
    return tf.function(lambda t: stack(t, training=False)), graph_conv_flops(model_graph(stack))


def against_the_stack(signature: Callable, stack: Callable, flops: tuple[int, int], precision: str,
                      categories: dict[str, float], size: int, batch: int, calls: int) -> str:
    """A paragraph: ``signature`` (``serving_default``) against ``stack`` (:func:`same_precision_stack`; ``flops``
    = (deployed network's, stack's)), calls interleaved, and the images/s ratio's ceiling if the convolutions
    ran at the stack's rate and the other ops kept their share of the profiled op time (``categories``)."""
    deployed_flops, stack_flops = flops
    crops = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
    times = time_forms({"network": lambda b: signature(crops=tf.constant(b)),
                        "stack": lambda b: stack(tf.constant(b)).numpy()}, crops, calls, warmup=2)
    ops = {name: ms for name, ms in categories.items() if not name.startswith("idle")}
    rest_share = 1 - ops.get("convolution", 0.0) / sum(ops.values())
    network_ms, stack_ms = 1000 * times["network"], 1000 * times["stack"]
    ceiling = stack_ms / (stack_ms * deployed_flops / stack_flops + rest_share * network_ms)
    return (f"Against the {precision} conv stack of its FLOPs ({deployed_flops / 1e9:.2f} GFLOPs deployed, the stack "
            f"{stack_flops / 1e9:.2f}; `benchmarks/latency.py`'s roofline), {calls} interleaved calls: "
            f"{network_ms:.2f} vs {stack_ms:.2f} ms per call, so {stack_ms / network_ms:.2f} of the stack's images/s. "
            f"Ops other than convolutions are {100 * rest_share:.0f} % of the op time above: if the convolutions "
            f"ran at the stack's rate and the rest kept its time, the ratio would be at most {ceiling:.2f}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", help="a shipped model's name or a .keras file (default: lsp-small)")
    which.add_argument("--preset", help="an untrained preset with trained-like biases and BatchNorm statistics")
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"], choices=("float32", "bfloat16"))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--runs", type=int, default=20, help="traced calls per precision and batch")
    parser.add_argument("--top", type=int, default=8, help="op types listed per profile")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "serving_profile.md")
    args = parse_checked(parser, argv)

    if args.preset is not None:
        try:
            config = get_config(args.preset)
        except ValueError as e:
            parser.error(str(e))
        keras.utils.set_random_seed(0)
        model = trained_like(build_model(config))
        described = f"preset `{config.name}`, untrained, with trained-like biases and BatchNorm statistics"
    else:
        name = args.model or "lsp-small"
        model = load_keras_model(name)
        config = model_config(name)
        if config is None:
            raise SystemExit(f"{name} does not carry its config: give a model saved by repose_tf")
        described = f"model `{name}` (preset `{config.name}`)"
    lines = ["# Where the served model spends its time", "",
             f"Written by `python benchmarks/serving_profile.py {shlex.join(sys.argv[1:] if argv is None else argv)}` "
             f"on {datetime.date.today()}: {cpu_name()}, TensorFlow {tf.__version__}, {described}.", "",
             "`serving_default` of the exported SavedModel (input checks, the frozen network, DARK decoding) on "
             f"random crops under the TensorFlow profiler, {args.runs} calls per row: self time per op type "
             "(`framework_op_stats`), summed over the executor's threads, per call.", ""]
    metadata = ExportMetadata(config, CropOptions(config.input_size), "dark", "benchmark")
    deployed_flops = graph_conv_flops(model_graph(inference_model(model, metadata)))
    with tempfile.TemporaryDirectory() as tmp:
        for precision in args.precisions:
            export = export_saved_model(model, Path(tmp) / precision, config=config, precision=precision)
            signature = tf.saved_model.load(str(export.path)).signatures[CROPS_SIGNATURE]
            stack, stack_flops = same_precision_stack(config, precision, deployed_flops)
            for batch in args.batches:
                log_dir = Path(tmp) / f"profile-{precision}-{batch}"
                categories, ops, wall = profile_run(signature, config.input_size, batch, args.runs, log_dir)
                total = sum(categories.values())
                print(f"{precision}, batch {batch}: {wall:.1f} ms per call", flush=True)
                lines += [f"## {precision}, batch {batch}: {wall:.1f} ms per call (median)", "",
                          "| category | thread ms per call | share |", "|---|---:|---:|"]
                lines += [f"| {name} | {ms:.2f} | {100 * ms / total:.1f} % |"
                          for name, ms in sorted(categories.items(), key=lambda kv: -kv[1])]
                lines += ["", "| op type | thread ms per call | share |", "|---|---:|---:|"]
                lines += [f"| `{name}` | {ms:.2f} | {100 * ms / total:.1f} % |"
                          for name, ms in sorted(ops.items(), key=lambda kv: -kv[1])[:args.top]]
                plain_ms, inference_ms = form_comparison(model, config, metadata, precision, batch, args.runs)
                lines += ["", f"The frozen network alone, per-keypoint layers (float32 exports) vs the inference form "
                              f"(bfloat16 exports): {plain_ms:.1f} vs "
                              f"{inference_ms:.1f} ms per call (median of {args.runs} interleaved calls).", "",
                          against_the_stack(signature, stack, (deployed_flops, stack_flops), precision, categories,
                                            config.input_size, batch, args.runs), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
