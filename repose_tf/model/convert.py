"""Weights between the two forms of one network: per-keypoint layers (``build_model(config)``) and the K
per-keypoint layers fused into one (``build_model(config, fused=True)``, :func:`fused_layers`).

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
from repose_tf.model.builder import build_model, fused_layers


def convert_values(values: dict[str, np.ndarray], paths: list[str], config: str | RePoseConfig) -> list[np.ndarray]:
    """The arrays for the variable ``paths`` of one form, from ``values`` ({variable path: array}) of
    either form: a layer of both forms is copied, a fused layer concatenates its K parts on the last
    axis, a per-keypoint layer is its slice of the fused one."""
    fused = fused_layers(config)
    part_of = {part: (name, k, len(parts)) for name, parts in fused.items() for k, part in enumerate(parts)}
    out = []
    for path in paths:
        if path in values:
            out.append(values[path])
            continue
        layer, _, rest = path.partition("/")
        if layer in fused:
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
