"""Keypoints from a RePose model in any of its forms: one API for the CLI, notebooks and benchmarks.

    from repose_tf.inference import load_predictor
    predictor = load_predictor("lsp-small")   # or "savedmodel/repose", "model.keras", "repose-int8.tflite"
    result = predictor.predict_images([open("photo.jpg", "rb").read()], boxes=[[40, 10, 120, 300]])
    result.keypoints   # (1, K, 2) (x, y) pixels of photo.jpg; result.scores (1, K)

Every form crops images the same way (:func:`repose_tf.export.crops.crop_images`: inside the
SavedModel's ``predict_images`` signature, in a tf.function in front of ``.keras`` and ``.tflite``
models) and decodes heatmaps with :func:`repose_tf.codec.decode_heatmaps`.  Pixel
conventions are those of :mod:`repose_tf.export.crops`.

Bad input (undecodable bytes, a box outside the image, crops of the wrong shape...) raises
:class:`InputError` with the message of the failed check.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from repose_tf import pretrained
from repose_tf.codec import decode_heatmaps
from repose_tf.config import PRESETS, RePoseConfig
from repose_tf.data.augment import apply_affine
from repose_tf.export.crops import CropOptions, check_crops, crop_images, error_message
from repose_tf.export.metadata import SAVED_MODEL_METADATA, ExportMetadata, config_of
from repose_tf.export.saved_model import (
    CROPS_SIGNATURE,
    IMAGES_SIGNATURE,
    bfloat16_twin,
    export_precision,
    inference_model,
    resolve_version_dir,
)
from repose_tf.model.builder import build_model
from repose_tf.model.saving import model_config
from repose_tf.skeleton import Skeleton
from repose_tf.train.checkpoints import checkpoint_in, load_network


class InputError(ValueError):
    """Input the model cannot take; the message says which item and why."""


class UntrainedModelWarning(UserWarning):
    """A model was built from a preset name: random weights, meaningless keypoints."""


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Predicted keypoints of N people.

    keypoints: (N, K, 2) float32 (x, y) pixels: of the original images (``predict_images``) or
      of the crops (``predict_crops``); 0-based, pixel centres at integers.
    scores: (N, K) float32, the heatmap maximum per keypoint (about 1 where confident).
    heatmaps: (N, S, S, K) float32 final heatmaps (``predict_crops`` only, else None).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    heatmaps: np.ndarray | None = None


class Predictor(abc.ABC):
    """A loaded model.  Subclasses implement :meth:`predict_crops`; images go through the shared crop."""

    def __init__(self, metadata: ExportMetadata, source: Path | str) -> None:
        self.metadata = metadata
        self.source = source
        self._crop = tf.function(
            lambda images, boxes: crop_images(images, boxes, metadata.crop), autograph=False,
            input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None, 4], tf.float32)])

    @property
    def skeleton(self) -> Skeleton:
        return self.metadata.config.skeleton

    @property
    def input_size(self) -> int:
        return self.metadata.config.input_size

    @abc.abstractmethod
    def predict_crops(self, crops: np.ndarray) -> Prediction:
        """(N, S, S, 3) float32 RGB crops in [0, 255] -> keypoints in crop pixels, scores, heatmaps."""

    def predict_images(self, images: Sequence[bytes], boxes: np.ndarray | Sequence[Sequence[float]] | None = None
                       ) -> Prediction:
        """Encoded JPEG/PNG images (and optional (N, 4) ``x, y, w, h`` person boxes) -> keypoints in image pixels.

        Pixels are taken as stored: apply :func:`apply_exif_orientation` to photos first."""
        encoded, box_rows = _image_inputs(images, boxes)
        with _input_errors():
            crops, image_from_crop = self._crop(encoded, box_rows)
        out = self.predict_crops(crops.numpy())
        keypoints = apply_affine(image_from_crop, out.keypoints).numpy()
        return Prediction(keypoints, out.scores)


class KerasPredictor(Predictor):
    """A Keras model; heatmaps decoded with ``decode_method``, computed in ``precision`` ("float32" or
    "bfloat16": :func:`repose_tf.export.saved_model.bfloat16_twin`; outputs float32 either way)."""

    def __init__(self, model: keras.Model, metadata: ExportMetadata, source: Path | str,
                 precision: str = "float32") -> None:
        super().__init__(metadata, source)
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
        self.precision = precision
        net = inference_model(model if precision == "float32" else bfloat16_twin(model, metadata.config), metadata)
        size, method = metadata.config.input_size, metadata.decode_method

        def run(crops: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            heatmaps = tf.cast(net(check_crops(crops, size), training=False), tf.float32)
            return (*decode_heatmaps(heatmaps, method), heatmaps)

        # Any shape, so that bad crops reach check_crops (one trace for every input).
        self._run = tf.function(run, autograph=False, input_signature=[tf.TensorSpec(None, tf.float32)])

    def predict_crops(self, crops: np.ndarray) -> Prediction:
        with _input_errors():
            keypoints, scores, heatmaps = self._run(tf.constant(_float_crops(crops)))
        return Prediction(keypoints.numpy(), scores.numpy(), heatmaps.numpy())


class SavedModelPredictor(Predictor):
    """A SavedModel of :func:`repose_tf.export.export_saved_model`, through its two signatures."""

    def __init__(self, export_dir: Path) -> None:
        super().__init__(ExportMetadata.read(export_dir / SAVED_MODEL_METADATA), export_dir)
        loaded = tf.saved_model.load(str(export_dir))
        self._loaded = loaded  # keeps the signatures' resources alive
        self._crops = loaded.signatures[CROPS_SIGNATURE]
        self._images = loaded.signatures[IMAGES_SIGNATURE]

    def predict_crops(self, crops: np.ndarray) -> Prediction:
        with _input_errors():
            out = self._crops(crops=tf.constant(_float_crops(crops)))
        return Prediction(out["keypoints"].numpy(), out["scores"].numpy(), out["heatmaps"].numpy())

    def predict_images(self, images: Sequence[bytes], boxes: np.ndarray | Sequence[Sequence[float]] | None = None
                       ) -> Prediction:
        encoded, box_rows = _image_inputs(images, boxes)
        with _input_errors():
            out = self._images(images=encoded, boxes=box_rows)
        return Prediction(out["keypoints"].numpy(), out["scores"].numpy())


class TFLitePredictor(Predictor):
    """A ``.tflite`` file of :func:`repose_tf.export.export_tflite` on ``num_threads`` CPU threads."""

    def __init__(self, path: Path, num_threads: int = 2) -> None:
        from repose_tf.export.tflite import TFLiteModel

        self.model = TFLiteModel.load(path, num_threads)
        super().__init__(self.model.metadata, path)

    def predict_crops(self, crops: np.ndarray) -> Prediction:
        with _input_errors():
            checked = check_crops(_float_crops(crops), self.input_size).numpy()
        out = self.model.predict_crops(checked)
        return Prediction(out["keypoints"], out["scores"], out["heatmaps"])


def load_keras_model(model: str | Path) -> keras.Model:
    """A shipped model's name (:mod:`repose_tf.pretrained`), a ``.keras`` file, or a preset name.

    A preset name builds an UNTRAINED network (random weights, for tests and benchmarks), with a
    warning that says so.

    Raises:
      FileNotFoundError: no file at the path.
      ValueError: none of the three, or a file Keras cannot load.
    """
    if pretrained.is_pretrained(model):
        model = pretrained.get(str(model)).path
    elif str(model) in PRESETS:
        warnings.warn(f"{model!r} is a preset name: an UNTRAINED network with random weights, whose keypoints "
                      f"mean nothing; trained models: {', '.join(pretrained.available()) or 'none shipped'}, "
                      "or a .keras file / SavedModel of your own", UntrainedModelWarning, stacklevel=2)
        return build_model(str(model))
    path = Path(model)
    if path.suffix != ".keras":
        raise ValueError(f"{model}: expected a pretrained model ({', '.join(pretrained.available())}), a .keras "
                         f"file or a preset name ({', '.join(PRESETS)})")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    import repose_tf.model.layers  # noqa: F401  (registers the layers the file refers to)

    try:
        return keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, TypeError, KeyError) as e:
        raise ValueError(f"{path}: not a loadable Keras model ({' '.join(str(e).split())[:300]})") from None


def load_predictor(model: str | Path, *, config: str | RePoseConfig | None = None, decode_method: str = "dark",
                   crop: CropOptions | None = None, num_threads: int = 2, precision: str = "float32") -> Predictor:
    """Open a model for prediction.

    Args:
      model: a shipped model's name (:mod:`repose_tf.pretrained`), a SavedModel (a version directory or
        the model directory holding numbered versions: the highest is used), a training run directory
        or checkpoint directory (its newest checkpoint), a ``.tflite`` file, a ``.keras`` file, or a
        preset name (an untrained model, with an :class:`UntrainedModelWarning`).
      config, decode_method, crop: for ``.keras`` models and presets (exports carry their own); the
        default config is the one the model carries (:func:`repose_tf.model.saving.model_config`),
        else the preset named like the model.
      num_threads: CPU threads of a TFLite interpreter.
      precision: compute precision of Keras models, run directories and presets: "float32",
        "bfloat16" or "auto" (bfloat16 on a CPU with bfloat16 instructions:
        :func:`repose_tf.export.saved_model.export_precision`).  Exports run in the precision they
        were exported in.

    Raises:
      FileNotFoundError, ValueError: a path that is none of the above.
    """
    path = Path(model)
    if not pretrained.is_pretrained(model) and path.is_dir():
        checkpoint = checkpoint_in(path)
        if checkpoint is None:
            return SavedModelPredictor(resolve_version_dir(path))
        cfg = checkpoint.config()
        metadata = ExportMetadata(cfg, crop or CropOptions(cfg.input_size), decode_method, "keras")
        return KerasPredictor(load_network(checkpoint), metadata, str(checkpoint.path),
                              export_precision(precision).precision)
    if path.suffix == ".tflite":
        return TFLitePredictor(path, num_threads)
    config = config or model_config(model)
    keras_model = load_keras_model(model)
    cfg = config_of(keras_model, config)
    metadata = ExportMetadata(cfg, crop or CropOptions(cfg.input_size), decode_method, "keras")
    return KerasPredictor(keras_model, metadata, model, export_precision(precision).precision)


EXIF_ORIENTATION = 0x0112


def apply_exif_orientation(data: bytes) -> bytes:
    """An encoded image as a photo viewer shows it: a JPEG whose EXIF Orientation tag is not 1 (every
    phone photo taken sideways) is rotated/mirrored accordingly and re-encoded as PNG (lossless); any
    other image comes back unchanged.  The predictors and the SavedModel's ``predict_images`` take pixels
    as stored, so pass photos through this first (``repose predict`` does); keypoints are then pixels of
    the upright image.  Bytes PIL cannot read come back unchanged, for the decoder to report.
    """
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.getexif().get(EXIF_ORIENTATION, 1) in (None, 1):
                return data
            upright = ImageOps.exif_transpose(image)
            buffer = io.BytesIO()
            upright.save(buffer, format="PNG")
            return buffer.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return data


def _float_crops(crops: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(crops, np.float32)
    except (TypeError, ValueError) as e:
        raise InputError(f"crops must be a float array (N, S, S, 3): {e}") from None


def _image_inputs(images: Sequence[bytes], boxes: np.ndarray | Sequence[Sequence[float]] | None
                  ) -> tuple[tf.Tensor, tf.Tensor]:
    """(N,) string tensor and (N, 4) or (0, 4) float32 boxes, with type errors as InputError."""
    if isinstance(images, (bytes, str)):
        raise InputError("images must be a sequence of encoded images (bytes), not a single one")
    for i, data in enumerate(images):
        if not isinstance(data, bytes):
            raise InputError(f"images[{i}] is {type(data).__name__}, not encoded image bytes")
    try:
        rows = np.zeros((0, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32).reshape(-1, 4)
    except (TypeError, ValueError) as e:
        raise InputError(f"boxes must be (N, 4) numbers x, y, w, h: {e}") from None
    return tf.constant(list(images), tf.string, shape=[len(images)]), tf.constant(rows)


@contextlib.contextmanager
def _input_errors() -> Iterator[None]:
    """TensorFlow's InvalidArgumentError from a check or a decoder -> :class:`InputError`."""
    try:
        yield
    except tf.errors.InvalidArgumentError as e:
        raise InputError(error_message(e)) from None
