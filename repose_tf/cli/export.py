"""``repose export``: a trained model -> a TF Serving SavedModel version, or TFLite files.

    repose export --model model.keras --out savedmodel/repose [--version N] [--precision bfloat16]
    repose export --model model.keras --out exports --tflite fp32 fp16 int8 [--calibration 'tfrecords/*.tfrecord']

``--model`` is a ``.keras`` file or a preset name (an untrained model, for trying the
pipeline).  The SavedModel lands in ``<out>/<N>/`` (N one more than the highest present
unless ``--version`` is given) with a sample ``<out>/models.config``; each TFLite mode in
``<out>/<model>-<mode>.tflite`` with its ``.json`` metadata.  int8 calibrates on person
crops of the TFRecords matching ``--calibration``.  See ``docs/deployment.md``.

TensorFlow is imported only when the command runs, so ``repose --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from repose_tf.cli import UserError
from repose_tf.cli._args import positive_float, positive_int
from repose_tf.config import PRESETS, RePoseConfig

if TYPE_CHECKING:
    import keras

    from repose_tf.export.crops import CropOptions

DEFAULT_CALIBRATION = "tfrecords/synthetic-*.tfrecord"
CALIBRATION_STEPS = 100




def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="export a model for TF Serving (SavedModel) or TFLite",
        description="Write a versioned SavedModel for TF Serving (signatures serving_default on crops and "
                    "predict_images on encoded images, warm-up requests, models.config), or TFLite files.")
    p.add_argument("--model", required=True, help="a .keras file, or a preset name for an untrained model")
    p.add_argument("--out", required=True, type=Path,
                   help="SavedModel: the model directory (e.g. savedmodel/repose); TFLite: a folder")
    p.add_argument("--config", help="the model's config when the .keras file carries none (models trained by repose "
                                    "train do) and its name is not its preset: a preset name or a JSON file")
    p.add_argument("--version", type=positive_int, help="SavedModel version number (default: highest present + 1)")
    p.add_argument("--model-name", help="TF Serving model name (default: the name of --out)")
    p.add_argument("--decode", default="dark", metavar="METHOD",
                   help="heatmap decoding: dark (default), quarter or argmax")
    p.add_argument("--box-margin", type=positive_float, metavar="M",
                   help="crop side / longer side of a person box (default 1.25)")
    p.add_argument("--tflite", nargs="+", metavar="MODE",
                   help="write TFLite files instead of a SavedModel; modes: fp32, fp16, int8")
    p.add_argument("--calibration", default=DEFAULT_CALIBRATION, metavar="PATTERN",
                   help=f"int8: TFRecords to calibrate on (default {DEFAULT_CALIBRATION!r}, "
                        "from `repose convert synthetic --out tfrecords`)")
    p.add_argument("--calibration-steps", type=positive_int, default=CALIBRATION_STEPS, metavar="N",
                   help=f"int8: person crops to calibrate on (default {CALIBRATION_STEPS})")
    p.add_argument("--precision", default="float32", choices=("float32", "bfloat16", "auto"),
                   help="SavedModel compute precision (default float32).  bfloat16: faster on CPUs with "
                        "AVX512-BF16 or AMX (1.5x for lsp-small here, docs/deployment.md), slow on others; "
                        "auto: bfloat16 if this CPU has it")
    p.set_defaults(func=run)


def _config(text: str | None) -> str | RePoseConfig | None:
    """--config: a preset name, or a JSON file of RePoseConfig.to_dict()."""
    if text is None or text in PRESETS:
        return text
    path = Path(text)
    if not path.is_file():
        raise UserError(f"--config {text!r} is neither a preset ({', '.join(PRESETS)}) nor a JSON file")
    try:
        return RePoseConfig.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as e:
        raise UserError(f"{path}: not a RePose config JSON ({e})") from None


def run(args: argparse.Namespace) -> int:
    from repose_tf.codec import DECODE_METHODS
    from repose_tf.export.crops import CropOptions
    from repose_tf.export.metadata import config_of
    from repose_tf.inference import load_keras_model
    from repose_tf.model.saving import model_config

    if args.decode not in DECODE_METHODS:
        raise UserError(f"--decode must be one of {', '.join(DECODE_METHODS)}, got {args.decode!r}")
    if args.tflite:
        _check_tflite_args(args)
        if args.precision != "float32":
            raise UserError("--precision is for the SavedModel; TFLite precision is the --tflite mode "
                            "(fp32, fp16, int8)")
    config = _config(args.config) or model_config(args.model)
    model = load_keras_model(args.model)
    cfg = config_of(model, config)
    margin = {} if args.box_margin is None else {"box_margin": args.box_margin}
    crop = CropOptions(cfg.input_size, **margin)
    if args.tflite:
        return _run_tflite(args, model, cfg, crop)
    from repose_tf.export.saved_model import ExportError, export_saved_model

    try:
        result = export_saved_model(model, args.out, version=args.version, model_name=args.model_name, config=cfg,
                                    decode_method=args.decode, crop=crop, precision=args.precision)
    except (ExportError, FileExistsError) as e:
        raise UserError(str(e)) from None
    extra = f"; {result.skipped}" if result.skipped else f" and {args.out / 'models.config'}"
    if args.precision != "float32":
        print(f"precision {args.precision}: {result.precision} ({result.precision_reason})")
    print(f"wrote {result.path} ({result.precision}, version {result.version}; outputs match Keras within "
          f"{result.max_difference:.1e}){extra}")
    return 0


def _check_tflite_args(args: argparse.Namespace) -> None:
    """Refuse bad TFLite arguments before the model is loaded."""
    from repose_tf.data.pipeline import resolve_files
    from repose_tf.export.tflite import QUANTIZATIONS

    unknown = [m for m in args.tflite if m not in QUANTIZATIONS]
    if unknown:
        raise UserError(f"--tflite modes must be among {', '.join(QUANTIZATIONS)}, got {', '.join(unknown)}")
    if args.out.suffix == ".tflite":
        raise UserError(f"--out {args.out}: give a folder; files are named <model>-<mode>.tflite")
    if "int8" in args.tflite:
        try:
            resolve_files(args.calibration)
        except ValueError as e:
            raise UserError(f"int8 calibration: {e}; make records with `repose convert synthetic --count 200 "
                            f"--out tfrecords` or pass --calibration") from None


def _run_tflite(args: argparse.Namespace, model: keras.Model, cfg: RePoseConfig, crop: CropOptions) -> int:
    from repose_tf.export.tflite import export_tflite, representative_crops

    calibration = None
    if "int8" in args.tflite:
        try:
            calibration = representative_crops(args.calibration, cfg, args.calibration_steps)
        except ValueError as e:
            raise UserError(f"int8 calibration: {e}") from None
    name = args.model if args.model in PRESETS else Path(args.model).stem
    written = export_tflite(model, args.out, list(dict.fromkeys(args.tflite)), name=name, calibration=calibration,
                            config=cfg, decode_method=args.decode, crop=crop)
    for path in written.values():
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
