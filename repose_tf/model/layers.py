"""Keras layers of RePose, in the paper's notation (Sec. 3.1-3.2).

All layers are registered under the ``repose`` package so ``.keras`` files round-trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from repose_tf.model.batch_norm import FusedBatchNormalization

_PACKAGE = "repose"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConvBlock(keras.layers.Layer):
    """The paper's convolutional block: Conv2D -> ReLU -> BatchNorm; ``(K,S,F)_u`` without BatchNorm.

    Input (B, H, W, C) -> output (B, ceil(H/S), ceil(W/S), F).  ``use_bn=False`` is
    ``(K,S,F)_u``: Conv2D -> ReLU, the p blocks that output heatmaps (so heatmaps are
    non-negative, like their Gaussian targets; ``docs/architecture.md``, reading 6).

    Example:
        >>> ConvBlock(64, 3)(keras.ops.zeros((1, 16, 16, 8))).shape
        (1, 16, 16, 64)
    """

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, use_bn: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.use_bn = use_bn
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                                        kernel_initializer=self.kernel_initializer,
                                        bias_initializer=self.bias_initializer, dtype=self.dtype_policy, name="conv")
        self.bn = (FusedBatchNormalization(dtype=self.dtype_policy, name="bn")
                   if use_bn else None)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.conv.build(input_shape)
        if self.bn is not None:
            self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, x: Any, training: bool | None = None) -> Any:
        x = ops.relu(self.conv(x))
        if self.bn is not None:
            x = self.bn(x, training=training)
        return x

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return self.conv.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "use_bn": self.use_bn,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GroupedConvBlock(ConvBlock):
    """``groups`` convolutional blocks side by side, block k on channel group k of the input.

    Input (B, H, W, groups*C) -> output (B, H, W, groups*filters): output group k is what a
    :class:`ConvBlock` with weights k gives on input group k.  The K per-keypoint blocks of the
    heads (3,1,32) and their p blocks (3,1,1)_u as one layer (``docs/architecture.md``, "One layer
    for K keypoints"): the kernel is the K kernels concatenated on the output axis,
    (kernel_size, kernel_size, C, groups*filters); bias and BatchNorm (per channel) likewise.

    The convolution runs as one per group, on the kernel's slices: what it saves against K layers is
    the K-1 bias adds, ReLUs and BatchNorms of each block, and layers to trace.  TensorFlow's grouped
    convolution is not used for training: on the CPU its gradient exists only in the oneDNN kernels, which
    TF did not always pick here ("Gradients for grouped convolutions are not supported on CPU"), and XLA's
    CPU grouped convolution was far slower than the separate ones in a scratch timing (``docs/architecture.md``).
    ``single_conv=True`` (inference graphs, :func:`repose_tf.model.builder.build_model` with
    ``inference=True``) runs it as that one grouped convolution: the same sums, one oneDNN call instead of
    ``groups`` (the inference form's gain: ``docs/serving_profile.md``, ``python benchmarks/serving_profile.py``).

    Example:
        >>> GroupedConvBlock(14, 16, 3)(keras.ops.zeros((1, 8, 8, 14 * 16))).shape
        (1, 8, 8, 224)
    """

    def __init__(self, groups: int, filters: int, kernel_size: int, single_conv: bool = False, **kwargs: Any) -> None:
        if kwargs.get("strides", 1) != 1:
            raise ValueError("GroupedConvBlock has stride 1")
        super().__init__(groups * filters, kernel_size, **kwargs)
        self.groups, self.single_conv = groups, single_conv

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(f"{self.name}: {channels} input channels do not split into {self.groups} groups")
        self.conv.build((*input_shape[:-1], channels // self.groups))
        if self.bn is not None:
            self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, x: Any, training: bool | None = None) -> Any:
        kernel = ops.cast(self.conv.kernel, self.compute_dtype)
        if self.single_conv:
            # groups = input channels / the kernel's input channels.  Not keras.ops.conv: it compiles every
            # grouped convolution with XLA, the slow path above.
            y = tf.nn.conv2d(x, kernel, 1, "SAME")
        else:
            y = ops.concatenate([ops.conv(xk, kk, padding="same") for xk, kk in zip(
                ops.split(x, self.groups, axis=-1), ops.split(kernel, self.groups, axis=-1))], axis=-1)
        x = ops.relu(y + ops.cast(self.conv.bias, self.compute_dtype))
        if self.bn is not None:
            x = self.bn(x, training=training)
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters // self.groups, "groups": self.groups,
                "single_conv": self.single_conv}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConvStack(keras.layers.Layer):
    """``(K,1,F)^r``: r convolutional blocks in sequence (f, g_k and the head trunks).

    (B, H, W, C) -> (B, H, W, F).  With ``groups`` > 1, r :class:`GroupedConvBlock` s: ``groups``
    stacks side by side, (B, H, W, groups*C) -> (B, H, W, groups*F), e.g. the K head trunks as one;
    ``single_conv`` as in :class:`GroupedConvBlock`.
    """

    def __init__(self, filters: int, repeats: int, kernel_size: int = 3, groups: int = 1, single_conv: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters, self.repeats, self.kernel_size, self.groups = filters, repeats, kernel_size, groups
        self.single_conv = single_conv
        self.blocks = [ConvBlock(filters, kernel_size, dtype=self.dtype_policy, name=f"block{i + 1}") if groups == 1
                       else GroupedConvBlock(groups, filters, kernel_size, single_conv, dtype=self.dtype_policy,
                                             name=f"block{i + 1}")
                       for i in range(repeats)]

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = input_shape
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)

    def call(self, x: Any, training: bool | None = None) -> Any:
        for block in self.blocks:
            x = block(x, training=training)
        return x

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        if not self.repeats:
            return input_shape
        return (*input_shape[:-1], self.groups * self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "repeats": self.repeats,
                "kernel_size": self.kernel_size, "groups": self.groups, "single_conv": self.single_conv}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class KinematicUpdate(keras.layers.Layer):
    """One kinematic feature update of keypoint k, eq. (1)-(2).

    Inputs: ``[f_k, f_j1, f_j2, ...]`` for j in N(k), each (B, h, w, C).
    Output: updated f_k, (B, h, w, C):

        c_k = [f_k, f_j | j in N(k)]                  (1)
        f_k <- f_k + λ_k g_k(h_k(c_k))                (2)   strategy "trainable"
        f_k <- f_k + g_k(h_k(c_k))                          strategy "add"   (Table 5)
        f_k <- g_k(h_k(c_k))                                strategy "replace"

    h_k = (1,1,C) and g_k = (3,1,C)^r; λ_k is a trainable scalar (initialised to 1).
    ``keypoint`` and ``neighbours`` are indices into the skeleton, kept for inspection.
    """

    def __init__(self, channels: int, blocks: int, strategy: str = "trainable", keypoint: int = -1,
                 neighbours: Sequence[int] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if strategy not in ("trainable", "add", "replace"):
            raise ValueError(f"KinematicUpdate strategy must be trainable, add or replace; got {strategy!r}")
        self.channels, self.blocks, self.strategy = channels, blocks, strategy
        self.keypoint, self.neighbours = keypoint, tuple(neighbours)
        self.h = ConvBlock(channels, 1, dtype=self.dtype_policy, name="h")
        self.g = ConvStack(channels, blocks, dtype=self.dtype_policy, name="g")
        self.lam = None

    def build(self, input_shape: Sequence[tuple[int | None, ...]]) -> None:
        if len(input_shape) != 1 + len(self.neighbours):
            raise ValueError(f"KinematicUpdate of keypoint {self.keypoint} expects 1 + {len(self.neighbours)} "
                             f"inputs, got {len(input_shape)}")
        first = input_shape[0]
        concat = (*first[:-1], sum(s[-1] for s in input_shape))
        self.h.build(concat)
        self.g.build((*first[:-1], self.channels))
        if self.strategy == "trainable":
            self.lam = self.add_weight(name="lambda", shape=(), initializer="ones", trainable=True)

    def call(self, inputs: Sequence[Any], training: bool | None = None) -> Any:
        f_k = inputs[0]
        c_k = ops.concatenate(list(inputs), axis=-1) if len(inputs) > 1 else f_k   # eq. (1)
        delta = self.g(self.h(c_k, training=training), training=training)
        if self.strategy == "replace":
            return delta
        if self.strategy == "trainable":
            delta = ops.cast(self.lam, delta.dtype) * delta                          # eq. (2)
        return f_k + delta

    def compute_output_shape(self, input_shape: Sequence[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        return (*input_shape[0][:-1], self.channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "channels": self.channels, "blocks": self.blocks,
                "strategy": self.strategy, "keypoint": self.keypoint, "neighbours": list(self.neighbours)}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class KinematicStep(keras.layers.Layer):
    """The kinematic updates, eq. (1)-(2), of m keypoints that are not neighbours of one another, as one layer:
    what m :class:`KinematicUpdate` s of those keypoints compute, in a few larger ops (the inference form,
    :func:`repose_tf.model.builder.update_steps`).

    Inputs: for each keypoint k of the step in turn, ``[f_k, f_j for j in N(k)]``, each (B, h, w, C).
    Output: the m updated f_k side by side, (B, h, w, m*C).

    h: one (1,1,m*C) block on the m concatenations c_k side by side, its kernel block-diagonal (h_k maps
    c_k to output group k; zeros elsewhere, so the same sums); g: the m stacks (3,1,C)^r as grouped
    convolutions (:class:`GroupedConvBlock`, ``single_conv``); λ: the m λ_k, one per output group.
    Forward only: training would fill the zeros of h's kernel (weights come from trained
    :class:`KinematicUpdate` s, :func:`repose_tf.model.convert.copy_weights`).
    """

    def __init__(self, channels: int, blocks: int, strategy: str = "trainable", keypoints: Sequence[int] = (),
                 neighbours: Sequence[Sequence[int]] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if strategy not in ("trainable", "add", "replace"):
            raise ValueError(f"KinematicStep strategy must be trainable, add or replace; got {strategy!r}")
        if len(keypoints) != len(neighbours) or not keypoints:
            raise ValueError(f"KinematicStep needs one neighbour list per keypoint, got {len(keypoints)} keypoints "
                             f"and {len(neighbours)} lists")
        self.channels, self.blocks, self.strategy = channels, blocks, strategy
        self.keypoints, self.neighbours = tuple(keypoints), tuple(tuple(n) for n in neighbours)
        m = len(self.keypoints)
        self.h = ConvBlock(m * channels, 1, dtype=self.dtype_policy, name="h")
        self.g = ConvStack(channels, blocks, groups=m, single_conv=True, dtype=self.dtype_policy, name="g")
        self.lam = None

    def build(self, input_shape: Sequence[tuple[int | None, ...]]) -> None:
        expected = sum(1 + len(n) for n in self.neighbours)
        if len(input_shape) != expected:
            raise ValueError(f"KinematicStep of keypoints {self.keypoints} expects {expected} inputs, "
                             f"got {len(input_shape)}")
        first = input_shape[0]
        self.h.build((*first[:-1], sum(s[-1] for s in input_shape)))
        self.g.build((*first[:-1], len(self.keypoints) * self.channels))
        if self.strategy == "trainable":
            self.lam = self.add_weight(name="lambda", shape=(len(self.keypoints),), initializer="ones", trainable=True)

    def call(self, inputs: Sequence[Any], training: bool | None = None) -> Any:
        starts = [0]
        for n in self.neighbours[:-1]:
            starts.append(starts[-1] + 1 + len(n))
        c = ops.concatenate(list(inputs), axis=-1)                                     # eq. (1), every k
        delta = self.g(self.h(c, training=training), training=training)
        if self.strategy == "replace":
            return delta
        if self.strategy == "trainable":
            lam = ops.repeat(ops.cast(self.lam, delta.dtype), self.channels)
            delta = lam * delta                                                         # eq. (2), every k
        f = ops.concatenate([inputs[i] for i in starts], axis=-1) if len(starts) > 1 else inputs[0]
        return f + delta

    def compute_output_shape(self, input_shape: Sequence[tuple[int | None, ...]]) -> tuple[int | None, ...]:
        return (*input_shape[0][:-1], len(self.keypoints) * self.channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "channels": self.channels, "blocks": self.blocks, "strategy": self.strategy,
                "keypoints": list(self.keypoints), "neighbours": [list(n) for n in self.neighbours]}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Upsample2x(keras.layers.Layer):
    """Bilinear x2 upsampling in the layer's compute dtype: (B, h, w, C) -> (B, 2h, 2w, C).

    The function of ``keras.layers.UpSampling2D(2, interpolation="bilinear")`` (half-pixel centres),
    without its saturating cast: TensorFlow's bilinear resize returns float32 whatever its input, and
    ``UpSampling2D`` casts a bfloat16 input's result back after clipping it to bfloat16's range: a clip
    that cannot bite (a bilinear mix of bfloat16 values stays within their range), two more passes over
    the upsampled tensor (``Minimum``, ``Maximum``).  Here the cast alone.

    Example:
        >>> Upsample2x()(keras.ops.zeros((1, 16, 16, 8))).shape
        (1, 32, 32, 8)
    """

    def call(self, x: Any) -> Any:
        size = (2 * x.shape[1], 2 * x.shape[2]) if None not in x.shape[1:3] else 2 * tf.shape(x)[1:3]
        return ops.cast(tf.image.resize(x, size, method="bilinear"), self.compute_dtype)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        b, h, w, c = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, c)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResizeTo(keras.layers.Layer):
    """Bilinear resize to a fixed square size: (B, h, w, C) -> (B, size, size, C).

    Uses ``keras.ops.image.resize`` rather than ``keras.layers.Resizing``, which in Keras 3.15
    makes ``model.export()`` run the following BatchNorm in training mode.  Output is float32 so
    heatmaps stay exact under mixed precision.
    """

    def __init__(self, size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = size

    def call(self, x: Any) -> Any:
        x = ops.cast(x, "float32")
        if x.shape[1] == self.size and x.shape[2] == self.size:
            return x
        return ops.image.resize(x, (self.size, self.size), interpolation="bilinear")

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}
