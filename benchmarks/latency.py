"""Latency and throughput of one preset in every deployed form, against a plain-convolution roofline.

    python benchmarks/latency.py --quick            # the default preset "repose", ~10 min on 2 CPU cores
    python benchmarks/latency.py --preset tiny --quick
    python benchmarks/latency.py --quick --preset tiny --trained runs/tiny/model.keras \
        --records 'tfrecords/synthetic-valid-*.tfrecord'

Forms, all from crops (N, S, S, 3) to keypoints (network and heatmap decoding):

* Keras/TF: the network in a ``tf.function``, without and with XLA (``jit_compile``), and under Keras'
  ``mixed_bfloat16`` policy in its inference form (what ``repose predict --precision bfloat16`` runs).
* SavedModel: the exported ``serving_default`` signature (input checks included), float32 and
  bfloat16 (``repose export --precision bfloat16``).
* TFLite fp32 / fp16 / int8 under ``ai_edge_litert`` with XNNPACK on 2 threads.
* Roofline: a plain stack of 3x3 convolutions (64 channels at S/2) with the preset's FLOPs, in
  TF (float32 and bfloat16) and in TFLite: what the CPU does with the same arithmetic in its most
  regular form.  bfloat16 rows are compared with the bfloat16 roofline.

For the paper's network (``repose``) the written file ends with the FPD student's figures as issue 18
measured them on another CPU (quoted), or, with ``--fpd`` (needs PyTorch, see
``benchmarks/hourglass_torch.py``), with the FPD student and the 8-stack hourglass timed in this run: PyTorch
fp32 and bfloat16 (channels-last, traced, CPU autocast), their calls interleaved with the forms above.

Latency is the median of batch-1 calls; throughput the images per second of batch-32 calls; the
forms' calls are interleaved so that the load of a shared machine weighs on all of them alike.
With ``--trained``, PCK@0.2 and batch-1 ms of each TFLite mode on held-out records are added (the
int8 acceptance: within one point of fp32, >= 1.5x its speed), with the other int8 mixes for
comparison (the decoder in float too, only the heatmap layers in float, naive full int8).
Writes ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
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
from ai_edge_litert.interpreter import Interpreter
from out_check import parse_checked
from tqdm import tqdm

from repose_tf.codec import decode_heatmaps
from repose_tf.config import get_config
from repose_tf.data.records import serialize
from repose_tf.data.synthetic import synthetic_record
from repose_tf.export.crops import CropOptions
from repose_tf.export.metadata import ExportMetadata, config_of
from repose_tf.export.saved_model import (
    CROPS_SIGNATURE,
    ExportError,
    bfloat16_twin,
    export_saved_model,
    freeze,
    inference_model,
)
from repose_tf.export.tflite import (
    HEATMAP_TENSORS,
    TFLiteModel,
    convert,
    crops_module,
    float_tensors,
    representative_crops,
)
from repose_tf.hardware import cpu_name
from repose_tf.inference import load_keras_model
from repose_tf.model.builder import build_model
from repose_tf.model.complexity import graph_conv_flops, model_graph, profile
from repose_tf.train.strategy import dtype_policy

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
THROUGHPUT_BATCH = 32
# The PyTorch networks are also timed at batch 8, where issue 18 measured them: at 256 x 256 the FPD student
# runs about twice the images per second at batch 8 as at batch 32 on a 2-core CPU.
TORCH_BATCH = 8
# Quoted, not measured here: issue 18's side-by-side run of the FPD student, which this project does not ship.
FPD_NOTE = """Measured by the issue that asked for the bfloat16 rows (issue 18), 2026-12-04, on an Intel Xeon with
AVX-512 and AMX-BF16/INT8 (2 cores), PyTorch 2.13 (channels-last, traced), two alternating rounds, medians;
images/s at batch 8; not reproduced here:

| network | precision | params | GFLOPs | batch 1, ms | images/s |
|---|---|---:|---:|---:|---:|
| FPD student (4-stack hourglass, 128 ch, 256 x 256 input) | fp32 / bf16 | 3.29 M | 7.81 | 37 / 23 | 27 / 59 |
| 8-stack hourglass | fp32 / bf16 | 25.4 M | 54.9 | 202 / 76 | 4.5 / 15 |
| RePose (`repose`), TF, same machine and day | fp32 / mixed_bfloat16 | 4.06 M | 13.08 | 70 / 57 | 20-21 / 43.6 |

