"""SavedModel export for TF Serving: two signatures, warm-up requests, versioned layout, equality check.

Layout written by :func:`export_saved_model` (TF Serving loads the highest numbered version)::

    savedmodel/repose/
      models.config                      sample --model_config_file for tensorflow_model_server
      1/
        saved_model.pb, variables/
        assets.extra/tf_serving_warmup_requests   PredictionLog records, replayed at load
        assets.extra/repose.json                  ExportMetadata: config, crop geometry, keypoint names

Signatures (N is the batch, S the input size, K the keypoints):

``serving_default``
    ``crops`` float32 (N, S, S, 3), RGB in [0, 255] -> ``keypoints`` float32 (N, K, 2) ``(x, y)``
    crop pixels, ``scores`` float32 (N, K) heatmap maxima, ``heatmaps`` float32 (N, S, S, K).
``predict_images``
    ``images`` string (N,) JPEG/PNG bytes and optional ``boxes`` float32 (N, 4) person boxes
    ``(x, y, w, h)`` (default: none, each image is its own person box) -> ``keypoints`` float32
    (N, K, 2) in pixels of the original images and ``scores`` (N, K).  Decoding, cropping and
    heatmap decoding run in the graph (:mod:`repose_tf.export.crops`, :mod:`repose_tf.codec`).

Precision: ``float32`` (default) or ``bfloat16`` (``precision="bfloat16"``, or ``"auto"``: bfloat16
when this CPU has bfloat16 instructions).  A bfloat16 export computes the network's inference form
(``build_model(config, inference=True)``: grouped convolutions, the kinematic updates in steps) in bfloat16
(weights cast once, activations in bfloat16, heatmaps returned as float32); the signatures are the same.
On a CPU with AVX512-BF16 it ran ``lsp-small`` 1.5x as fast as float32 (docs/deployment.md), on an AMX
Xeon ``repose`` 2.1x at batch 1 and 2.7x at batch 32 (docs/performance-amx.md); a CPU without bfloat16
instructions emulates it slowly, so export it only for servers that have them.
Its check allows bfloat16's rounding: heatmaps and scores within :data:`BF16_TOLERANCE`, and the
keypoints the network finds (heatmap maximum at least :data:`BF16_KEYPOINT_MIN_SCORE`) within
:data:`BF16_KEYPOINT_TOLERANCE` crop pixels of the float32 Keras model.

Both signatures check their inputs in the graph and fail with INVALID_ARGUMENT and a message
naming the problem.  The export is written to a hidden temporary directory, reloaded, and its
outputs compared with the Keras model's on random crops and a sample image; only when they
agree within ``tolerance`` is it renamed to its version number, so a server watching the base
directory never sees a partial or wrong version.

The warm-up requests and ``models.config`` are built with the ``tensorflow-serving-api`` protos.
Without that package the SavedModel is written all the same (TF Serving loads it; only the
first request pays for initialisation) and :attr:`ExportResult.skipped` says what was left out.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

from repose_tf.codec import decode_heatmaps
from repose_tf.config import RePoseConfig
from repose_tf.data.augment import apply_affine
from repose_tf.export.crops import CropOptions, check_crops, crop_images
from repose_tf.export.metadata import SAVED_MODEL_METADATA, ExportMetadata, config_of
from repose_tf.hardware import PrecisionChoice, auto_precision
from repose_tf.tempdirs import owned_temp_dir

CROPS_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "predict_images"
WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MODELS_CONFIG = "models.config"
SERVING_API_INSTALL = 'pip install --no-deps "tensorflow-serving-api==2.21.0"'
DEFAULT_TOLERANCE = 1e-4
# Keypoints are compared in crop pixels with 10x the tolerance: the sub-pixel step of DARK divides
# by the heatmap's curvature, which turns float rounding of a flat (e.g. untrained) heatmap into
# a few 1e-4 px.  A wrong graph (BatchNorm in training mode, another crop) moves them by pixels.
KEYPOINT_TOLERANCE_FACTOR = 10.0
EXPORT_PRECISIONS = ("auto", "float32", "bfloat16")
# bfloat16 keeps 8 bits of mantissa: heatmaps (peak ~1) move by ~1e-2, keypoints by ~0.1 crop px
# (lsp-small on LSP test images: 0.009 and 0.14 px at most).
BF16_TOLERANCE = 0.03
BF16_KEYPOINT_TOLERANCE = 0.5
# A keypoint whose float32 heatmap maximum is lower is one the network does not find: its heatmap has no
# clear peak, bfloat16's rounding may move its maximum anywhere (on real crops, the keypoints that moved by
# more than 0.5 px were such ones), and its position means nothing in either precision.  The heatmap
# check (BF16_TOLERANCE) still covers every pixel of it.
BF16_KEYPOINT_MIN_SCORE = 0.5
SAMPLE_SEED = 20261205  # of the synthetic people in warm-up requests and export checks


class ExportError(RuntimeError):
    """The exported model does not reproduce the Keras model.  ``where``: the export; ``difference``: which
    output differs, by how much and what is allowed; ``hint``: what to do about it.  The message is
    ``"{where}: {difference}{hint}"``."""

    def __init__(self, where: str, difference: str, hint: str = "") -> None:
        super().__init__(f"{where}: {difference}{hint}")
        self.where, self.difference, self.hint = where, difference, hint


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """A written version: its directory, number and the largest output difference to Keras.

    ``skipped`` names the TF Serving extras not written (warm-up requests, ``models.config``)
    because ``tensorflow-serving-api`` is not installed, with the command that installs it.
    """

    path: Path
    version: int
    max_difference: float
    skipped: str | None = None
    precision: str = "float32"
    precision_reason: str = "float32 was asked for"


def serving_api_installed() -> bool:
    """Whether the ``tensorflow-serving-api`` protos can be imported."""
    return importlib.util.find_spec("tensorflow_serving") is not None


def inference_model(model: keras.Model, metadata: ExportMetadata) -> keras.Model:
    """The sub-model from ``image`` to the final heatmaps (B, S, S, K), sharing ``model``'s weights.

    Drops the intermediate-supervision outputs (and the pre-update heads, which feed nothing
    else), so exported graphs hold only what the final prediction needs.
    """
    return keras.Model(model.input, model.output[metadata.final_output], name=f"{model.name}_final")


def freeze(net: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """A single-input, single-output Keras model as a function with its weights folded in as constants.

    (N, *input_shape) float32 -> the output, inference mode.  A graph without variables saves,
    loads and starts faster (no checkpoint of hundreds of variables) and lets Grappler fold
    BatchNorm arithmetic into the convolutions.
    """
    traced = tf.function(lambda x: net(x, training=False), autograph=False).get_concrete_function(
        tf.TensorSpec([None, *net.input_shape[1:]], tf.float32, name="crops"))
    frozen = convert_variables_to_constants_v2(traced)
    return lambda x: frozen(x)[0]  # the frozen function returns its outputs as a list


def frozen_network(model: keras.Model, metadata: ExportMetadata,
                   precision: str = "float32") -> Callable[[tf.Tensor], tf.Tensor]:
    """:func:`freeze` of the final-heatmap network: (N, S, S, 3) crops in [0, 255] -> (N, S, S, K) float32
    heatmaps, computed in ``precision`` ("float32" or "bfloat16": a twin network built under Keras'
    ``mixed_bfloat16`` policy with ``model``'s weights)."""
    if precision == "float32":
        return freeze(inference_model(model, metadata))
    if precision != "bfloat16":
        raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
    network = freeze(inference_model(bfloat16_twin(model, metadata.config), metadata))
    return lambda x: tf.cast(network(x), tf.float32)


def bfloat16_twin(model: keras.Model, config: RePoseConfig) -> keras.Model:
    """``model`` rebuilt under Keras' ``mixed_bfloat16`` policy with its weights, in the inference form
    (``build_model(config, inference=True)``: the K per-keypoint heads as grouped convolutions): computes in
    bfloat16 (variables stay float32), outputs bfloat16."""
    from repose_tf.model.builder import build_model
    from repose_tf.model.convert import copy_weights
    from repose_tf.train.strategy import dtype_policy

    with dtype_policy("mixed_bfloat16"):
        twin = build_model(config, inference=True)
    copy_weights(model, twin, config)
    return twin


def export_precision(precision: str) -> PrecisionChoice:
    """The precision of an export: ``auto`` is bfloat16 on a CPU with bfloat16 instructions, else float32."""
    if precision not in EXPORT_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(EXPORT_PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return PrecisionChoice(precision, f"{precision} was asked for")
    choice = auto_precision()
    if choice.precision == "bfloat16":
        return choice
    return PrecisionChoice("float32", choice.reason)


class ServingModule(tf.Module):
    """The two signatures over a frozen network (see the module docstring)."""

    def __init__(self, network: Callable[[tf.Tensor], tf.Tensor], metadata: ExportMetadata) -> None:
        super().__init__(name="repose_serving")
        size, method = metadata.config.input_size, metadata.decode_method

        def predict_crops(crops: tf.Tensor) -> dict[str, tf.Tensor]:
            heatmaps = network(check_crops(crops, size))
            keypoints, scores = decode_heatmaps(heatmaps, method)
            return {"keypoints": keypoints, "scores": scores, "heatmaps": heatmaps}

        def predict_images(images: tf.Tensor,
                           boxes: tf.Tensor = tf.zeros([0, 4], tf.float32),  # noqa: B008 (recorded in the SignatureDef)
                           ) -> dict[str, tf.Tensor]:
            # The default lands in the SignatureDef: TF Serving and saved_model_cli accept requests without boxes.
            crops, image_from_crop = crop_images(images, boxes, metadata.crop)
            keypoints, scores = decode_heatmaps(network(crops), method)
            return {"keypoints": apply_affine(image_from_crop, keypoints), "scores": scores}

        self.serving_default = tf.function(
            predict_crops, autograph=False,
            input_signature=[tf.TensorSpec([None, None, None, None], tf.float32, name="crops")])
        self.predict_images = tf.function(
            predict_images, autograph=False,
            input_signature=[tf.TensorSpec([None], tf.string, name="images"),
                             tf.TensorSpec([None, 4], tf.float32, name="boxes")])


def next_version(base_dir: str | Path) -> int:
    """One more than the highest numeric version directory in ``base_dir`` (1 when there is none)."""
    base = Path(base_dir)
    versions = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def sample_image(width: int, height: int) -> bytes:
    """A deterministic JPEG for warm-up requests and checks: a synthetic person (no clutter, no
    occluder) filling the height, centred on a grey canvas of ``width`` x ``height``."""
    side = min(width, height)
    canvas = np.full((height, width, 3), 128, np.uint8)
    x0, y0 = (width - side) // 2, (height - side) // 2
    canvas[y0:y0 + side, x0:x0 + side] = _sample_person(2, side)
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _sample_person(index: int, size: int) -> np.ndarray:
    """Synthetic person ``index`` of the sample set, (size, size, 3) uint8."""
    from repose_tf.data.synthetic.scene import render_person

    return render_person(np.random.default_rng([SAMPLE_SEED, index]), size, occlusion=False, clutter=False)[0]


def _sample_inputs(metadata: ExportMetadata) -> tuple[np.ndarray, bytes, np.ndarray]:
    """(crops (2, S, S, 3), an image (1.5 S x S), a box on it) used by the warm-up and the check: synthetic
    people, so that a trained network's heatmaps have the peaks it gives on people (random pixels leave a
    few flat maps whose maximum bfloat16's rounding may move anywhere)."""
    size = metadata.config.input_size
    crops = np.stack([_sample_person(i, size) for i in range(2)]).astype(np.float32)
    width = max(3 * size // 2, metadata.crop.min_image_side)
    height = max(size, metadata.crop.min_image_side)
    box = np.array([[width / 4, 0.0, width / 2, height]], np.float32)
    return crops, sample_image(width, height), box


def write_warmup_requests(export_dir: str | Path, model_name: str, metadata: ExportMetadata) -> Path:
    """``assets.extra/tf_serving_warmup_requests``: one request per signature and input form.

    TF Serving replays these ``PredictionLog`` records when it loads the version, so the first
    real request does not pay for graph initialisation.  Needs ``tensorflow-serving-api``.
    """
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    crops, image, box = _sample_inputs(metadata)
    requests = [
        (CROPS_SIGNATURE, {"crops": crops[:1]}),
        (IMAGES_SIGNATURE, {"images": np.array([image], object)}),
        (IMAGES_SIGNATURE, {"images": np.array([image], object), "boxes": box}),
    ]
    out = Path(export_dir) / WARMUP_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(out)) as writer:
        for signature, inputs in requests:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return out


def write_models_config(base_dir: str | Path, model_name: str) -> Path:
    """A sample ``models.config`` beside the version directories (TF Serving's text format).

    Its ``base_path`` is where the Docker image mounts the model (``/models/<name>``).
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    entry = config.model_config_list.config.add()
    entry.name = model_name
    entry.base_path = f"/models/{model_name}"
    entry.model_platform = "tensorflow"
    entry.model_version_policy.latest.num_versions = 1
    header = (f"# tensorflow_model_server --model_config_file=/models/{model_name}/{MODELS_CONFIG}\n"
              f"# serves the highest numbered version under base_path; edit base_path outside Docker.\n")
    out = Path(base_dir) / MODELS_CONFIG
    out.write_text(header + text_format.MessageToString(config))
    return out


def check_export(model: keras.Model, export_dir: str | Path, metadata: ExportMetadata,
                 tolerance: float = DEFAULT_TOLERANCE, keypoint_tolerance: float | None = None,
                 label: str | None = None, keypoint_min_score: float | None = None) -> float:
    """Compare a SavedModel's signatures with the Keras model; return the largest difference.

    ``serving_default`` on two synthetic people against ``model(crops, training=False)`` (its final
    heatmaps, decoded), and ``predict_images`` on a sample image with and without a box
    against the same crop, model and decoding run eagerly.  Batches of two also catch
    BatchNormalization running in training mode.  Heatmaps and scores must agree within
    ``tolerance``, keypoints within ``keypoint_tolerance`` crop pixels (default
    :data:`KEYPOINT_TOLERANCE_FACTOR` x ``tolerance``); with ``keypoint_min_score``, only the keypoints
    whose expected score reaches it are compared (every heatmap pixel and score still is).  ``label``
    names the export in errors (default ``export_dir``).
    The returned difference is on the scale of ``tolerance``: the largest difference relative
    to what is allowed, times ``tolerance``.

    Raises:
      ExportError: an output differs by more than ``tolerance``.
    """
    keypoint_tolerance = KEYPOINT_TOLERANCE_FACTOR * tolerance if keypoint_tolerance is None else keypoint_tolerance
    loaded = tf.saved_model.load(str(export_dir))
    crops, image, box = _sample_inputs(metadata)
    final = metadata.final_output

    def expected(batch: np.ndarray | tf.Tensor) -> dict[str, np.ndarray]:
        heatmaps = model(batch, training=False)[final]
        keypoints, scores = decode_heatmaps(heatmaps, metadata.decode_method)
        return {"keypoints": keypoints.numpy(), "scores": scores.numpy(), "heatmaps": np.asarray(heatmaps)}

    # (name, exported outputs, expected outputs, image pixels per crop pixel)
    comparisons = [(CROPS_SIGNATURE, loaded.signatures[CROPS_SIGNATURE](crops=tf.constant(crops)), expected(crops),
                    1.0)]
    for boxes in (np.zeros((0, 4), np.float32), box):
        images = tf.constant([image])
        got = loaded.signatures[IMAGES_SIGNATURE](images=images, boxes=tf.constant(boxes))
        batch, image_from_crop = crop_images(images, boxes, metadata.crop)
        want = expected(batch)
        want["keypoints"] = apply_affine(image_from_crop, want["keypoints"]).numpy()
        del want["heatmaps"]
        scale = float(np.sqrt(np.max(np.abs(np.linalg.det(image_from_crop.numpy()[:, :2, :2])))))
        comparisons.append((f"{IMAGES_SIGNATURE} ({len(boxes)} boxes)", got, want, scale))
    worst = 0.0
    for name, got, want, scale in comparisons:
        for key, value in want.items():
            gap = np.abs(got[key].numpy() - value)
            if key == "keypoints" and keypoint_min_score is not None:
                gap = gap[want["scores"] >= keypoint_min_score]
            difference = float(np.max(gap, initial=0.0))
            allowed = keypoint_tolerance * scale if key == "keypoints" else tolerance
            if not difference <= allowed:
                raise ExportError(str(label or export_dir), f"signature {name} output {key!r} differs from the Keras "
                                                            f"model by {difference:.3g} (tolerance {allowed:.3g})")
            worst = max(worst, difference / allowed * tolerance)
    return worst


def export_saved_model(
    model: keras.Model,
    base_dir: str | Path,
    *,
    version: int | None = None,
    model_name: str | None = None,
    config: str | RePoseConfig | None = None,
    decode_method: str = "dark",
    crop: CropOptions | None = None,
    tolerance: float | None = None,
    precision: str = "float32",
) -> ExportResult:
    """Write ``model`` as version ``version`` of a TF Serving model directory.

    Args:
      model: a model of :func:`repose_tf.build_model` (trained or not).
      base_dir: the model's directory, e.g. ``savedmodel/repose``; created if missing.
      version: version number; default one more than the highest present.
      model_name: TF Serving model name for the warm-up requests and ``models.config``;
        default the name of ``base_dir``.
      config: the model's config when its name is not its preset (see
        :func:`repose_tf.export.metadata.config_of`).
      decode_method: heatmap decoding in the signatures ("dark", "quarter" or "argmax").
      crop: crop geometry and image limits of ``predict_images``; default ``CropOptions(S)``.
      tolerance: largest accepted difference between exported and Keras outputs (default
        :data:`DEFAULT_TOLERANCE`, :data:`BF16_TOLERANCE` in bfloat16).
      precision: "float32", "bfloat16" or "auto" (:func:`export_precision`); with "auto", a bfloat16
        export that fails its check (:func:`check_export`) is replaced by a float32 one, and
        ``precision_reason`` says so.

    Returns:
      The version directory, its number and the measured largest difference.

    Raises:
      FileExistsError: ``version`` exists already.
      ExportError: the export does not reproduce the model (nothing is left behind).
    """
    base = Path(base_dir)
    cfg = config_of(model, config)
    chosen = export_precision(precision)
    options = dict(version=version, model_name=model_name, decode_method=decode_method, crop=crop,
                   tolerance=tolerance)
    try:
        return _export_version(model, base, cfg, chosen, **options)
    except ExportError as e:
        if precision != "auto" or chosen.precision != "bfloat16":
            raise
        fallback = PrecisionChoice("float32", f"{chosen.reason}; but in its bfloat16 export {e.difference}, "
                                              "so float32")
        return _export_version(model, base, cfg, fallback, **options)


def _export_version(model: keras.Model, base: Path, cfg: RePoseConfig, chosen: PrecisionChoice, *,
                    version: int | None, model_name: str | None, decode_method: str, crop: CropOptions | None,
                    tolerance: float | None) -> ExportResult:
    """:func:`export_saved_model` in the precision ``chosen``."""
    bf16 = chosen.precision == "bfloat16"
    metadata = ExportMetadata(config=cfg, crop=crop or CropOptions(cfg.input_size), decode_method=decode_method,
                              format="saved_model-bf16" if bf16 else "saved_model")
    if tolerance is None:
        tolerance = BF16_TOLERANCE if bf16 else DEFAULT_TOLERANCE
    version = next_version(base) if version is None else version
    if version < 1:
        raise ValueError(f"version must be >= 1, got {version}")
    final = base / str(version)
    if final.exists():
        raise FileExistsError(f"{final} exists already; choose another --version or omit it")
    name = model_name or base.resolve().name
    base.mkdir(parents=True, exist_ok=True)
    tmp = owned_temp_dir(base, ".export")  # also removes what a killed export left
    try:
        module = ServingModule(frozen_network(model, metadata, chosen.precision), metadata)
        tf.saved_model.save(module, str(tmp), signatures={CROPS_SIGNATURE: module.serving_default,
                                                          IMAGES_SIGNATURE: module.predict_images})
        metadata.write(tmp / SAVED_MODEL_METADATA)
        serving_api = serving_api_installed()
        if serving_api:
            write_warmup_requests(tmp, name, metadata)
        try:
            difference = check_export(model, tmp, metadata, tolerance, BF16_KEYPOINT_TOLERANCE if bf16 else None,
                                      label=f"{final} (not written)",
                                      keypoint_min_score=BF16_KEYPOINT_MIN_SCORE if bf16 else None)
        except ExportError as e:
            hint = ("; in bfloat16 an untrained or barely trained network's flat heatmaps have no stable peak: "
                    "export it in float32") if bf16 else ""
            raise ExportError(e.where, e.difference, hint) from None
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not serving_api:
        return ExportResult(final, version, difference,
                            skipped=f"no warm-up requests or {MODELS_CONFIG}: tensorflow-serving-api is not "
                                    f"installed ({SERVING_API_INSTALL})", precision=chosen.precision,
                            precision_reason=chosen.reason)
    write_models_config(base, name)
    return ExportResult(final, version, difference, precision=chosen.precision, precision_reason=chosen.reason)


def resolve_version_dir(path: str | Path) -> Path:
    """A SavedModel directory: ``path`` itself, or its highest numeric version subdirectory.

    Raises:
      FileNotFoundError: neither ``path/saved_model.pb`` nor a version under ``path`` exists.
    """
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = sorted((int(p.name) for p in path.iterdir() if p.name.isdigit() and (p / "saved_model.pb").is_file())
                      if path.is_dir() else [])
    if not versions:
        raise FileNotFoundError(f"{path}: no saved_model.pb here nor in a numbered version directory under it")
    return path / str(versions[-1])
