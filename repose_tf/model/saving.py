"""``.keras`` files that carry their network's :class:`RePoseConfig`, skeleton included.

:func:`save_keras` writes a model atomically (a temporary file renamed into place) with its
config as one more archive entry, ``repose_config.json``, which Keras' loader ignores.
:func:`model_config` reads it back, so ``repose evaluate``, ``predict`` and ``export`` know the
keypoints, edges and flip pairs of a network trained on a custom skeleton without being told.
Files without the entry (saved by Keras itself, or before it existed) fall back to a
``config.json`` beside them (a run directory), else to the preset named like the model.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import keras

from repose_tf import pretrained
from repose_tf.config import RePoseConfig

CONFIG_ENTRY = "repose_config.json"
RUN_CONFIG = "config.json"  # beside model.keras in a run directory (repose_tf.train.fit)


def save_keras(model: keras.Model, config: RePoseConfig, path: str | os.PathLike) -> Path:
    """``model.save(path)`` with ``config`` inside the file; a kill never leaves a truncated file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=".keras", dir=path.parent)
    os.close(fd)
    try:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(CONFIG_ENTRY, config.to_json() + "\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def keras_file_config(path: str | os.PathLike) -> RePoseConfig | None:
    """The config inside a ``.keras`` file, else in the ``config.json`` beside it, else None.

    Raises:
      ValueError: the entry or the file beside is not a RePose config (the file is named).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read(CONFIG_ENTRY).decode() if CONFIG_ENTRY in archive.namelist() else None
    except (OSError, zipfile.BadZipFile):
        text = None  # Keras' loader reports what is wrong with the file itself
    where = f"{path} ({CONFIG_ENTRY})"
    if text is None and (path.parent / RUN_CONFIG).is_file():
        where, text = str(path.parent / RUN_CONFIG), (path.parent / RUN_CONFIG).read_text()
    if text is None:
        return None
    try:
        return RePoseConfig.from_dict(json.loads(text))
    except (json.JSONDecodeError, TypeError, ValueError) as e:
        raise ValueError(f"{where}: not a RePose config ({e})") from None


def model_config(model: str | os.PathLike) -> RePoseConfig | None:
    """The config a model name or file carries: a shipped model's card, a ``.keras`` file's own, or None."""
    if pretrained.is_pretrained(model):
        return pretrained.config_for(model)
    path = Path(model)
    return keras_file_config(path) if path.suffix == ".keras" and path.is_file() else None
