"""Seconds per training step of a preset: oneDNN kernels on and off, XLA, the cost of RePose's parts, and
the speed of tiny and repose in each precision against a conv stack of the same FLOPs.

    python benchmarks/train_step.py                     # tiny, batch 8 (the quickstart's) -> docs/train_step.md
    python benchmarks/train_step.py --preset repose --batch 8 --steps 8 --precision-presets repose

Each configuration runs in its own process (``TF_ENABLE_ONEDNN_OPTS`` is read when TensorFlow is
imported): build the network, compile it as :func:`repose_tf.train.fit` does (FusedAdam, eq. 3 on
every output), time the first ``train_on_batch`` step (tracing included), run :data:`WARMUP_STEPS`
untimed steps, then ``--steps`` timed steps on one fixed random batch in :data:`ROUNDS` rounds; a
step's time is the median of the rounds.  The second table takes the kinematic parts away (oneDNN on, no XLA):
the preset without update passes, and the UNet it reduces to without decoupling (Sec. 3.1), to
show what the per-keypoint branches and the updates cost against their share of the FLOPs, and the
network with its K per-keypoint v, head and p layers unfused (``fused=False``; every other row is the
fused form that :func:`repose_tf.train.fit` trains).  Those networks share one process and their rounds
alternate, so their ratios hold under a changing load; absolute times, and rows of the first table, vary
with the load of the machine.  The third table is ``benchmarks/precision.py``'s (:func:`precision.compare`)
for ``--precision-presets``, with both forms of each network.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import precision  # benchmarks/precision.py, beside this file

from repose_tf.hardware import cpu_name

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATIONS = (("1", False), ("0", False), ("1", True))
WARMUP_STEPS = 5
ROUNDS = 4
# The second table: config changes that take RePose's kinematic parts away, with their descriptions.
PARTS = (
    ({}, "as configured"),
    ({"fused": False}, "as configured, per-keypoint layers (`fused=False`)"),
    ({"update_passes": 0}, "no kinematic updates (`update_passes=0`)"),
    ({"update_strategy": "none"}, "no decoupling, no updates: the UNet (`update_strategy='none'`)"),
)


def measure(preset: str, batch: int, steps: int, jit: bool, variants: list[dict]) -> list[dict[str, float]]:
    """Run in the child process: per variant (config changes), first-step and median step seconds,
    trainable variables and forward FLOPs.  After every variant is built and traced, the timed steps
    run in :data:`ROUNDS` rounds that alternate between the variants, so a change in the machine's
    load falls on all of them alike; a variant's step time is the median of its rounds."""
    import numpy as np
    import tensorflow as tf

    from repose_tf.config import get_config
    from repose_tf.model.builder import build_model, output_names
    from repose_tf.model.complexity import profile
    from repose_tf.train.loss import PartialMSE, pack_targets
    from repose_tf.train.optimizer import FusedAdam

    rng = np.random.default_rng(0)
    runs = []
    for changes in variants:
        changes = dict(changes)
        fused = changes.pop("fused", True)
        cfg = get_config(preset).replace(**changes)
        model = build_model(cfg, fused=fused)
        names = output_names(cfg)
        model.compile(optimizer=FusedAdam(1e-3), loss={n: PartialMSE(cfg.sigma) for n in names}, jit_compile=jit)
        size, k = cfg.input_size, cfg.num_keypoints
        images = tf.constant(rng.uniform(0, 255, (batch, size, size, 3)), tf.float32)
        targets = pack_targets(rng.uniform(0, size - 1, (batch, k, 2)), np.ones((batch, k)))
        batch_data = (images, {n: targets for n in names})
        start = time.perf_counter()
        model.train_on_batch(*batch_data)
        first = time.perf_counter() - start
        for _ in range(WARMUP_STEPS):
            model.train_on_batch(*batch_data)
        runs.append({"model": model, "batch": batch_data, "first": first, "rounds": [],
                     "variables": len(model.trainable_variables), "flops": profile(cfg).flops})
    per_round = max(1, steps // ROUNDS)
    for _ in range(ROUNDS):
        for run in runs:
            start = time.perf_counter()
            for _ in range(per_round):
                run["model"].train_on_batch(*run["batch"])
            run["rounds"].append((time.perf_counter() - start) / per_round)
    return [{"first": r["first"], "step": float(np.median(r["rounds"])), "variables": r["variables"],
             "flops": r["flops"]} for r in runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20, help="timed steps after the warm-up")
    parser.add_argument("--precision-presets", nargs="*", default=["tiny", "repose"],
                        help="presets of the precision table (none: no table)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "train_step.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--variants", default="[{}]", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.preset, args.batch, args.steps, args.child == "xla", json.loads(args.variants))))
        return 0

    def child(onednn: str, jit: bool, variants: list[dict]) -> list[dict[str, float]]:
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [sys.executable, __file__, "--preset", args.preset, "--batch", str(args.batch),
                   "--steps", str(args.steps), "--child", "xla" if jit else "plain", "--variants", json.dumps(variants)]
        run = subprocess.run(command, env=env, capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"{' '.join(command)} failed:\n{run.stderr[-3000:]}")
        results = json.loads(run.stdout.strip().splitlines()[-1])
        for changes, result in zip(variants, results):
            print(f"oneDNN {onednn} XLA {jit} {changes}: first step {result['first']:.1f} s, "
                  f"then {result['step']:.3f} s/step")
        return results

    load_before = os.getloadavg()
    rows = [(onednn, jit, child(onednn, jit, [{}])[0]) for onednn, jit in CONFIGURATIONS]
    parts = list(zip((text for _, text in PARTS), child("1", False, [changes for changes, _ in PARTS])))
    by_precision = precision.table(precision.compare(args.precision_presets, args.batch, max(1, args.steps // ROUNDS),
                                                     plain=True)) if args.precision_presets else []
    load_after = os.getloadavg()
    base = rows[0][2]["step"]
    lines = [
        "# Training step time",
        "",
        f"Written by `python benchmarks/train_step.py --preset {args.preset} --batch {args.batch} "
        f"--steps {args.steps}` "
        f"on {time.strftime('%Y-%m-%d %H:%M')}: **{cpu_name()}**, "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after.",
        "",
        f"Preset `{args.preset}`, batch {args.batch}: one optimizer step (forward, eq. 3 on every output, backward, "
        "Adam) on a fixed batch, each configuration in its own process.",
        "",
        "| TF_ENABLE_ONEDNN_OPTS | XLA (jit_compile) | first step, s (tracing included) | s per step "
        "| relative to row 1 |",
        "|---|---|---:|---:|---:|",
    ]
    for onednn, jit, result in rows:
        lines.append(f"| {onednn} | {'yes' if jit else 'no'} | {result['first']:.1f} | {result['step']:.3f} | "
                     f"{result['step'] / base:.2f} |")
    lines += ["", "`import repose_tf` sets `TF_ENABLE_ONEDNN_OPTS=1` unless it is set already (docs/training.md).", "",
              "## What the kinematic parts cost", "",
              f"Preset `{args.preset}`, batch {args.batch}, oneDNN on, no XLA, the networks in one process, "
              f"their timed steps in {ROUNDS} alternating rounds (median of the rounds).", "",
              "| network | trainable variables | forward GFLOPs | first step, s (tracing included) | s per step "
              "| relative to row 1 |",
              "|---|---:|---:|---:|---:|---:|"]
    part_base = parts[0][1]["step"]
    for text, result in parts:
        lines.append(f"| {text} | {result['variables']} | {result['flops'] / 1e9:.2f} | {result['first']:.1f} | "
                     f"{result['step']:.3f} | {result['step'] / part_base:.2f} |")
    if by_precision:
        lines += ["", "## Each precision against a conv stack of the same FLOPs", "",
                  f"Presets {', '.join(args.precision_presets)}, batch {args.batch}, oneDNN on, no XLA, every row in one "
                  f"process, {precision.ROUNDS} alternating rounds of {max(1, args.steps // ROUNDS)} steps "
                  "(`benchmarks/precision.py`). GFLOP/s = 3 x forward FLOPs x images/s; the stack is Conv2D"
                  f"({precision.STACK_WIDTH}, 3x3) blocks at the input resolution with about the network's FLOPs, "
                  "trained in the same precision.", "", *by_precision]
    lines.append("")
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
