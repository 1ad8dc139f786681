"""TFLite export: crops in, keypoints / scores / heatmaps out, TFLite builtin ops only.

The ``.tflite`` model has one signature, ``serving_default``: ``crops`` float32 (N, S, S, 3)
RGB in [0, 255] (N = 1 by default, resizable) -> ``keypoints`` float32 (N, K, 2) crop pixels,
``scores`` (N, K), ``heatmaps`` (N, S, S, K).  JPEG decoding and the person crop stay out of
TFLite (they run in :mod:`repose_tf.inference` or the app); heatmap decoding is inside, in
float32.  ``<file>.json`` beside it is the :class:`~repose_tf.export.metadata.ExportMetadata`.

Quantization modes:

``fp32``
    Float everywhere.
``fp16``
    Weights stored as float16 (half the file), computed in float32 on CPUs without fp16
    arithmetic.  Keypoints stay within a fraction of a pixel of fp32.
``int8``
    Integer quantization calibrated on crops from the real input pipeline
    (:func:`representative_crops`, ``make_dataset(mode="eval")``) of the encoder below full
    resolution, the decoupled heads, the kinematic updates and the decoder; the encoder's
    full-resolution stage, every heatmap convolution and the decoding stay in float
    (:func:`float_tensors`).  Quantizing the heatmap path leaves the peak a few int8 steps over
    a range dominated by the background, and its sub-pixel position (what DARK reads from the
    log-heatmap) is lost.  ``docs/deployment.md`` gives the measured trade.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from repose_tf.codec import decode_heatmaps
from repose_tf.config import RePoseConfig
from repose_tf.export.crops import CropOptions
from repose_tf.export.metadata import ExportMetadata, config_of
from repose_tf.export.saved_model import frozen_network

QUANTIZATIONS = ("fp32", "fp16", "int8")
SIGNATURE = "serving_default"
DEFAULT_CALIBRATION_STEPS = 100
# The heatmap convolutions (the ``*_p`` blocks, whose scopes Keras names ``dec32_p_1/`` and so on)
# and the decoding (scope ``decode/``): the smallest float set, which did not hold PCK on a trained
# network (docs/deployment.md).
HEATMAP_TENSORS = re.compile(r"(^|/)\w+_p(_\d+)?/|^decode/")


def float_tensors(input_size: int) -> re.Pattern:
    """TFLite tensors the ``int8`` mode keeps in float, for a network of input size ``input_size``.

    :data:`HEATMAP_TENSORS` and the encoder's full-resolution stage (``enc<input_size>_``, the
    first convolutions on the raw pixels); the final heatmaps, the network's output, are added by
    name (:func:`float_nodes`).  The decoder (``dec<r>_``) was float too until 2026-12-04; it holds
    most of the FLOPs, and in int8 it costs 0.3 to 0.6 PCK points for 1.6 to 1.7x the speed
    (docs/deployment.md).
    """
    return re.compile(HEATMAP_TENSORS.pattern + rf"|(^|/)enc{input_size}_")


def metadata_path(tflite_path: str | Path) -> Path:
    """``model.tflite`` -> ``model.tflite.json``."""
    path = Path(tflite_path)
    return path.with_name(path.name + ".json")


def crops_module(model: keras.Model, metadata: ExportMetadata) -> tf.Module:
    """A module whose ``predict`` maps crops to {keypoints, scores, heatmaps}, weights frozen to constants.

    The decoding ops sit under the name scope ``decode/`` so int8 quantization can find them.
    The converter saves the module to read its signature: without variables that is quick.
    """
    network = frozen_network(model, metadata)
    method = metadata.decode_method
    size = metadata.config.input_size

    def predict(crops: tf.Tensor) -> dict[str, tf.Tensor]:
        heatmaps = network(crops)
        with tf.name_scope("decode"):
            keypoints, scores = decode_heatmaps(heatmaps, method)
        return {"keypoints": keypoints, "scores": scores, "heatmaps": heatmaps}

    module = tf.Module(name="repose_tflite")
    module.input_size = size
    module.predict = tf.function(predict, autograph=False,
                                 input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name="crops")])
    return module


def representative_crops(pattern: str, config: RePoseConfig, count: int = DEFAULT_CALIBRATION_STEPS
                         ) -> list[np.ndarray]:
    """``count`` person crops (1, S, S, 3) float32 from TFRecords, as evaluation crops them.

    Raises:
      ValueError: no file matches ``pattern`` or the records do not fit ``config``'s skeleton.
    """
    from repose_tf.data.pipeline import make_dataset

    dataset = make_dataset(pattern, "eval", 1, input_size=config.input_size, sigma=config.sigma,
                           skeleton=config.skeleton, deterministic=True)
    crops = [images.numpy() for images, _, _ in dataset.take(count)]
    if not crops:
        raise ValueError(f"the TFRecords matching {pattern!r} hold no person to calibrate on")
    return crops


def float_nodes(tflite_model: bytes, pattern: re.Pattern) -> list[str]:
    """Names of the tensors of a float TFLite model matching ``pattern``, and the final heatmaps."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite_model)
    names = {t["name"] for t in interpreter.get_tensor_details() if pattern.search(t["name"])}
    outputs = interpreter.get_signature_runner(SIGNATURE).get_output_details()
    names.add(next(t["name"] for t in interpreter.get_tensor_details() if t["index"] == outputs["heatmaps"]["index"]))
    return sorted(names)


