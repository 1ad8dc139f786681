"""Weights between the two forms of one network: per-keypoint layers (``build_model(config)``) and the K
per-keypoint layers fused into one (``build_model(config, fused=True)``, :func:`fused_layers`); and from
either to the inference form (``build_model(config, inference=True)``: also the kinematic updates of
non-neighbours as one layer, :func:`step_layers`).

A fused weight is its K per-keypoint weights concatenated on the last axis, in keypoint order, so the
conversion is exact both ways (``tests/model/test_fused.py``):

    >>> plain, fused = build_model("tiny"), build_model("tiny", fused=True)
    >>> copy_weights(plain, fused, "tiny")      # fused now computes what plain computes

:func:`copy_shared_weights` starts a network of other keypoints from a trained one (fine-tuning on a new
skeleton): the layers both networks have, with the same shapes.
"""

from __future__ import annotations

import keras
import numpy as np

from repose_tf.config import RePoseConfig
from repose_tf.model.builder import build_model, fused_layers, step_layers


def _step_value(values: dict[str, np.ndarray], parts: list[str], rest: str) -> np.ndarray:
    """Variable ``rest`` of a :class:`repose_tf.model.layers.KinematicStep` from its per-keypoint updates
    ``parts``: the λ_k side by side, h's kernel block-diagonal, the rest concatenated on the last axis."""
    if rest == "lambda":
        return np.stack([values[f"{part}/lambda"] for part in parts])
    if rest == "h/conv/kernel":
        kernels = [values[f"{part}/h/conv/kernel"] for part in parts]
        rows, cols = sum(k.shape[2] for k in kernels), sum(k.shape[3] for k in kernels)
        out = np.zeros((1, 1, rows, cols), kernels[0].dtype)
        r = c = 0
        for k in kernels:
            out[:, :, r:r + k.shape[2], c:c + k.shape[3]] = k
            r, c = r + k.shape[2], c + k.shape[3]
        return out
    return np.concatenate([values[f"{part}/{rest}"] for part in parts], axis=-1)


def convert_values(values: dict[str, np.ndarray], paths: list[str], config: str | RePoseConfig) -> list[np.ndarray]:
    """The arrays for the variable ``paths`` of one form, from ``values`` ({variable path: array}) of
    either form: a layer of both forms is copied, a fused layer concatenates its K parts on the last
    axis, a per-keypoint layer is its slice of the fused one.  The inference form's kinematic steps
    (:func:`step_layers`) are built from per-keypoint updates (one way only)."""
    fused, steps = fused_layers(config), step_layers(config)
    part_of = {part: (name, k, len(parts)) for name, parts in fused.items() for k, part in enumerate(parts)}
    out = []
    for path in paths:
        if path in values:
            out.append(values[path])
            continue
        layer, _, rest = path.partition("/")
        if layer in steps:
            out.append(_step_value(values, steps[layer], rest))
        elif layer in fused:
            out.append(np.concatenate([values[f"{part}/{rest}"] for part in fused[layer]], axis=-1))
        elif layer in part_of:
            name, k, count = part_of[layer]
            out.append(np.split(values[f"{name}/{rest}"], count, axis=-1)[k])
        else:
            raise KeyError(f"no weights for {path}: the models are not two forms of one network")
    return out


def copy_weights(source: keras.Model, target: keras.Model, config: str | RePoseConfig) -> None:
    """Give ``target`` the weights of ``source``, two forms (plain or fused) of the network of ``config``."""
    values = {w.path: np.asarray(w.numpy()) for w in source.weights}
    for variable, value in zip(target.weights, convert_values(values, [w.path for w in target.weights], config)):
        variable.assign(value)


def copy_shared_weights(source: keras.Model, target: keras.Model, config: str | RePoseConfig) -> tuple[int, int]:
    """Give ``target`` (either form of the network of ``config``) the weights of ``source`` (a plain network
    of other keypoints, same widths) for every variable both have under the same path with the same
    shape: the trunk (f and d blocks, decoder), and the per-keypoint layers of keypoints of the same name
    (named after their keypoint).  The rest (the K-channel heatmap outputs, the layers of new keypoints)
    keep the values ``target`` has.  Returns (variables taken, variables of the network).
    """
    plain = build_model(config)
    copy_weights(target, plain, config)
    values = {w.path: np.asarray(w.numpy()) for w in source.weights}
    taken = 0
    for variable in plain.weights:
        value = values.get(variable.path)
        if value is not None and value.shape == tuple(variable.shape):
            variable.assign(value)
            taken += 1
    copy_weights(plain, target, config)
    return taken, len(plain.weights)
