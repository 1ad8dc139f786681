"""Deployment exports: a SavedModel for TF Serving and TFLite files (fp32, fp16, int8).

    from repose_tf.export import export_saved_model, export_tflite
    export_saved_model(model, "savedmodel/repose")                    # -> savedmodel/repose/1/
    export_tflite(model, "exports/repose-fp16.tflite", "fp16")

See ``docs/deployment.md``.
"""

from repose_tf.export.crops import CropOptions
from repose_tf.export.metadata import ExportMetadata
from repose_tf.export.saved_model import ExportError, ExportResult, export_saved_model
from repose_tf.export.tflite import QUANTIZATIONS, export_tflite

__all__ = ["QUANTIZATIONS", "CropOptions", "ExportError", "ExportMetadata", "ExportResult", "export_saved_model",
           "export_tflite"]