def convert(module: tf.Module, quantization: str, calibration: Iterable[np.ndarray] | None = None, *,
            keep_float: re.Pattern | None | str = "default") -> bytes:
    """Convert a crops module (:func:`crops_module`) to TFLite.

    Args:
      module: the module.
      quantization: "fp32", "fp16" or "int8".
      calibration: int8 only: (1, S, S, 3) float32 crops for the activation ranges.
      keep_float: int8 only: tensors (by name) left in float, plus the final heatmaps;
        "default" is :func:`float_tensors` of the module's input size; None quantizes
        everything that can be (the naive full-int8 model, for comparisons).

    Raises:
      ValueError: unknown mode, or int8 without calibration crops.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")

    def converter() -> tf.lite.TFLiteConverter:
        c = tf.lite.TFLiteConverter.from_concrete_functions([module.predict.get_concrete_function()], module)
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return c

    c = converter()
    if quantization == "fp16":
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.target_spec.supported_types = [tf.float16]
    if quantization != "int8":
        return c.convert()
    crops = list(calibration or [])
    if not crops:
        raise ValueError("int8 quantization needs calibration crops")
    if keep_float == "default":
        keep_float = float_tensors(module.input_size)
    keep = [] if keep_float is None else float_nodes(c.convert(), keep_float)
    c = converter()
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([x] for x in crops)
    with warnings.catch_warnings():
        # The debugger (the public API of selective quantization) opens tf.lite.Interpreters internally.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated", category=UserWarning)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=c, debug_dataset=lambda: ([x] for x in crops),
            debug_options=tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=keep))
    return debugger.get_nondebug_quantized_model()


def export_tflite(
    model: keras.Model,
    out_dir: str | Path,
    quantizations: Sequence[str] = ("fp32",),
    *,
    name: str | None = None,
    calibration: Iterable[np.ndarray] | None = None,
    config: str | RePoseConfig | None = None,
    decode_method: str = "dark",
    crop: CropOptions | None = None,
) -> dict[str, Path]:
    """Write ``<out_dir>/<name>-<mode>.tflite`` (plus ``.json`` metadata) for each quantization mode.

    Args:
      model: a model of :func:`repose_tf.build_model`.
      out_dir: folder of the files (created).
      quantizations: modes among :data:`QUANTIZATIONS`.
      name: file name stem; default the model's name.
      calibration: int8 only: crops from :func:`representative_crops`.
      config: as in :func:`repose_tf.export.metadata.config_of`.
      decode_method: heatmap decoding inside the model.
      crop: recorded for the callers that crop images in front of the model.

    Returns:
      mode -> path of the written file.
    """
    unknown = [q for q in quantizations if q not in QUANTIZATIONS]
    if unknown or not quantizations:
        raise ValueError(f"quantizations must be among {QUANTIZATIONS}, got {list(quantizations)}")
    cfg = config_of(model, config)
    crop = crop or CropOptions(cfg.input_size)
    module = crops_module(model, ExportMetadata(cfg, crop, decode_method, "tflite"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for mode in quantizations:
        data = convert(module, mode, calibration)
        check_builtin_ops(data)
        path = out / f"{name or model.name}-{mode}.tflite"
        path.write_bytes(data)
        ExportMetadata(cfg, crop, decode_method, f"tflite-{mode}").write(metadata_path(path))
        written[mode] = path
    return written


def check_builtin_ops(tflite_model: bytes) -> None:
    """Raise ValueError if the model uses Flex (TensorFlow) or custom ops."""
    from ai_edge_litert.interpreter import Interpreter

    ops = {op["op_name"] for op in Interpreter(model_content=tflite_model)._get_ops_details()}
    foreign = sorted(op for op in ops if op.startswith("Flex") or op == "CUSTOM")
    if foreign:
        raise ValueError(f"the TFLite model uses non-builtin ops {foreign}")


@dataclasses.dataclass
class TFLiteModel:
    """A ``.tflite`` crops model under ``ai_edge_litert`` (XNNPACK on CPU), any batch size."""

    path: Path
    metadata: ExportMetadata
    num_threads: int = 2

    def __post_init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=str(self.path), num_threads=self.num_threads)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"{self.path}: not a loadable TFLite model ({e})") from None
        self._runner: Callable[..., dict[str, np.ndarray]] = self.interpreter.get_signature_runner(SIGNATURE)

    @classmethod
    def load(cls, path: str | Path, num_threads: int = 2) -> TFLiteModel:
        """Open ``path`` and its ``.json`` metadata (written by :func:`export_tflite`)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such TFLite file")
        meta = metadata_path(path)
        if not meta.is_file():
            raise FileNotFoundError(f"{meta}: the metadata of {path.name} is missing (export_tflite writes it)")
        return cls(path, ExportMetadata.read(meta), num_threads)

    def predict_crops(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """(N, S, S, 3) float32 -> {"keypoints": (N, K, 2), "scores": (N, K), "heatmaps": (N, S, S, K)}."""
        # The signature runner resizes the input (and reallocates) for each new batch size.
        return self._runner(crops=np.ascontiguousarray(crops, np.float32))

    def graph_ops(self) -> list[tuple[str, np.dtype, str]]:
        """(operator, dtype of its first output, that tensor's name) for each op of the model's graph.

        Read from an interpreter without XNNPACK, which would replace the ops it takes over.
        """
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        plain = Interpreter(model_path=str(self.path),
                            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        tensors = {t["index"]: t for t in plain.get_tensor_details()}
        return [(op["op_name"], tensors[op["outputs"][0]]["dtype"], tensors[op["outputs"][0]]["name"])
                for op in plain._get_ops_details() if len(op["outputs"])]
