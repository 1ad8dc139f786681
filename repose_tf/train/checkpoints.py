"""Training checkpoints: atomic writes, the ``latest`` pointer, config checks, restore.

Layout of ``<run>/checkpoints``::

    ckpt-000001000/
      config.json          the network's RePoseConfig (compared on resume and on load)
      state.json           {"step", "learning_rate", "loss", "time", "fused"}, written last
      model.weights.h5     the network's weights (Keras ``save_weights``, matched by layer path)
      optimizer.npz        the optimizer's variables, in ``optimizer.variables`` order
    latest                 "ckpt-000001000": the newest complete checkpoint

A checkpoint is written into a hidden temporary directory, which is renamed into place only
once every file is there; then ``latest`` is replaced (write a temporary file, rename).  A
kill at any moment leaves either the previous checkpoint or the new one as ``latest``, never a
partial one; leftover temporary directories are removed by the next run.  The newest ``keep``
checkpoints are kept.

The optimizer state (Adam moments, the step counter that drives the learning-rate schedule,
the loss scale under float16) is part of the checkpoint, so a resumed run continues at the same
step and learning rate.  Under multi-worker training only the chief writes (the workers hold
identical copies of every variable).

(TensorFlow's object-graph checkpoints are not used: for Keras 3 functional models they key
variables by operation index and silently miss the weights of nested layers.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from repose_tf.config import RePoseConfig
from repose_tf.model.builder import build_model, is_fused
from repose_tf.model.convert import copy_weights

LATEST = "latest"
CONFIG_FILE = "config.json"
STATE_FILE = "state.json"
WEIGHTS_FILE = "model.weights.h5"
OPTIMIZER_FILE = "optimizer.npz"
_NAME = re.compile(r"ckpt-(\d{9})")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, incomplete, or of another network."""


@dataclasses.dataclass(frozen=True)
class CheckpointInfo:
    """One complete checkpoint on disk.

    Attributes:
      path: its directory (``.../ckpt-NNNNNNNNN``).
      step: the optimizer step it was taken at.
      state: the content of ``state.json``.
    """

    path: Path
    step: int
    state: dict[str, Any]

    def config(self) -> RePoseConfig:
        return read_config(self.path / CONFIG_FILE)

    @property
    def fused(self) -> bool:
        """Whether the weights are of ``build_model(config, fused=True)`` (False in checkpoints from before)."""
        return bool(self.state.get("fused", False))


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:09d}"


