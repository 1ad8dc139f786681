"""``repose predict``: keypoints of the person in each image, as JSON plus an overlay PNG.

    repose predict photo.jpg more/*.png --out predictions [--box 40,10,120,300]    # the pretrained lsp-small
    repose predict photo.jpg --model savedmodel/repose --out predictions

``--model`` is a pretrained model's name (default ``lsp-small``: :mod:`repose_tf.pretrained`), a
SavedModel directory (or one of its versions), a training run or checkpoint directory (its newest
checkpoint), a ``.tflite`` file, a ``.keras`` file or a preset
name (an untrained network: the command warns).  Without ``--box`` each image is its own person box (the
centred square of the whole image); one ``--box x,y,w,h`` applies to every image, or give
one per image, in order.  For ``IMAGE`` the command writes ``<out>/<stem>.json``::

    {"image": "photo.jpg", "width": 640, "height": 480, "box": [40, 10, 120, 300] | null,
     "model": "savedmodel/repose", "format": "saved_model", "skeleton": "lsp14",
     "keypoints": [{"name": "r_ankle", "x": 101.3, "y": 287.9, "score": 0.93}, ...]}

(pixels of the original image as a photo viewer shows it, its EXIF orientation applied; 0-based,
pixel centres at integers) and ``<out>/<stem>.png``,
the image with the pose drawn by :func:`repose_tf.viz.save_overlay` (each part its own
colour, right solid, left dashed).  An image the model cannot take stops the command with
a message naming the file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from repose_tf.cli import UserError
from repose_tf.cli._args import output_problem
from repose_tf.pretrained import DEFAULT_MODEL

OVERLAY_SIDE = 2048  # overlays of larger images are drawn on a downscaled copy (the JSON keeps full-size pixels)

if TYPE_CHECKING:
    import numpy as np

    from repose_tf.inference import Prediction
    from repose_tf.skeleton import Skeleton


def _box(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"{text!r} is not x,y,w,h (four numbers separated by commas)")
    return values


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict", help="predict keypoints of images: JSON and overlay PNG per image",
        description="Predict the keypoints of the person in each image with a pretrained model (default), a "
                    "SavedModel, training run, .tflite or .keras model; write <out>/<stem>.json and <out>/<stem>.png "
                    "per image.")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="JPEG or PNG files")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"a pretrained model's name (default: {DEFAULT_MODEL}, trained on LSP + LSPET; docs/models.md), "
                        "SavedModel directory, training run or checkpoint directory, .tflite file, .keras file, "
                        "or preset name (untrained: random weights)")
    p.add_argument("--box", type=_box, action="append", metavar="X,Y,W,H",
                   help="person box in pixels (top-left corner, width, height): once for all images or once "
                        "per image; default: the whole image")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--decode", default="dark", metavar="METHOD",
                   help=".keras models and presets: heatmap decoding dark (default), quarter or argmax")
    p.add_argument("--threads", type=int, default=2, help="TFLite interpreter threads (default 2)")
    p.add_argument("--precision", default="auto", choices=("auto", "float32", "bfloat16"),
                   help="pretrained and .keras models, run directories: compute precision; auto (default): "
                        "bfloat16 on a CPU with AVX512-BF16 or AMX, float32 otherwise.  Exports run as exported")
    p.add_argument("--no-overlay", action="store_true", help="write only the JSON files")
    p.add_argument("--overwrite", action="store_true",
                   help="replace outputs of an earlier run in --out (inputs are never written over)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _output_stems(images: Sequence[Path]) -> list[str]:
    """File stems, which must be unique since outputs are named after them."""
    stems = [p.stem for p in images]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise UserError(f"several images share the name(s) {clashes}; their outputs would overwrite each other")
    return stems


def _check_outputs(images: Sequence[Path], stems: Sequence[str], out: Path, overlay: bool, overwrite: bool) -> None:
    """Refuse, before any work, outputs that would replace an input image, a file given as --out, or
    (without ``overwrite``) the outputs of an earlier run."""
    problem = output_problem(out, "--out", folder=True)
    if problem:
        raise UserError(problem)
    outputs = [out / f"{stem}{suffix}" for stem in stems for suffix in ((".json", ".png") if overlay else (".json",))]
    inputs = {path.resolve() for path in images}
    clobbered = [path for path in outputs if path.resolve() in inputs]
    if clobbered:
        raise UserError(f"{clobbered[0]} is an input image and would be replaced by an output: give another --out")
    existing = [str(path) for path in outputs if path.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise UserError(f"{', '.join(existing[:3])}{more} exist(s) from an earlier run: pass --overwrite to replace "
                        "them, or give another --out")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from repose_tf.inference import InputError, KerasPredictor, apply_exif_orientation, load_predictor
    from repose_tf.viz import save_overlay

    boxes = args.box or []
    if len(boxes) not in (0, 1, len(args.images)):
        raise UserError(f"{len(boxes)} --box for {len(args.images)} images: give one for all or one per image")
    stems = _output_stems(args.images)
    for path in args.images:
        if not path.is_file():
            raise UserError(f"{path}: no such image file")
    _check_outputs(args.images, stems, args.out, not args.no_overlay, args.overwrite)
    predictor = load_predictor(args.model, decode_method=args.decode, num_threads=args.threads,
                               precision=args.precision)
    computes = f", computing in {predictor.precision}" if isinstance(predictor, KerasPredictor) else ""
    print(f"model: {_describe(args.model)}{computes}")
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (path, stem) in enumerate(tqdm(list(zip(args.images, stems, strict=True)), desc="predict", unit="image",
                                          disable=args.no_progress or len(args.images) == 1)):
        box = boxes[0] if len(boxes) == 1 else boxes[i] if boxes else None
        data = apply_exif_orientation(path.read_bytes())  # keypoints and overlay of the upright photo
        try:
            result = predictor.predict_images([data], None if box is None else [box])
        except InputError as e:
            raise UserError(f"{path}: {e}") from None
        image = _decode_rgb(data)
        record = {"image": str(path), "width": image.shape[1], "height": image.shape[0],
                  "box": None if box is None else list(box), "model": str(args.model),
                  "format": predictor.metadata.format, "skeleton": predictor.skeleton.name,
                  "keypoints": _keypoints_json(result, predictor.skeleton)}
        (args.out / f"{stem}.json").write_text(json.dumps(record, indent=1) + "\n")
        if not args.no_overlay:
            save_overlay(args.out / f"{stem}.png", image, result.keypoints[0], predictor.skeleton,
                         max_side=OVERLAY_SIDE, scores=result.scores[0])
    print(f"wrote {len(args.images)} prediction(s) to {args.out}")
    return 0


def _describe(model: str) -> str:
    """What ``--model`` is, for the command's first line."""
    from repose_tf import pretrained
    from repose_tf.config import PRESETS

    if pretrained.is_pretrained(model):
        card = pretrained.get(model).card
        return f"{model} (pretrained: {card['summary']})"
    if model in PRESETS:
        return f"{model} (UNTRAINED preset, random weights)"
    return model


def _decode_rgb(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 RGB, decoded as the model's crop decodes it (16-bit and alpha handled alike)."""
    import tensorflow as tf

    return tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False).numpy()


def _keypoints_json(result: Prediction, skeleton: Skeleton) -> list[dict[str, float | str]]:
    """The first person's keypoints as [{"name", "x", "y", "score"}] in skeleton order."""
    return [{"name": name, "x": round(float(x), 2), "y": round(float(y), 2), "score": round(float(s), 4)}
            for name, (x, y), s in zip(skeleton.keypoints, result.keypoints[0], result.scores[0], strict=True)]

