"""Training speed in each precision, against a plain convolution stack of about the same FLOPs trained in
the same precision in the same run.

    python benchmarks/precision.py                                   # tiny, small, repose -> docs/precision.md
    python benchmarks/precision.py --presets tiny --batch 8 --out /tmp/p.md
    python benchmarks/precision.py --presets tiny --plain            # also the per-keypoint form of each network

One process builds every (network, precision) pair under its Keras dtype policy, in the fused form
:func:`repose_tf.train.fit` trains (``build_model(preset, fused=True)``; with ``--plain`` also the form of
per-keypoint layers), compiles it as fit does (FusedAdam, eq. 3 on every output), runs warm-up steps, then times
``--steps`` steps of each pair in :data:`ROUNDS` alternating rounds on one fixed random batch (median of
the rounds), so a change in the machine's load falls on every pair alike.  The stack is n Conv2D(64,
3x3)+ReLU+BatchNorm blocks (after one Conv2D from the image) at the network's input resolution with
n >= 1 chosen to match the network's forward FLOPs, trained with MSE on one output; its BatchNorm is the
network's (:class:`repose_tf.model.batch_norm.FusedBatchNormalization`), so both pay the same for it.  GFLOP/s counts 3x the forward FLOPs per image (forward
and backward).  ``auto`` in the report is what :func:`repose_tf.hardware.auto_precision` picks here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from out_check import parse_checked

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = ("float32", "bfloat16")
ROUNDS = 3
WARMUP_STEPS = 2
STACK_WIDTH = 64


def policy_name(precision: str) -> str:
    """The Keras dtype policy that trains in ``precision``: ``float32`` or ``mixed_<precision>``."""
    return "float32" if precision == "float32" else f"mixed_{precision}"


def stack_model(size: int, flops: float, norm: str = "fused"):
    """The plain conv stack with about ``flops`` forward FLOPs at ``size`` x ``size``: a Conv2D(64) from the
    image, then n Conv2D(64)+ReLU+BatchNorm blocks (n >= 1); returns (compiled model, its forward FLOPs).
    ``norm``: "fused" (the network's BatchNorm), "keras" (Keras' layer) or "none" (no BatchNorm)."""
    import keras

    from repose_tf.model.batch_norm import FusedBatchNormalization

    layer = {"fused": FusedBatchNormalization, "keras": keras.layers.BatchNormalization, "none": None}[norm]

    first = 2 * 9 * 3 * STACK_WIDTH * size * size
    per_block = 2 * 9 * STACK_WIDTH * STACK_WIDTH * size * size
    blocks = max(1, round((flops - first) / per_block))
    x = inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(STACK_WIDTH, 3, padding="same")(x)
    for _ in range(blocks):
        x = keras.layers.Conv2D(STACK_WIDTH, 3, padding="same", activation="relu")(x)
        if layer is not None:
            x = layer()(x)
    out = keras.layers.Activation("linear", dtype="float32")(x)
    model = keras.Model(inputs, out)
    model.compile(optimizer="adam", loss="mse")
    return model, first + blocks * per_block


def build(preset: str, precision: str, batch: int, plain: bool = False):
    """[(name, model, (inputs, targets), forward FLOPs)] for the network (fused form, and with ``plain`` its
    per-keypoint form) and its stack under ``precision``."""
    import numpy as np
    import tensorflow as tf

    from repose_tf.config import get_config
    from repose_tf.model.builder import build_model, output_names
    from repose_tf.model.complexity import profile
    from repose_tf.train.loss import PartialMSE, pack_targets
    from repose_tf.train.optimizer import FusedAdam
    from repose_tf.train.strategy import dtype_policy

    cfg = get_config(preset)
    rng = np.random.default_rng(0)
    size, k = cfg.input_size, cfg.num_keypoints
    images = tf.constant(rng.uniform(0, 255, (batch, size, size, 3)), tf.float32)
    flops = profile(cfg).flops
    names = output_names(cfg)
    targets = pack_targets(rng.uniform(0, size - 1, (batch, k, 2)), np.ones((batch, k)))
    stack_targets = tf.constant(rng.uniform(0, 1, (batch, size, size, STACK_WIDTH)), tf.float32)
    out = []
    with dtype_policy(policy_name(precision)):
        for fused in (True, False) if plain else (True,):
            model = build_model(cfg, fused=fused)
            model.compile(optimizer=FusedAdam(1e-3), loss={n: PartialMSE(cfg.sigma) for n in names})
            name = preset if fused else f"{preset}, per-keypoint layers"
            out.append((name, model, (images, {n: targets for n in names}), flops))
        stack, stack_flops = stack_model(size, flops)
    return [*out, (f"conv stack for {preset}", stack, (images, stack_targets), stack_flops)]


def compare(presets: list[str], batch: int, steps: int, plain: bool = False) -> list[dict]:
    """Build, warm up and time every (network, precision) pair of ``presets`` (and their stacks) in
    :data:`ROUNDS` alternating rounds of ``steps`` steps; one dict per pair with its name, preset,
    precision, forward FLOPs, median step seconds, images/s and GFLOP/s."""
    pairs = [{"name": name, "preset": preset, "precision": precision, "model": model, "data": data, "flops": flops}
             for preset in presets for precision in PRECISIONS
             for name, model, data, flops in build(preset, precision, batch, plain)]
    return time_pairs(pairs, batch, steps)


def time_pairs(pairs: list[dict], batch: int, steps: int) -> list[dict]:
    """Warm up every pair's ``model`` on its ``data`` (a fixed batch of ``batch``), then time ``steps``
    steps of each in :data:`ROUNDS` alternating rounds; adds to each pair its median step seconds (``step``),
    ``images_s`` and ``gflops_s`` (3 x its forward ``flops``), and drops its model and data."""
    import numpy as np

    for pair in pairs:
        start = time.perf_counter()
        for _ in range(1 + WARMUP_STEPS):
            pair["model"].train_on_batch(*pair["data"])
        print(f"{pair['name']}, {pair['precision']}: warmed up in {time.perf_counter() - start:.0f} s", flush=True)
        pair["rounds"] = []
    for r in range(ROUNDS):
        for pair in pairs:
            start = time.perf_counter()
            for _ in range(steps):
                pair["model"].train_on_batch(*pair["data"])
            pair["rounds"].append((time.perf_counter() - start) / steps)
        print(f"round {r + 1} of {ROUNDS} done", flush=True)
    for pair in pairs:
        pair["step"] = float(np.median(pair["rounds"]))
        pair["images_s"] = batch / pair["step"]
        pair["gflops_s"] = 3 * pair["flops"] * batch / pair["step"] / 1e9
        del pair["model"], pair["data"]
    return pairs


def table(pairs: list[dict]) -> list[str]:
    """The markdown table of :func:`compare`'s pairs: speeds, the ratio to the stack of the same preset and
    precision, the speed-up over float32, and (with per-keypoint rows) the fused form's speed-up."""
    stacks = {(p["preset"], p["precision"]): p for p in pairs if p["name"].startswith("conv stack")}
    by_key = {(p["name"], p["precision"]): p for p in pairs}
    lines = ["| network | precision | forward GFLOPs | images/s | GFLOP/s | of the stack's GFLOP/s "
             "| speed-up over float32 |", "|---|---|---:|---:|---:|---:|---:|"]
    for pair in pairs:
        stack = stacks[(pair["preset"], pair["precision"])]
        base = by_key[(pair["name"], "float32")]
        lines.append(f"| {pair['name']} | {pair['precision']} | {pair['flops'] / 1e9:.2f} | {pair['images_s']:.1f} | "
                     f"{pair['gflops_s']:.0f} | {pair['gflops_s'] / stack['gflops_s']:.2f} | "
                     f"{pair['images_s'] / base['images_s']:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "small", "repose"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per round")
    parser.add_argument("--plain", action="store_true", help="also time each network's per-keypoint form")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "precision.md")
    args = parse_checked(parser, argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from repose_tf.hardware import auto_precision, cpu_name

    load_before = os.getloadavg()[0]
    pairs = compare(args.presets, args.batch, args.steps, args.plain)
    choice = auto_precision()
    lines = ["# Training speed by precision", "",
             f"Written by `python benchmarks/precision.py --presets {' '.join(args.presets)} --batch {args.batch} "
             f"--steps {args.steps}{' --plain' if args.plain else ''}` on {time.strftime('%Y-%m-%d %H:%M')}: "
             f"**{cpu_name()}**, TF oneDNN on, "
             f"load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after (absolute speeds fall with "
             f"the load; the ratios are within one run). `--precision auto` picks **{choice.precision}** here "
             f"({choice.reason}).", "",
             f"Batch {args.batch}, one optimizer step on a fixed batch, median of {ROUNDS} alternating rounds of "
             f"{args.steps} steps. GFLOP/s = 3 x forward FLOPs x images/s. The stack: Conv2D({STACK_WIDTH}, 3x3) "
             "blocks at the input resolution with about the network's forward FLOPs, same precision, same run.", "",
             *table(pairs), ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
