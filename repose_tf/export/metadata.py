"""What an exported model carries about itself: config, crop geometry, decoding; JSON on disk.

A SavedModel version directory holds it as ``assets.extra/repose.json`` (TF Serving ignores
``assets.extra`` except for warm-up requests); a ``.tflite`` file has it beside it as
``<file>.json``.  Clients that are not Python read the keypoint names and edges from it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras

import repose_tf
from repose_tf.codec import DECODE_METHODS
from repose_tf.config import PRESETS, RePoseConfig, get_config
from repose_tf.export.crops import CropOptions
from repose_tf.model.builder import output_names

SAVED_MODEL_METADATA = Path("assets.extra") / "repose.json"


@dataclasses.dataclass(frozen=True)
class ExportMetadata:
    """Everything needed to run an exported model and read its outputs.

    Attributes:
      config: the network's configuration (input size, skeleton, ...).
      crop: how ``predict_images`` turns encoded images into crops.
      decode_method: heatmap decoding of the exported keypoints (see :mod:`repose_tf.codec`).
      format: "saved_model" / "saved_model-bf16" (computes in bfloat16) or "tflite-fp32" /
        "tflite-fp16" / "tflite-int8".
    """

    config: RePoseConfig
    crop: CropOptions
    decode_method: str
    format: str

    def __post_init__(self) -> None:
        if self.decode_method not in DECODE_METHODS:
            raise ValueError(f"decode_method must be one of {DECODE_METHODS}, got {self.decode_method!r}")
        if self.crop.input_size != self.config.input_size:
            raise ValueError(f"crop input size {self.crop.input_size} differs from the model's "
                             f"{self.config.input_size}")

    @property
    def final_output(self) -> str:
        """Name of the Keras output that is the final prediction."""
        return output_names(self.config)[-1]

    def to_dict(self) -> dict[str, Any]:
        sk = self.config.skeleton
        return {
            "format": self.format,
            "repose_tf_version": repose_tf.__version__,
            "input_size": self.config.input_size,
            "keypoints": list(sk.keypoints),
            "edges": [list(e) for e in sk.edges],
            "decode_method": self.decode_method,
            "crop": self.crop.to_dict(),
            "config": self.config.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExportMetadata:
        return cls(config=RePoseConfig.from_dict(d["config"]), crop=CropOptions(**d["crop"]),
                   decode_method=d["decode_method"], format=d["format"])

    def write(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return out

    @classmethod
    def read(cls, path: str | Path) -> ExportMetadata:
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a repose export metadata file ({type(e).__name__}: {e})") from None


def config_of(model: keras.Model, config: str | RePoseConfig | None = None) -> RePoseConfig:
    """The configuration ``model`` was built from, checked against the model's inputs and outputs.

    Args:
      model: a model of :func:`repose_tf.build_model`.
      config: a preset name or config; default: the preset named like the model (the builder
        names models after their config).

    Raises:
      ValueError: no config given and the model's name is no preset, or the config does not
        match the model's input size, keypoint count or output names.
    """
    if config is None:
        if model.name not in PRESETS:
            raise ValueError(f"model {model.name!r} is not named after a preset; give its config "
                             f"(a preset name or a config JSON)")
        config = model.name
    cfg = get_config(config)
    names = output_names(cfg)
    outputs = model.output if isinstance(model.output, dict) else {}
    problems = []
    if tuple(model.input_shape[1:]) != (cfg.input_size, cfg.input_size, 3):
        problems.append(f"input {model.input_shape} is not (None, {cfg.input_size}, {cfg.input_size}, 3)")
    if sorted(outputs) != sorted(names):
        problems.append(f"outputs {sorted(outputs)} are not {names}")
    elif outputs[names[-1]].shape[-1] != cfg.num_keypoints:
        problems.append(f"{outputs[names[-1]].shape[-1]} heatmap channels for {cfg.num_keypoints} keypoints")
    if problems:
        raise ValueError(f"model {model.name!r} does not match config {cfg.name!r}: " + "; ".join(problems))
    return cfg