def read_config(path: Path) -> RePoseConfig:
    """A RePoseConfig JSON file; CheckpointError naming the file if it is not one."""
    try:
        return RePoseConfig.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; the checkpoint does not say which network it holds") from None
    except (json.JSONDecodeError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: not a RePose config ({e})") from None


def check_same_network(expected: RePoseConfig, found: RePoseConfig, where: Path) -> None:
    """Raise CheckpointError naming the differing fields when ``found`` is not ``expected``."""
    a, b = expected.to_dict(), found.to_dict()
    if a == b:
        return
    diff = ", ".join(f"{k}: {b[k]!r} in the checkpoint, {a[k]!r} asked" for k in a if a[k] != b.get(k))
    raise CheckpointError(f"{where} holds a checkpoint of network {found.name!r}, not of {expected.name!r} "
                          f"({diff}); use the same --preset/--config as the run that wrote it, or another --out")


def complete_checkpoints(directory: Path) -> list[CheckpointInfo]:
    """The complete checkpoints in ``directory`` (those with a readable state.json), oldest first."""
    found = []
    for path in sorted(directory.glob("ckpt-*")) if directory.is_dir() else []:
        match = _NAME.fullmatch(path.name)
        if not match or not path.is_dir():
            continue
        try:
            state = json.loads((path / STATE_FILE).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            continue
        found.append(CheckpointInfo(path, int(match.group(1)), state))
    return found


def latest_checkpoint(directory: str | os.PathLike) -> CheckpointInfo | None:
    """The checkpoint ``latest`` names, else the newest complete one, else None."""
    directory = Path(directory)
    complete = complete_checkpoints(directory)
    try:
        name = (directory / LATEST).read_text().strip()
    except FileNotFoundError:
        name = None
    for info in reversed(complete):
        if info.path.name == name:
            return info
    return complete[-1] if complete else None


def find_checkpoint(path: str | os.PathLike) -> CheckpointInfo:
    """A checkpoint from a run directory, its ``checkpoints`` directory, or one ``ckpt-*`` directory.

    Raises:
      CheckpointError: no complete checkpoint there.
    """
    path = Path(path)
    if _NAME.fullmatch(path.name) and (path / STATE_FILE).is_file():
        return CheckpointInfo(path, int(path.name[5:]), json.loads((path / STATE_FILE).read_text()))
    for directory in (path / "checkpoints", path):
        info = latest_checkpoint(directory)
        if info is not None:
            return info
    raise CheckpointError(f"{path}: no complete checkpoint (ckpt-NNNNNNNNN/ with {STATE_FILE}) here "
                          "nor in its checkpoints/ folder")


def checkpoint_in(path: str | os.PathLike) -> CheckpointInfo | None:
    """:func:`find_checkpoint`, or None where ``path`` holds no checkpoint (another kind of model folder)."""
    try:
        return find_checkpoint(path)
    except CheckpointError:
        return None


def restore(info: CheckpointInfo, model: keras.Model, optimizer: keras.optimizers.Optimizer | None = None) -> None:
    """Load a checkpoint's weights (and the optimizer state when ``optimizer`` is given).

    The optimizer must be built (``optimizer.build(model.trainable_variables)``) so that its
    variables exist to receive the values.

    Raises:
      CheckpointError: the files do not fit this network or optimizer (the checkpoint is named).
    """
    same_form = info.fused == is_fused(model)
    if not same_form and optimizer is not None:
        raise CheckpointError(f"{info.path}: its weights are of the {'fused' if info.fused else 'plain'} network; "
                              "resume it with the same form")
    try:
        if same_form:
            model.load_weights(info.path / WEIGHTS_FILE)
        else:  # the other form of the network: load there, convert exactly (repose_tf.model.convert)
            source = build_model(info.config(), fused=info.fused)
            source.load_weights(info.path / WEIGHTS_FILE)
            copy_weights(source, model, info.config())
    except (ValueError, OSError, KeyError) as e:
        raise CheckpointError(f"{info.path}: cannot load its weights into this network ({e})") from None
    if optimizer is None:
        return
    with np.load(info.path / OPTIMIZER_FILE) as stored:
        values = [stored[f"v{i}"] for i in range(len(stored.files))]
    variables = optimizer.variables
    if len(values) != len(variables):
        raise CheckpointError(f"{info.path}: {len(values)} optimizer variables stored, this optimizer has "
                              f"{len(variables)}")
    for i, (variable, value) in enumerate(zip(variables, values)):
        if tuple(variable.shape) != value.shape:
            raise CheckpointError(f"{info.path}: optimizer variable {i} ({variable.path}) has shape "
                                  f"{tuple(variable.shape)}, the checkpoint {value.shape}")
        variable.assign(value)


def load_network(info: CheckpointInfo) -> keras.Model:
    """The float32 network a checkpoint holds: :func:`repose_tf.model.build_model` of its config, its weights.

    Raises:
      CheckpointError: the weights do not fit the config stored beside them.
    """
    model = build_model(info.config())
    restore(info, model)
    return model


class CheckpointWriter:
    """Writes checkpoints of one run atomically and prunes old ones (see the module docstring).

    Args:
      directory: ``<run>/checkpoints``.
      config: the network's config, stored with every checkpoint.
      keep: how many of the newest checkpoints to keep (>= 1).
      chief: whether this process writes (False on non-chief workers: :meth:`save` does nothing).
    """

    def __init__(self, directory: str | os.PathLike, config: RePoseConfig, keep: int = 3, chief: bool = True) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.directory = Path(directory)
        self.config = config
        self.keep = keep
        self.chief = chief
        if chief:
            self.directory.mkdir(parents=True, exist_ok=True)
            for stale in self.directory.glob(".ckpt-*.tmp*"):
                shutil.rmtree(stale, ignore_errors=True)

    def save(self, step: int, model: keras.Model, optimizer: keras.optimizers.Optimizer,
             state: dict[str, Any] | None = None) -> Path | None:
        """Write the checkpoint of ``step``; return its directory (None on non-chief workers)."""
        if not self.chief:
            return None
        name = checkpoint_name(step)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp", dir=self.directory))
        try:
            model.save_weights(tmp / WEIGHTS_FILE)
            np.savez(tmp / OPTIMIZER_FILE,
                     **{f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)})
            (tmp / CONFIG_FILE).write_text(self.config.to_json() + "\n")
            (tmp / STATE_FILE).write_text(json.dumps({"step": step, "time": time.time(), "fused": is_fused(model),
                                                      **(state or {})}) + "\n")
            final = self.directory / name
            if final.exists():  # the same step written by an earlier run that stopped right after
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        pointer = self.directory / f".{LATEST}.tmp"
        pointer.write_text(name + "\n")
        os.replace(pointer, self.directory / LATEST)
        self._prune(keep_name=name)
        return final

    def _prune(self, keep_name: str) -> None:
        complete = complete_checkpoints(self.directory)
        for info in complete[:-self.keep]:
            if info.path.name != keep_name:
                shutil.rmtree(info.path, ignore_errors=True)
