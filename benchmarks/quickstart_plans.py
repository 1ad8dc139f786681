"""The short training runs that chose the quickstart's plan (docs/training.md, "The quickstart").

    repose quickstart --out quickstart --smoke            # or a full run: writes quickstart/data
    python benchmarks/quickstart_plans.py --data quickstart/data            # every variant, ~7 min each
    python benchmarks/quickstart_plans.py --data quickstart/data --only sigma6_light

Each variant trains the ``tiny`` network with :func:`repose_tf.train.fit` on ``synthetic-train``
(Adam, 50 warm-up steps, cosine decay) for as many crops as ``--steps`` steps of batch 16 hold:
a batch-8 variant takes twice the steps, so every variant sees the same crops in about the same
time.  The validation PCK@0.2 on the first 150 ``synthetic-val`` people is logged every 3200 crops
(200 steps of 16); the table goes to stdout and, with ``--out``, to a Markdown file.  Variants
differ in the batch size, the target's sigma, the augmentation, the learning rate and the
initialisation of the heatmap (p) layers.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from pathlib import Path

import repose_tf  # noqa: F401  (before TensorFlow: oneDNN on)
from repose_tf.cli._args import positive_int
from repose_tf.config import get_config
from repose_tf.data.augment import AugmentConfig
from repose_tf.train.fit import TrainRecipe, fit

PAPER_AUGMENT = AugmentConfig()
LIGHT_AUGMENT = AugmentConfig(scale_range=(0.9, 1.1), max_rotation=0.0)


@dataclasses.dataclass(frozen=True)
class Variant:
    sigma: float
    augment: AugmentConfig
    learning_rate: float
    heatmap_init: str = "small"
    batch_size: int = 16


VARIANTS = {
    "sigma4_paper_lr2e-3": Variant(4.0, PAPER_AUGMENT, 2e-3, "glorot"),
    "sigma4_paper_lr5e-3": Variant(4.0, PAPER_AUGMENT, 5e-3, "glorot"),
    "sigma6_light_glorot": Variant(6.0, LIGHT_AUGMENT, 5e-3, "glorot"),
    "sigma6_light": Variant(6.0, LIGHT_AUGMENT, 5e-3),
    **{f"sigma{sigma:g}_light_batch8": Variant(sigma, LIGHT_AUGMENT, 5e-3, batch_size=8)
       for sigma in (6.0, 4.0, 3.0, 2.0)},
}
REFERENCE_BATCH = 16
LOG_EVERY_CROPS = 3200


def run(name: str, variant: Variant, data: Path, out: Path, steps: int) -> list[tuple[int, float]]:
    """Train one variant for the crops of ``steps`` steps of batch 16; return (crops seen, validation PCK) pairs."""
    batch = variant.batch_size
    log_every = LOG_EVERY_CROPS // batch
    recipe = TrainRecipe(steps=steps * REFERENCE_BATCH // batch, batch_size=batch, learning_rate=variant.learning_rate,
                         schedule="cosine", warmup_steps=50, checkpoint_every=log_every // 2, pck_every=log_every,
                         val_limit=150, shuffle_buffer=4000, augment=variant.augment)
    cfg = get_config("tiny").replace(sigma=variant.sigma, heatmap_init=variant.heatmap_init)
    result = fit(cfg, str(data / "synthetic-train-*.tfrecord"), out / name,
                 val_data=str(data / "synthetic-val-*.tfrecord"), recipe=recipe, strategy="default")
    with result.history.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["val_pck"] not in ("", "nan")]
    return [(int(float(r["step"])) * batch, float(r["val_pck"])) for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with synthetic-train/-val shards")
    parser.add_argument("--runs", type=Path, default=Path("runs/quickstart_plans"), help="run directories")
    parser.add_argument("--steps", type=positive_int, default=600,
                        help="steps of batch 16 (a batch-8 variant runs twice as many)")
    parser.add_argument("--only", action="append", choices=sorted(VARIANTS), help="run these variants only")
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args(argv)
    lines = ["| variant | batch | sigma | augmentation | Adam lr | p-block init | validation PCK@0.2 by crops seen "
             "| minutes |", "|---|---:|---:|---|---:|---|---|---:|"]
    for name in args.only or list(VARIANTS):
        variant = VARIANTS[name]
        start = time.time()
        curve = run(name, variant, args.data, args.runs, args.steps)
        augment = "paper" if variant.augment == PAPER_AUGMENT else "light"
        points = ", ".join(f"{crops / 1000:g}k: {pck:.1f}" for crops, pck in curve)
        lines.append(f"| {name} | {variant.batch_size} | {variant.sigma:g} | {augment} | {variant.learning_rate:g} "
                     f"| {variant.heatmap_init} "
                     f"| {points} | {(time.time() - start) / 60:.1f} |")
        print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
