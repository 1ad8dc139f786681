"""Which heatmaps of a trained model are dead (zero on every input): the check of a collapsed run.

    python benchmarks/dead_heatmaps.py --model runs/quickstart-amx/run/model.keras
    python benchmarks/dead_heatmaps.py --model lsp-small --people 64

Runs the model on synthetic people (:func:`repose_tf.data.synthetic.scene.render_person`, seed 0) and prints, for every output, each keypoint's largest heatmap value over them; a 0 is a dead channel
(:mod:`repose_tf.eval.dead_heatmaps`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import repose_tf  # noqa: F401  (before TensorFlow: it turns TF's oneDNN kernels on)

# isort: split
import numpy as np

from repose_tf import pretrained
from repose_tf.data.synthetic.scene import render_person
from repose_tf.eval.dead_heatmaps import dead_heatmaps, heatmap_maxima
from repose_tf.inference import load_keras_model
from repose_tf.model.saving import model_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a .keras file or a shipped model's name")
    parser.add_argument("--people", type=int, default=16, help="synthetic people to run (default 16)")
    args = parser.parse_args(argv)
    if args.people < 1:
        parser.error("--people must be at least 1")
    if not pretrained.is_pretrained(args.model) and not Path(args.model).is_file():
        parser.error(f"--model: no file {args.model} (and no shipped model of that name)")
    config = model_config(args.model)
    if config is None:
        parser.error(f"{args.model} does not carry its config: give a model saved by repose_tf")
    model = load_keras_model(args.model)
    rng = np.random.default_rng(0)
    images = np.stack([render_person(rng, config.input_size)[0] for _ in range(args.people)])
    names = config.skeleton.keypoints
    print(f"largest heatmap value over {args.people} synthetic people, per output and keypoint")
    print(f"{'output':14s} " + " ".join(f"{n[:8]:>8s}" for n in names))
    for output, maxima in heatmap_maxima(model, images).items():
        print(f"{output:14s} " + " ".join(f"{v:8.3f}" for v in maxima))
    dead = dead_heatmaps(model, images, config.skeleton)
    print("dead: " + ("; ".join(f"{o}: {', '.join(k)}" for o, k in dead.items()) if dead else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