Compare ratios, not times, with the rows above: they come from another CPU."""
ACCURACY_PEOPLE = 500  # at most: the first 500 held-out people with a torso
# The float32 export check of an untrained network (no --trained): its heatmaps are flat, so DARK's sub-pixel
# step turns float rounding into keypoint moves that straddle the default's 0.001 px (0.0017 in one run of
# `repose`, under it in the next), and a ten-minute run died there. 1e-3 (keypoints 0.01 px) still catches a
# wrong graph, which moves heatmaps by far more. A --trained model keeps the default.
UNTRAINED_TOLERANCE = 1e-3


def roofline_model(input_size: int, flops: int) -> keras.Model:
    """A stride-2 3x3 stem to (S/2, S/2, 64), then as many 3x3 64->64 convolutions as ``flops`` allows."""
    half = input_size // 2
    stem = 2 * half * half * 9 * 3 * 64
    per_conv = 2 * half * half * 9 * 64 * 64
    inputs = keras.Input((input_size, input_size, 3))
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(inputs)
    for _ in range(max(1, round((flops - stem) / per_conv))):
        x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    return keras.Model(inputs, x, name="roofline")


def trained_like(model: keras.Model, seed: int = 0) -> keras.Model:
    """``model`` with the small non-zero biases and BatchNorm statistics of a trained network (kernels kept).

    An untrained network's biases are zeros and its BatchNorm the identity, and Grappler drops an add of
    zeros from a frozen graph: its bfloat16 convolutions then lose the bias add that lets oneDNN fuse the ReLU
    into them (measured on an AMX Xeon: a separate ReLU, ~25 % more time in a conv stack). A trained
    network has no such zeros; neither do the networks timed here, the roofline included.
    """
    rng = np.random.default_rng(seed)
    for w in model.weights:
        # The heatmap (p) blocks keep theirs: an untrained network's heatmaps have no peak, and random biases
        # there leave near-ties whose maximum the export check sees move with the last bit.
        if len(w.shape) != 1 or re.search(r"(^|/)[^/]*_p/", w.path):
            continue
        noise = rng.normal(0, 0.05, w.shape)
        w.assign(np.asarray(w.numpy()) + (np.abs(noise) if "variance" in w.path else noise))
    return model


def time_forms(forms: dict[str, Callable[[np.ndarray], object]], batch: np.ndarray, repeats: int,
               warmup: int = 1) -> dict[str, float]:
    """Median seconds of ``fn(batch)`` per form, the forms' calls interleaved round-robin.

    Interleaving spreads any change of the machine's load (other processes) over all forms
    alike, so their ratios stay meaningful on a shared machine.
    """
    for fn in forms.values():
        for _ in range(warmup):
            fn(batch)
    times: dict[str, list[float]] = {name: [] for name in forms}
    for _ in tqdm(range(repeats), desc=f"batch {len(batch)}", unit="round"):
        for name, fn in forms.items():
            start = time.perf_counter()
            fn(batch)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _tf_runner(net: keras.Model, method: str | None, xla: bool) -> Callable[[np.ndarray], object]:
    def run(crops: tf.Tensor) -> object:
        heatmaps = net(crops, training=False)
        return heatmaps if method is None else decode_heatmaps(heatmaps, method)

    fn = tf.function(run, jit_compile=xla, autograph=False, reduce_retracing=True)
    return lambda batch: [t.numpy() for t in tf.nest.flatten(fn(tf.constant(batch)))]


def _plain_tflite(net: keras.Model) -> bytes:
    """fp32 TFLite of a single-output Keras model, with a signature taking ``crops``."""
    network = freeze(net)
    module = tf.Module()
    module.f = tf.function(lambda crops: {"out": network(crops)},
                           input_signature=[tf.TensorSpec([None, *net.input_shape[1:]], tf.float32, name="crops")])
    return tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module).convert()


def _hourglass_module():
    """``benchmarks/hourglass_torch.py``, or a one-line exit when PyTorch is not installed."""
    try:
        import hourglass_torch
    except ModuleNotFoundError as e:
        if e.name != "torch":
            raise
        raise SystemExit("--fpd needs PyTorch: pip install torch (its CPU build is enough)") from None
    return hourglass_torch


def _hourglass_forms(hourglass, rng: np.random.Generator) -> dict[str, tuple[Callable, tuple[int, int]]]:
    """{row name: (runner taking a batch of RePose crops, (parameters, forward FLOPs))} for each PyTorch
    network of ``hourglass.NETWORKS`` in float32 and bfloat16. A runner times the network on its own
    input size with as many random crops as the RePose batch it is handed."""
    forms = {}
    for spec in tqdm(hourglass.NETWORKS.values(), desc="PyTorch", unit="network"):
        crops = {b: rng.uniform(0, 1, (b, spec.size, spec.size, 3)).astype(np.float32)
                 for b in (1, TORCH_BATCH, THROUGHPUT_BATCH)}
        size = hourglass.complexity(hourglass.StackedHourglass(spec), spec.size)
        for precision in ("float32", "bfloat16"):
            run = hourglass.runner(spec, precision, THREADS)
            forms[f"PyTorch {precision}: {spec.name}"] = (
                lambda b, run=run, crops=crops: run(crops[len(b)]), size)
    return forms


def _calibration_records(root: Path, count: int) -> str:
    path = root / "synthetic-calibration-00000-of-00001.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(count):
            writer.write(serialize(synthetic_record(11, i, image_size=192)))
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="repose")
    parser.add_argument("--quick", action="store_true", help="fewer timed calls (10 at batch 1, 1 at batch 32)")
    parser.add_argument("--trained", type=Path, help="a trained .keras model of --preset for the PCK check")
    parser.add_argument("--records", help="held-out TFRecords for the PCK check (with --trained)")
    parser.add_argument("--fpd", action="store_true",
                        help="also time the FPD student and the 8-stack hourglass in PyTorch (needs torch)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parse_checked(parser, None)
    hourglass = _hourglass_module() if args.fpd else None
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    repeats1, repeats32 = (10, 1) if args.quick else (50, 5)

    cfg = get_config(args.preset)
    complexity = profile(cfg)
    keras.utils.set_random_seed(0)
    model = load_keras_model(args.trained) if args.trained else trained_like(build_model(cfg))
    cfg = config_of(model, cfg)
    meta = ExportMetadata(cfg, CropOptions(cfg.input_size), "dark", "benchmark")
    net = inference_model(model, meta)
    deployed_flops = graph_conv_flops(model_graph(net))
    roofline = trained_like(roofline_model(cfg.input_size, deployed_flops))
    roofline_flops = graph_conv_flops(model_graph(roofline))
    rng = np.random.default_rng(0)
    batches = {b: rng.uniform(0, 255, (b, cfg.input_size, cfg.input_size, 3)).astype(np.float32)
               for b in (1, THROUGHPUT_BATCH)}

    forms: dict[str, Callable[[np.ndarray], object]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with tqdm(total=11, desc="build", unit="form") as bar:
            forms["Keras/TF (tf.function)"] = _tf_runner(net, "dark", xla=False)
            forms["Keras/TF bfloat16 (tf.function, mixed_bfloat16)"] = _tf_runner(
                inference_model(bfloat16_twin(model, cfg), meta), "dark", xla=False)
            forms["Keras/TF + XLA (jit_compile)"] = _tf_runner(net, "dark", xla=True)
            bar.update(3)
            export = export_saved_model(model, root / "savedmodel" / "repose", config=cfg,
                                        tolerance=None if args.trained else UNTRAINED_TOLERANCE)
            signature = tf.saved_model.load(str(export.path)).signatures[CROPS_SIGNATURE]
            forms["SavedModel serving_default"] = lambda b: signature(crops=tf.constant(b))
            try:
                export16 = export_saved_model(model, root / "savedmodel" / "bf16", config=cfg, precision="bfloat16")
                signature16 = tf.saved_model.load(str(export16.path)).signatures[CROPS_SIGNATURE]
                forms["SavedModel serving_default, bfloat16"] = lambda b: signature16(crops=tf.constant(b))
            except ExportError as e:
                notes.append(f"No bfloat16 SavedModel row: `repose export --precision bfloat16` refuses this "
                             f"model ({e.difference}); `--precision auto` exports it in float32.")
            bar.update(2)
            module = crops_module(model, meta)
            calibration = representative_crops(
                args.records or _calibration_records(root, 32), cfg, 32 if args.quick else 100)
            tflite = {"fp32": convert(module, "fp32"), "fp16": convert(module, "fp16"),
                      "int8": convert(module, "int8", calibration)}
            bar.update(3)
            for mode, data in tflite.items():
                path = root / f"{mode}.tflite"
                path.write_bytes(data)
                meta.write(path.with_name(path.name + ".json"))
                forms[f"TFLite {mode} (XNNPACK, {THREADS} threads)"] = TFLiteModel.load(path, THREADS).predict_crops
            roof_tf = _tf_runner(roofline, None, xla=False)
            roof_path = root / "roofline.tflite"
            roof_path.write_bytes(_plain_tflite(roofline))
            roof_runner = Interpreter(model_path=str(roof_path), num_threads=THREADS).get_signature_runner()
            with dtype_policy("mixed_bfloat16"):
                roofline16 = roofline_model(cfg.input_size, deployed_flops)
            roofline16.set_weights(roofline.get_weights())
            forms["Roofline: 3x3 conv stack, TF"] = roof_tf
            forms["Roofline: 3x3 conv stack, TF bfloat16"] = _tf_runner(roofline16, None, xla=False)
            forms["Roofline: 3x3 conv stack, TFLite fp32"] = lambda b: roof_runner(crops=b)
            bar.update(3)
        hourglasses = _hourglass_forms(hourglass, rng) if hourglass else {}
        forms.update({name: run for name, (run, _) in hourglasses.items()})

        single = time_forms(forms, batches[1], repeats1, warmup=2)
        many = time_forms(forms, batches[THROUGHPUT_BATCH], repeats32)
        results = {name: (single[name], many[name]) for name in forms}
        torch_batch = time_forms({name: forms[name] for name in hourglasses}, batches[1].repeat(TORCH_BATCH, 0),
                                 repeats32) if hourglasses else {}
        accuracy = _accuracy(args, root, tflite, module, calibration, meta, notes) if args.trained else None
    _write(args.out, cfg.name, complexity, deployed_flops, roofline_flops, results, accuracy, args, notes,
           {name: size for name, (_, size) in hourglasses.items()}, torch_batch)
    print(f"wrote {args.out}")


def _accuracy(args: argparse.Namespace, root: Path, tflite: dict[str, bytes], module: tf.Module,
              calibration: list[np.ndarray], meta: ExportMetadata, notes: list[str]) -> dict[str, dict[str, float]]:
    """PCK@0.2, agreement with fp32 and batch-1 ms of each TFLite mode and of the int8 alternatives: the
    decoder in float too (the mix until 2026-12-04), only the heatmap layers in float, naive int8."""
    from repose_tf.export.accuracy import records_pck
    from repose_tf.inference import TFLitePredictor

    if not args.records:
        raise SystemExit("--trained needs --records (held-out TFRecords)")
    decoder_float = re.compile(float_tensors(meta.config.input_size).pattern + r"|(^|/)dec\d+_")
    variants = dict(tflite, **{
        "int8, the decoder in float too (the mix until 2026-12-04)": convert(module, "int8", calibration,
                                                                              keep_float=decoder_float),
        "int8, only heatmap convolutions and decoding in float": convert(module, "int8", calibration,
                                                                         keep_float=HEATMAP_TENSORS),
        "int8, naive (everything quantized)": convert(module, "int8", calibration, keep_float=None)})
    rows: dict[str, dict[str, float]] = {}
    runners = {}
    reference = None
    for name, data in variants.items():
        path = root / f"accuracy-{len(rows)}.tflite"
        path.write_bytes(data)
        meta.write(path.with_name(path.name + ".json"))
        result = records_pck(TFLitePredictor(path, THREADS), args.records, count=ACCURACY_PEOPLE)
        if reference is None:
            reference = result
        error = np.linalg.norm(result.keypoints - reference.keypoints, axis=-1)
        rows[name] = {"pck": result.mean, "within": 100 * float(np.mean(error <= 0.5)),
                      "median_px": float(np.median(error))}
        runners[name] = TFLiteModel.load(path, THREADS).predict_crops
    crops = np.concatenate(calibration[:1])
    single = time_forms(runners, crops, 3 * len(calibration), warmup=2)
    for name, seconds in single.items():
        rows[name]["ms"] = 1000 * seconds
    notes.insert(0, f"PCK on {reference.people} held-out people of `{args.records}` with `{args.trained}`; "
                    f"batch-1 ms: median of {3 * len(calibration)} interleaved calls per model.")
    return rows


def _write(out: Path, preset: str, complexity, deployed_flops: int, roofline_flops: int,
           results: dict[str, tuple[float, float]], accuracy: dict[str, float] | None,
           args: argparse.Namespace, notes: list[str], hourglasses: dict[str, tuple[int, int]],
           torch_batch: dict[str, float]) -> None:
    cpu = cpu_name()
    tf_roof = results["Roofline: 3x3 conv stack, TF"][0]
    bf16_roof = results["Roofline: 3x3 conv stack, TF bfloat16"][0]
    lite_roof = results["Roofline: 3x3 conv stack, TFLite fp32"][0]
    lines = [
        "# Inference speed",
        "",
        f"Preset `{preset}`: {complexity.params / 1e6:.2f} M parameters, {complexity.flops / 1e9:.2f} GFLOPs "
        f"(`repose_tf.model.complexity.profile`, all outputs); the deployed graph (final heatmaps only, "
        f"the pre-update heads and intermediate outputs pruned) is {deployed_flops / 1e9:.2f} GFLOPs. "
        f"The roofline network is {roofline_flops / 1e9:.2f} GFLOPs.",
        "",
        f"Written by `python benchmarks/latency.py {shlex.join(sys.argv[1:])}` on "
        f"{datetime.date.today()}: {cpu}, TensorFlow {tf.__version__}, "
        f"{THREADS} threads, load average {os.getloadavg()[0]:.1f} at the end (on a shared machine the "
        "absolute numbers are slow and noisy; the calls of all forms are interleaved, so compare rows of one "
        "run, not runs).",
        "",
        "Every row maps crops to keypoints (network plus DARK decoding) except the roofline, which is the",
        "network-sized convolution stack alone. Ratio = batch-1 latency / the roofline's in the same runtime",
        "(TF rows against the TF roofline, bfloat16 rows against the bfloat16 one, TFLite rows against the",
        "TFLite one). Without `--trained` the network and the rooflines carry trained-like biases and BatchNorm",
        "statistics (`trained_like`: an untrained network's zero biases change which ops oneDNN fuses). The",
        "bfloat16 forms run the network's inference form (`build_model(..., inference=True)`).",
        "",
        "| form | batch 1, ms/image | batch 32, ms/image | batch 32, images/s | ratio to roofline |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (one, many) in results.items():
        if name in hourglasses:
            continue
        roof = lite_roof if "TFLite" in name else bf16_roof if "bfloat16" in name else tf_roof
        lines.append(f"| {name} | {1000 * one:.1f} | {1000 * many / THROUGHPUT_BATCH:.1f} | "
                     f"{THROUGHPUT_BATCH / many:.1f} | {one / roof:.2f} |")
    lines += ["", "## Targets", ""] + _targets(results)
    if accuracy is not None:
        fp32_ms = accuracy["fp32"]["ms"]
        lines += ["", "## Accuracy of the TFLite modes", "",
                  "| model | PCK@0.2 | keypoints within 0.5 px of fp32 | batch 1, ms | speed vs fp32 |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {name} | {row['pck']:.2f} | {row['within']:.1f} % (median {row['median_px']:.2f} px) | "
                  f"{row['ms']:.1f} | {fp32_ms / row['ms']:.2f}x |" for name, row in accuracy.items()]
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    if hourglasses:
        lines += ["", "## The FPD student in the same run", ""] + _hourglass_rows(
            results, hourglasses, torch_batch, complexity, deployed_flops)
    elif preset == "repose":
        lines += ["", "## Measured elsewhere: the FPD student", "", FPD_NOTE]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def _hourglass_rows(results: dict[str, tuple[float, float]], hourglasses: dict[str, tuple[int, int]],
                    torch_batch: dict[str, float], complexity, deployed_flops: int) -> list[str]:
    """The PyTorch rows beside RePose's fastest TF form, and issue 18's acceptance 1 and 2 checked on them.
    ``torch_batch``: seconds per batch of :data:`TORCH_BATCH` of each PyTorch row; a network's throughput is
    its better batch."""
    tf_rows = {name: times for name, times in results.items()
               if name not in hourglasses and not name.startswith(("Roofline", "TFLite"))}
    best = min(tf_rows, key=lambda name: tf_rows[name][1])
    fastest_one = min((name for name in results if name not in hourglasses and not name.startswith("Roofline")),
                      key=lambda name: results[name][0])
    roof = "Roofline: 3x3 conv stack, TF bfloat16" if "bfloat16" in best else "Roofline: 3x3 conv stack, TF"

    def images_s(name: str) -> float:
        return max(THROUGHPUT_BATCH / results[name][1], TORCH_BATCH / torch_batch[name])

    fpd_best = max((name for name in hourglasses if "FPD" in name), key=images_s)
    lines = [
        "PyTorch rows: the network alone (random weights, heatmaps out, no decoding), eval mode, channels-last, "
        "traced and frozen, bfloat16 under CPU autocast; input 256 x 256. RePose rows include DARK decoding.",
        "",
        f"| network | form | params | forward GFLOPs | batch 1, ms/image | batch {TORCH_BATCH}, images/s "
        f"| batch {THROUGHPUT_BATCH}, images/s |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| RePose (`repose`) | {best} (fastest TF form at batch {THROUGHPUT_BATCH}) | {complexity.params / 1e6:.2f} M | "
        f"{deployed_flops / 1e9:.2f} | {1000 * results[best][0]:.1f} | | {THROUGHPUT_BATCH / results[best][1]:.1f} |",
    ]
    for name, (params, flops) in hourglasses.items():
        one, many = results[name]
        lines.append(f"| {name.split(': ', 1)[1]} | {name.split(':')[0]} | {params / 1e6:.2f} M | {flops / 1e9:.2f} | "
                     f"{1000 * one:.1f} | {TORCH_BATCH / torch_batch[name]:.1f} | {THROUGHPUT_BATCH / many:.1f} |")
    of_roof = results[roof][1] / results[best][1]
    over_fpd = THROUGHPUT_BATCH / results[best][1] / images_s(fpd_best)
    single = 1000 * results[fastest_one][0]
    lines += [
        "",
        f"- RePose's fastest TF form at batch {THROUGHPUT_BATCH} ({best}) runs at {of_roof:.2f} of the "
        f"same-precision conv stack's images/s (issue 18 asks >= 0.75: {'met' if of_roof >= 0.75 else 'missed'}) "
        f"and {over_fpd:.2f}x the FPD student's best ({fpd_best.split(':')[0]} at its better batch; asked >= 1.5x: "
        f"{'met' if over_fpd >= 1.5 else 'missed'}).",
        f"- Fastest batch-1 form: {fastest_one}, {single:.1f} ms per image (asked <= 25 ms: "
        f"{'met' if single <= 25 else 'missed'}).",
    ]
    return lines


def _targets(results: dict[str, tuple[float, float]]) -> list[str]:
    """The issue's speed targets, checked on this run's batch-32 throughput."""
    def many(prefix: str) -> float:
        return next(seconds for name, (_, seconds) in results.items() if name.startswith(prefix))

    fp32, int8, roof = many("TFLite fp32"), many("TFLite int8"), many("Roofline: 3x3 conv stack, TFLite")
    ratio = roof / fp32
    return [
        f"- TFLite fp32 throughput / roofline (TFLite, batch {THROUGHPUT_BATCH}): {ratio:.2f} "
        f"(target >= 0.7: {'met' if ratio >= 0.7 else 'missed'}).",
        f"- TFLite int8 vs fp32 throughput: {fp32 / int8:.2f}x "
        f"(target >= 1.5x: {'met' if fp32 / int8 >= 1.5 else 'missed'}).",
    ]


if __name__ == "__main__":
    main()
