"""Where to crop and augment on this machine: training steps per second with ``augment_in="pipeline"``
(tf.data on the host) against ``augment_in="step"`` (the train step crops), in one run.

    python benchmarks/augment_in.py                                   # small, batch 16, on tfrecords/ (LSP)
    python benchmarks/augment_in.py --preset tiny --batch 8 --data 'tfrecords/synthetic-train-*.tfrecord'

Both models are the network ``fit`` trains (fused form, the ``auto`` precision), compiled as ``fit``
compiles it, each fed by its own ``keras_training_dataset`` of the same records and seed; after a
warm-up each runs ``--steps`` train steps (``train_on_batch`` on the next batch of one iterator per place)
in :data:`ROUNDS` alternating rounds (median of the rounds), so a change in the machine's load falls on
both alike.  Reported per place: images/s of wall clock and CPU seconds of the process per image (the
pipeline's threads included).  Written to ``--out`` (default ``docs/augment_in.md``) with the CPU and the
load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repose_tf.config import RePoseConfig

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3
PLACES = ("pipeline", "step")


def build(preset: str | RePoseConfig, place: str, batch: int, data: list[str]):
    """(model compiled as fit compiles it, its dataset) for ``place``."""
    import keras
    import tensorflow as tf

    from repose_tf.config import get_config
    from repose_tf.model.builder import build_model
    from repose_tf.train.fit import DataSource, TrainRecipe, compile_for_training, keras_training_dataset
    from repose_tf.train.strategy import dtype_policy, precision_policy, trainable_model

    cfg = get_config(preset)
    recipe = TrainRecipe(steps=100_000, batch_size=batch, schedule="cosine", precision="auto", augment_in=place)
    policy, _ = precision_policy(tf.distribute.get_strategy(), "auto")
    keras.utils.set_random_seed(0)
    with dtype_policy(policy):
        model = trainable_model(build_model(cfg, fused=True), tf.distribute.get_strategy(),
                                cfg if place == "step" else None)
        compile_for_training(model, cfg, recipe)
    dataset = keras_training_dataset([DataSource(d) for d in data], cfg, recipe, seed=0, crop=place == "pipeline")
    return model, dataset, policy


def train(run: dict, steps: int) -> None:
    """``steps`` train steps of ``run``'s model on the next batches of its iterator (kept across rounds, so
    its prefetch and shuffle buffer stay warm); the (images, targets) of the pipeline, the uncropped dict
    of the step."""
    for _ in range(steps):
        batch = next(run["batches"])
        logs = run["model"].train_on_batch(*batch) if isinstance(batch, tuple) else run["model"].train_on_batch(batch)
    float(logs[0] if isinstance(logs, list) else logs)


def compare(preset: str | RePoseConfig, batch: int, steps: int, warmup: int, data: list[str]) -> tuple[dict, str]:
    """Rates of both places (see the module docstring): ({place: {"images_s", "cpu_ms"}}, dtype policy)."""
    import numpy as np

    runs, policy = {}, ""
    for place in PLACES:
        model, dataset, policy = build(preset, place, batch, data)
        run = {"model": model, "batches": iter(dataset), "wall": [], "cpu": []}
        start = time.perf_counter()
        train(run, warmup)
        print(f"{place}: built and warmed up in {time.perf_counter() - start:.0f} s", flush=True)
        runs[place] = run
    for r in range(ROUNDS):
        for place, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            train(run, steps)
            run["wall"].append(time.perf_counter() - wall)
            run["cpu"].append(time.process_time() - cpu)
        print(f"round {r + 1} of {ROUNDS} done", flush=True)
    images = steps * batch
    return {place: {"images_s": images / float(np.median(run["wall"])),
                    "cpu_ms": 1000 * float(np.median(run["cpu"])) / images} for place, run in runs.items()}, policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per round and place")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (tracing included)")
    parser.add_argument("--data", action="append", help="training TFRecords, repeatable "
                        "(default: tfrecords/lsp-train-*.tfrecord and tfrecords/lspet-train-*.tfrecord)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "augment_in.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    import tensorflow as tf

    from repose_tf.hardware import cpu_name

    data = args.data or ["tfrecords/lsp-train-*.tfrecord", "tfrecords/lspet-train-*.tfrecord"]
    load_before = os.getloadavg()[0]
    results, policy = compare(args.preset, args.batch, args.steps, args.warmup, data)
    load_after = os.getloadavg()[0]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    command = "python benchmarks/augment_in.py " + " ".join(argv if argv is not None else sys.argv[1:])
    base = results["pipeline"]["images_s"]
    busy = (" (above the cores: other processes ran too, and the alternating rounds share their load between "
            "the places)") if max(load_before, load_after) > (os.cpu_count() or 1) else ""
    lines = [
        "# Where to crop and augment: tf.data or the train step", "",
        f"Written by `{command.strip()}` on {when} UTC: **{cpu_name()}**, TensorFlow {tf.__version__}, GPUs: "
        f"{len(tf.config.list_physical_devices('GPU'))}; load average {load_before:.1f} before, {load_after:.1f} "
        f"after{busy}.", "",
        f"Preset `{args.preset}`, batch {args.batch}, {policy}, the data {', '.join(f'`{d}`' for d in data)}: "
        f"the train step of `repose_tf.train.fit`, {args.steps} steps per round, median of {ROUNDS} "
        "alternating rounds (`benchmarks/augment_in.py`).", "",
        "| augment_in | images/s | relative | CPU ms per image (process) |", "|---|---:|---:|---:|"]
    for place, r in results.items():
        lines.append(f"| {place} | {r['images_s']:.1f} | {r['images_s'] / base:.2f} | {r['cpu_ms']:.1f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
