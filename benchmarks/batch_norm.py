"""What the fused BatchNorm saves: training speed with Keras' ``BatchNormalization`` against
:class:`repose_tf.model.batch_norm.FusedBatchNormalization`, same networks, same run.

    python benchmarks/batch_norm.py                               # repose at batch 16 -> docs/batch_norm.md
    python benchmarks/batch_norm.py --presets tiny --batch 32 --out /tmp/bn.md

For each precision (float32, bfloat16) one process builds: the network with each BatchNorm (the fused form
:func:`repose_tf.train.fit` trains; the Keras-BatchNorm copy is built with ``ConvBlock`` pointed at Keras'
layer), and the conv stack of ``benchmarks/precision.py`` with each BatchNorm and without any. Every model
is compiled as ``precision.py`` compiles it, warmed up, and timed in alternating rounds on one fixed batch
(median of the rounds).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

import precision as bench
from out_check import parse_checked

ROOT = Path(__file__).resolve().parents[1]
NORMS = {"fused": "fused BatchNorm", "keras": "Keras BatchNorm"}


def models(preset: str, precision: str, batch: int) -> list[tuple[str, object, tuple, float]]:
    """[(row name, compiled model, (inputs, targets), forward FLOPs)] for one precision."""
    import keras

    from repose_tf.model import layers
    from repose_tf.model.batch_norm import FusedBatchNormalization
    from repose_tf.train.strategy import dtype_policy

    rows = []
    for norm, cls in (("fused", FusedBatchNormalization), ("keras", keras.layers.BatchNormalization)):
        layers.FusedBatchNormalization = cls
        try:
            (name, model, data, flops), (_, stack, stack_data, stack_flops) = bench.build(preset, precision, batch)
        finally:
            layers.FusedBatchNormalization = FusedBatchNormalization
        if norm == "keras":
            with dtype_policy(bench.policy_name(precision)):
                stack, _ = bench.stack_model(model.input_shape[1], flops, norm="keras")
        label = NORMS[norm]
        rows += [(f"{name}, {label}", model, data, flops), (f"conv stack, {label}", stack, stack_data, stack_flops)]
    with dtype_policy(bench.policy_name(precision)):
        bare, _ = bench.stack_model(model.input_shape[1], flops, norm="none")
    rows.append(("conv stack, no BatchNorm", bare, stack_data, stack_flops))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["repose"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per round")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "batch_norm.md")
    args = parse_checked(parser, None)

    from repose_tf.hardware import cpu_name

    load_before = os.getloadavg()[0]
    pairs = bench.time_pairs([{"name": name, "precision": precision, "model": model, "data": data, "flops": flops}
                              for preset in args.presets for precision in bench.PRECISIONS
                              for name, model, data, flops in models(preset, precision, args.batch)],
                             args.batch, args.steps)
    lines = [
        "# Fused BatchNorm against Keras' BatchNormalization",
        "",
        f"Written by `{shlex.join(['python', 'benchmarks/batch_norm.py', *sys.argv[1:]])}` on "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}: **{cpu_name()}**, TF oneDNN on, load average "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after.",
        "",
        f"Batch {args.batch}, one optimizer step on a fixed batch, median of {bench.ROUNDS} alternating rounds of "
        f"{args.steps} steps. The stacks are `benchmarks/precision.py`'s. GFLOP/s = 3 x forward FLOPs x images/s.",
        "",
        "| model | precision | images/s | GFLOP/s | fused over Keras BatchNorm |",
        "|---|---|---:|---:|---:|",
    ]
    speed = {(pair["name"], pair["precision"]): pair["images_s"] for pair in pairs}
    for pair in pairs:
        keras_row = (pair["name"].replace(NORMS["fused"], NORMS["keras"]), pair["precision"])
        gain = f"{pair['images_s'] / speed[keras_row]:.2f}" if NORMS["fused"] in pair["name"] else ""
        lines.append(f"| {pair['name']} | {pair['precision']} | {pair['images_s']:.1f} | {pair['gflops_s']:.0f} | "
                     f"{gain} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
