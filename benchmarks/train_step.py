"""Seconds per training step of a preset, with TensorFlow's oneDNN kernels on and off, with and without XLA.

    python benchmarks/train_step.py                     # tiny, batch 16 -> docs/train_step.md
    python benchmarks/train_step.py --preset repose --batch 8 --steps 3

Each configuration runs in its own process (``TF_ENABLE_ONEDNN_OPTS`` is read when TensorFlow is
imported): build the network, compile it as :func:`repose_tf.train.fit` does (FusedAdam, eq. 3 on
every output), time the first step (tracing included), then the mean of the next ``--steps``
steps on one fixed random batch.  The ratio column compares each row with the first, measured in
the same run; absolute times vary with the load of the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATIONS = (("1", False), ("0", False), ("1", True))


def measure(preset: str, batch: int, steps: int, jit: bool) -> dict[str, float]:
    """Run in the child process: first-step and mean step seconds."""
    import numpy as np
    import tensorflow as tf

    from repose_tf.config import get_config
    from repose_tf.model.builder import build_model, output_names
    from repose_tf.train.loss import PartialMSE
    from repose_tf.train.optimizer import FusedAdam

    cfg = get_config(preset)
    model = build_model(cfg)
    names = output_names(cfg)
    model.compile(optimizer=FusedAdam(1e-3), loss={n: PartialMSE() for n in names}, jit_compile=jit)
    rng = np.random.default_rng(0)
    size, k = cfg.input_size, cfg.num_keypoints
    images = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    targets = rng.uniform(0, 1, (batch, size, size, 2 * k)).astype("float32")
    data = tf.data.Dataset.from_tensors((images, {n: targets for n in names})).repeat()
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return {"first": first, "step": (time.perf_counter() - start) / steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="timed steps after the first")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "train_step.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.preset, args.batch, args.steps, args.child == "xla")))
        return 0

    load_before = os.getloadavg()
    rows = []
    for onednn, jit in CONFIGURATIONS:
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [sys.executable, __file__, "--preset", args.preset, "--batch", str(args.batch),
                   "--steps", str(args.steps), "--child", "xla" if jit else "plain"]
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append((onednn, jit, result))
        print(f"oneDNN {onednn} XLA {jit}: first step {result['first']:.1f} s, then {result['step']:.3f} s/step")
    load_after = os.getloadavg()
    base = rows[0][2]["step"]
    lines = [
        "# Training step time",
        "",
        f"Written by `python benchmarks/train_step.py --preset {args.preset} --batch {args.batch} "
        f"--steps {args.steps}` "
        f"on {time.strftime('%Y-%m-%d %H:%M')}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
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
    lines += ["", "`import repose_tf` sets `TF_ENABLE_ONEDNN_OPTS=1` unless it is set already (docs/training.md).", ""]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
