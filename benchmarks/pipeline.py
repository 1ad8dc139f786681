"""Throughput of the training input pipeline, and whether a training step is input-bound.

    python benchmarks/pipeline.py                      # synthetic 250 x 250 JPEG records
    python benchmarks/pipeline.py --pattern 'data/lsp/train-*.tfrecord'
    python benchmarks/pipeline.py --image-size 1280x720 --person-scale 2.5   # MPII-like frames

Without ``--pattern`` it writes its own TFRecords (smooth random images with texture,
JPEG quality 90, one person per image) to a temporary folder.  It measures images/s of
``make_dataset(..., "train")`` (read, parse, decode, batched affine warp, colour noise,
heatmap targets) by default, with crop-on-decode or XLA switched off, and without the
heatmaps (``heatmaps=False``: what ``repose_tf.train.fit`` reads, rendering them in the train
step), and with ``crop=False`` (the host only decodes and draws; ``augment_in="step"`` crops in the
train step: ``benchmarks/augment_in.py`` times the whole step both ways), both per wall-clock second
and per CPU second of the process (the latter does not depend on other processes sharing the cores),
with the host CPU milliseconds per training image.  Then, unless ``--skip-model``, it measures the time
of one training step (forward, the loss of eq. (3) on every output, backward, Adam) of
``repose_tf.build_model("repose")`` on a fixed batch, and reports which side is the
bottleneck.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import repose_tf  # noqa: F401  (before TensorFlow: it turns TF's oneDNN kernels on)

# isort: split
import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repose_tf import build_model  # noqa: E402
from repose_tf.data import records  # noqa: E402
from repose_tf.data.pipeline import make_dataset  # noqa: E402
from repose_tf.hardware import cpu_name  # noqa: E402
from repose_tf.skeleton import LSP14  # noqa: E402
from repose_tf.train.loss import total_loss  # noqa: E402

# make_dataset options compared: the default and each optimisation switched off.
CONFIGURATIONS = {
    "default": {},
    "crop_on_decode=False": {"crop_on_decode": False},
    "jit_compile=False": {"jit_compile": False},
    "heatmaps=False (as fit trains)": {"heatmaps": False},
    "crop=False (the train step crops)": {"crop": False},
}


def parse_size(text: str) -> tuple[int, int]:
    """'250' or '1280x720' (width x height) -> (width, height)."""
    parts = text.lower().split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or WxH, got {text!r}") from None
    if len(sizes) not in (1, 2) or min(sizes) < 16:
        raise argparse.ArgumentTypeError(f"expected N or WxH with sides >= 16, got {text!r}")
    return (sizes[0], sizes[-1])


def synthetic_image(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A photo-like (height, width, 3) uint8 image: smooth colour fields plus fine texture."""
    coarse = rng.uniform(0, 255, (max(2, height // 32), max(2, width // 32), 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), np.float32)
    texture = rng.normal(0, 12, (height, width, 1)).astype(np.float32)
    return np.clip(smooth + texture, 0, 255).astype(np.uint8)


def write_records(folder: Path, count: int, shards: int, size: tuple[int, int], person_scale: float,
                  seed: int) -> str:
    """``count`` person records in ``shards`` files; returns their glob pattern."""
    rng = np.random.default_rng(seed)
    width, height = size
    k = LSP14.num_keypoints
    writers = [tf.io.TFRecordWriter(str(folder / f"bench-{i:02d}.tfrecord")) for i in range(shards)]
    try:
        for i in tqdm(range(count), desc="writing records", unit="rec"):
            buffer = io.BytesIO()
            Image.fromarray(synthetic_image(rng, width, height)).save(buffer, format="JPEG", quality=90)
            center = np.array([rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height])
            half = person_scale * 100.0 * 0.8
            keypoints = center + rng.uniform(-half, half, (k, 2))
            record = records.PersonRecord(
                image_bytes=buffer.getvalue(), height=height, width=width, dataset="synthetic",
                image_id=f"bench{i:05d}", person_index=0, skeleton=LSP14.name, keypoints=keypoints,
                annotated=np.ones(k), visible=np.ones(k), center=center, scale=person_scale)
            writers[i % shards].write(records.serialize(record))
    finally:
        for writer in writers:
            writer.close()
    return str(folder / "bench-*.tfrecord")


def pipeline_rate(pattern: str, batch_size: int, input_size: int, batches: int, warmup: int,
                  **options: bool) -> tuple[float, float]:
    """(images per wall-clock second, images per CPU second of this process) after ``warmup`` batches.

    The second number does not depend on other processes competing for the cores.
    """
    ds = make_dataset(pattern, "train", batch_size, input_size=input_size, seed=0, **options)
    iterator = iter(ds)
    for _ in range(warmup):
        next(iterator)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in tqdm(range(batches), desc=f"pipeline {options}", unit="batch"):
        batch = next(iterator)
    # Values are computed when the iterator yields them; touching one makes it explicit.
    float(tf.reduce_sum(tf.cast(tf.nest.flatten(batch)[-1], tf.float32)))
    images_done = batches * batch_size
    return images_done / (time.perf_counter() - start), images_done / (time.process_time() - cpu_start)


def train_step_seconds(batch_size: int, input_size: int, steps: int) -> float:
    """Seconds per training step of the default model on a fixed batch."""
    model = build_model("repose")
    if model.input_shape[1] != input_size:
        raise ValueError(f"the default model takes {model.input_shape[1]} px inputs, not {input_size}")
    optimizer = keras.optimizers.Adam(1e-3)
    k = LSP14.num_keypoints
    images = tf.random.uniform([batch_size, input_size, input_size, 3], 0, 255)
    heatmaps = tf.random.uniform([batch_size, input_size, input_size, k])
    mask = tf.ones([batch_size, k])

    @tf.function
    def step(x: tf.Tensor, y: tf.Tensor, m: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            loss = total_loss(y, m, outputs)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    float(step(images, heatmaps, mask))  # trace and build the optimizer
    start = time.perf_counter()
    for _ in tqdm(range(steps), desc="train steps", unit="step"):
        loss = step(images, heatmaps, mask)
    float(loss)
    return (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pattern", help="existing TFRecords (LSP14 person records); default: generate")
    parser.add_argument("--records", type=int, default=1024, help="records to generate")
    parser.add_argument("--shards", type=int, default=4, help="files to generate")
    parser.add_argument("--image-size", type=parse_size, default=(250, 250), help="generated image size, N or WxH")
    parser.add_argument("--person-scale", type=float, default=1.25,
                        help="generated person scale (box = 200 * scale px)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=40, help="timed batches per configuration")
    parser.add_argument("--warmup", type=int, default=5, help="untimed batches first")
    parser.add_argument("--model-steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--model-batch-size", type=int, default=8,
                        help="batch of the timed training steps (memory grows with it; images/s barely does on a CPU)")
    parser.add_argument("--skip-model", action="store_true", help="time the pipeline only")
    args = parser.parse_args(argv)

    print(f"{cpu_name()}, TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.pattern:
            pattern = args.pattern
        else:
            pattern = write_records(Path(tmp), args.records, args.shards, args.image_size, args.person_scale, seed=0)
            print(f"generated {args.records} records of {args.image_size[0]}x{args.image_size[1]} JPEGs, "
                  f"person scale {args.person_scale}")
        rates = {name: pipeline_rate(pattern, args.batch_size, args.input_size, args.batches, args.warmup, **options)
                 for name, options in CONFIGURATIONS.items()}
    print(f"pipeline, batch {args.batch_size}, {args.input_size}x{args.input_size}, {LSP14.num_keypoints} heatmaps:")
    for name, (wall, cpu) in rates.items():
        print(f"  {name:<32} {wall:6.0f} images/s wall clock   {cpu:6.0f} images per CPU second"
              f"   {1000 / cpu:5.2f} CPU ms per image")
    if args.skip_model:
        return 0
    seconds = train_step_seconds(args.model_batch_size, args.input_size, args.model_steps)
    model_rate = args.model_batch_size / seconds
    best = rates["default"][0]
    print(f"training step of build_model('repose'): {seconds:.2f} s per batch of {args.model_batch_size} "
          f"= {model_rate:.1f} images/s")
    print(f"input-bound: {'yes' if best < model_rate else 'no'} "
          f"(pipeline {best:.0f} images/s vs model {model_rate:.1f} images/s; "
          "the two share the CPU when run together)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
