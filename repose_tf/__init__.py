"""repose-tf: the RePose pose estimator (Isack et al.) in TensorFlow/Keras.

    import repose_tf
    model = repose_tf.build_model("repose")      # the paper's network: 4.06M params, 13.1 GFLOPs
    model = repose_tf.load_model("lsp-small")    # a pretrained one (docs/models.md), or a .keras file

Attributes are imported lazily so light commands (``repose score``) do not pay for TensorFlow.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# TensorFlow's x86 wheels switch their oneDNN kernels on only for some Intel CPUs.  On the
# others (AMD EPYC here, many cloud VMs) the stock CPU kernels train RePose more slowly:
# docs/train_step.md.  The user's own setting wins; it takes effect only when this
# package is imported before TensorFlow (the ``repose`` command always is).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

# name -> its module, or (module, attribute) where the attribute is named otherwise
_EXPORTS = {
    "load_model": ("repose_tf.inference", "load_keras_model"),
    "build_model": "repose_tf.model",
    "output_names": "repose_tf.model",
    "RePoseConfig": "repose_tf.config",
    "PRESETS": "repose_tf.config",
    "get_config": "repose_tf.config",
    "Skeleton": "repose_tf.skeleton",
    "LSP14": "repose_tf.skeleton",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name] if isinstance(_EXPORTS[name], tuple) else (_EXPORTS[name], name)
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'repose_tf' has no attribute {name!r}")
