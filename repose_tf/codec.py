"""Heatmap codec: keypoints <-> target heatmaps, kept apart from the network.

Conventions shared by every function here:

* Heatmaps are ``(B, n, n, K)`` float32, channels-last, one channel per keypoint of the
  :class:`~repose_tf.skeleton.Skeleton`.
* Keypoints are ``(B, K, 2)`` float32 ``(x, y)`` in heatmap pixels: 0-based, pixel centres at
  integer coordinates, so pixel ``(i, j)`` covers ``[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]``.
  In the paper's setting the heatmaps have the input's resolution (128 x 128), so heatmap
  pixels are crop pixels.
* The target of keypoint ``p`` is the unnormalised Gaussian ``exp(-|x - p|^2 / 2 sigma^2)``
  (peak 1), paper Sec. 3.1; masked keypoints get an all-zero channel.

Everything is plain TensorFlow on batched tensors (no numpy, no Python loops over the batch),
so encoding runs inside ``tf.data`` and decoding inside exported SavedModel signatures, under
XLA, and in TFLite: the ops used are ``exp``, ``argmax``, ``gather`` (with ``batch_dims``),
``matmul``, ``log``, ``reverse`` and elementwise arithmetic, all TFLite builtins.

Decoding methods (``decode_heatmaps(method=...)``):

* ``"argmax"``: the integer position of the maximum.
* ``"quarter"``: the classic refinement: move a quarter pixel from the argmax towards the
  higher neighbour, separately in x and y.
* ``"dark"``: DARK (Zhang et al., CVPR 2020): smooth the heatmap with a small Gaussian,
  take its log (a Gaussian's log is a quadratic) and jump to the maximum of the second-order
  Taylor expansion around the argmax, ``offset = -Hessian^-1 gradient``, with central finite
  differences.  The offset is applied only where the Hessian is negative definite (a true
  maximum) and clipped to one pixel.  Near the border, where the blur's zero padding would
  pull the peak inwards (0.7 px at 2.6 px from the border with ``blur_sigma=2``), the step
  is taken on the unsmoothed log-heatmap instead (exact on clean Gaussians, noisier); on
  the border pixel itself the argmax is kept.

Which is better, measured by ``tests/test_codec.py::test_method_comparison_on_noisy_heatmaps``
(128 x 128 heatmaps, sigma 5, 448 keypoints at uniform sub-pixel positions at least 10 px
inside the border, peak height
uniform in [0.5, 1], i.i.d. Gaussian pixel noise of standard deviation ``noise``; mean
Euclidean error in heatmap pixels; DARK with its default ``blur_sigma=2``)::

    noise    argmax   quarter   dark
    0.00     0.38     0.19      0.0000
    0.02     0.79     0.65      0.10
    0.05     1.20     1.10      0.35
    0.10     1.64     1.56      0.74

DARK is the most accurate at every noise level: exact on clean targets and about a third
of the error of ``quarter`` at noise 0.05.  ``quarter`` only helps over ``argmax`` on
smooth heatmaps, because a single noisy neighbour decides its direction.  DARK smooths only
the window around each maximum that its Taylor step reads (the same sums as smoothing the
whole map there), negligible next to the network, so it is the default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

DECODE_METHODS = ("argmax", "quarter", "dark")

# Added to the (rectified) heatmap before the log in DARK, where heatmaps can be <= 0: the
# smallest normal float16, so the log stays finite in float16 TFLite models too.
_LOG_FLOOR = 2.0**-14


def encode_heatmaps(keypoints: tf.Tensor, mask: tf.Tensor, size: int, sigma: float) -> tf.Tensor:
    """Target heatmaps: an unnormalised Gaussian (peak 1) at every unmasked keypoint.

    Separable: the (n, n) map of keypoint k is the outer product of two 1-D Gaussians, so the
    cost is one multiply per output value.

    Args:
      keypoints: (B, K, 2) float, (x, y) in heatmap pixels (pixel centres at integers).
      mask: (B, K), nonzero where the keypoint gets a target; 0 gives an all-zero channel.
      size: heatmap side n.
      sigma: Gaussian standard deviation in heatmap pixels (the paper uses 5 at 128 x 128).

    Returns:
      (B, n, n, K) float32.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    mask = tf.cast(mask, tf.float32)
    grid = tf.range(size, dtype=tf.float32)
    # (B, K, n): 1-D Gaussians along x and y.
    gx = tf.exp(-tf.square(grid - keypoints[..., 0:1]) / (2.0 * sigma**2)) * mask[..., None]
    gy = tf.exp(-tf.square(grid - keypoints[..., 1:2]) / (2.0 * sigma**2))
    # (B, n, 1, K) * (B, 1, n, K) -> (B, n, n, K), built directly in channels-last layout.
    return tf.transpose(gy, [0, 2, 1])[:, :, None, :] * tf.transpose(gx, [0, 2, 1])[:, None, :, :]


def decode_heatmaps(
    heatmaps: tf.Tensor, method: str = "dark", *, blur_sigma: float = 2.0
) -> tuple[tf.Tensor, tf.Tensor]:
    """Keypoints from heatmaps.

    Args:
      heatmaps: (B, h, w, K) float (square in the paper's setting, not required).
      method: "dark" (default), "quarter" or "argmax"; see the module docstring.
      blur_sigma: standard deviation (heatmap pixels) of the Gaussian smoothing in "dark".

    Returns:
      keypoints: (B, K, 2) float32 (x, y) in heatmap pixels.
      scores: (B, K) float32, the heatmap maximum of each channel.
    """
    if method not in DECODE_METHODS:
        raise ValueError(f"unknown decode method {method!r}; choose one of {DECODE_METHODS}")
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    height, width = _spatial_shape(heatmaps)
    flat = _channels_first_flat(heatmaps)  # (B, K, h*w)
    index = tf.argmax(flat, axis=-1, output_type=tf.int32)  # (B, K)
    scores = tf.reduce_max(flat, axis=-1)
    x = index % width
    y = index // width
    xy = tf.cast(tf.stack([x, y], axis=-1), tf.float32)
    if method == "argmax":
        return xy, scores
    if method == "quarter":
        # Neighbours (x+1, y), (x-1, y), (x, y+1), (x, y-1), clamped at the border.
        v = _gather_around(flat, x, y, height, width, ((1, 0), (-1, 0), (0, 1), (0, -1)))
        step = tf.stack([tf.sign(v[..., 0] - v[..., 1]), tf.sign(v[..., 2] - v[..., 3])], axis=-1)
        return xy + 0.25 * step, scores
    # Taylor step on the smoothed log-heatmap where the blur's support stays inside the map;
    # nearer the border (where zero padding would pull the peak inwards) on the raw
    # log-heatmap, exact for Gaussians, with one-pixel differences; none on the border itself.
    radius = _blur_radius(blur_sigma)
    smooth_offset, smooth_ok = _taylor_offset(
        _log(_blurred_around(flat, x, y, height, width, blur_sigma, radius, _taylor_points(2))), step=2)
    raw_offset, raw_ok = _taylor_offset(_log(_gather_around(flat, x, y, height, width, _taylor_points(1))), step=1)
    distance = tf.minimum(tf.minimum(x, width - 1 - x), tf.minimum(y, height - 1 - y))
    interior = distance >= radius + 2
    offset = tf.where(interior[..., None], smooth_offset, raw_offset)
    ok = tf.where(interior, smooth_ok, raw_ok & (distance >= 1))
    return xy + tf.where(ok[..., None], offset, tf.zeros_like(offset)), scores


def flip_back(heatmaps: tf.Tensor, flip_permutation: Sequence[int]) -> tf.Tensor:
    """Heatmaps predicted on a horizontally flipped input, back in the unflipped frame.

    Mirrors the W axis (pixel x -> W - 1 - x, the flip of the input's W axis when heatmaps
    and input share the pixel-centre convention) and swaps left/right channels:
    ``out[..., k] = mirrored[..., perm[k]]`` with ``perm = Skeleton.flip_permutation``.

    Args:
      heatmaps: (B, h, w, K).
      flip_permutation: length-K channel permutation.

    Returns:
      (B, h, w, K), same dtype.
    """
    perm = tuple(int(p) for p in flip_permutation)
    channels = heatmaps.shape[-1]
    if channels is not None and len(perm) != channels:
        raise ValueError(f"flip permutation has {len(perm)} entries for {channels} heatmap channels")
    return tf.gather(tf.reverse(heatmaps, axis=[2]), perm, axis=3)


def _spatial_shape(heatmaps: tf.Tensor) -> tuple[tf.Tensor | int, tf.Tensor | int]:
    """(height, width): static ints when known, else scalar int32 tensors."""
    if heatmaps.shape.rank is not None and heatmaps.shape.rank != 4:
        raise ValueError(f"heatmaps must be (B, h, w, K), got shape {heatmaps.shape}")
    dynamic = tf.shape(heatmaps)
    static = heatmaps.shape
    return (static[1] if static[1] is not None else dynamic[1],
            static[2] if static[2] is not None else dynamic[2])


def _channels_first_flat(heatmaps: tf.Tensor) -> tf.Tensor:
    """(B, h, w, K) -> (B, K, h*w)."""
    shape = tf.shape(heatmaps)
    return tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [shape[0], shape[3], shape[1] * shape[2]])


def _gather_around(
    flat: tf.Tensor, x: tf.Tensor, y: tf.Tensor, height, width, offsets: Sequence[tuple[int, int]]
) -> tf.Tensor:
    """Values of ``flat`` (B, K, h*w) at (x + dx, y + dy) for each (dx, dy), clamped to the map.

    x, y: (B, K) int32.  Returns (B, K, len(offsets)).
    """
    dx = tf.constant([o[0] for o in offsets], tf.int32)
    dy = tf.constant([o[1] for o in offsets], tf.int32)
    xs = tf.clip_by_value(x[..., None] + dx, 0, width - 1)
    ys = tf.clip_by_value(y[..., None] + dy, 0, height - 1)
    return tf.gather(flat, ys * width + xs, batch_dims=2)


def _log(values: tf.Tensor) -> tf.Tensor:
    """log of rectified heatmap values.

    relu + floor rather than maximum(., floor): the latter tripped TFLite's XNNPack delegate
    after the depthwise convolution that smoothed whole heatmaps here before.
    """
    return tf.math.log(tf.nn.relu(values) + _LOG_FLOOR)


def _taylor_points(step: int) -> tuple[tuple[int, int], ...]:
    """The (dx, dy) offsets :func:`_taylor_offset` reads, in its order."""
    return ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (step, 0), (-step, 0), (0, step), (0, -step),
            (1, 1), (-1, 1), (1, -1), (-1, -1))


def _taylor_offset(log_values: tf.Tensor, step: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Newton step ``-Hessian^-1 gradient`` of a log-heatmap at integer points.

    Central differences: gradient over +-1 pixel, second derivatives in x and y over
    +-``step`` pixels (DARK's choice is 2, less noisy), the mixed one over the diagonal
    neighbours.  All are exact for a quadratic, i.e. the log of a Gaussian.

    Args:
      log_values: (B, K, 13) the log-heatmap at the offsets ``_taylor_points(step)`` around
        each point.
      step: 1 or 2.

    Returns:
      offset: (B, K, 2) float32 (dx, dy), clipped to [-1, 1].
      ok: (B, K) bool, True where the Hessian is negative definite (a true maximum) and the
        step finite.
    """
    c, xp, xm, yp, ym, xs, xms, ys, yms, pp, mp, pm, mm = tf.unstack(log_values, axis=-1)
    gx = 0.5 * (xp - xm)
    gy = 0.5 * (yp - ym)
    hxx = (xs - 2.0 * c + xms) / step**2
    hyy = (ys - 2.0 * c + yms) / step**2
    hxy = 0.25 * (pp - mp - pm + mm)
    det = hxx * hyy - hxy * hxy
    maximum = (det > 1e-12) & (hxx < 0.0)
    safe_det = tf.where(maximum, det, tf.ones_like(det))
    dx = -(hyy * gx - hxy * gy) / safe_det
    dy = -(hxx * gy - hxy * gx) / safe_det
    ok = maximum & tf.math.is_finite(dx) & tf.math.is_finite(dy)
    return tf.clip_by_value(tf.stack([dx, dy], axis=-1), -1.0, 1.0), ok


def _blur_radius(sigma: float) -> int:
    if sigma <= 0:
        raise ValueError(f"blur_sigma must be positive, got {sigma}")
    return max(1, math.ceil(3.0 * sigma))


def _blurred_around(flat: tf.Tensor, x: tf.Tensor, y: tf.Tensor, height, width, sigma: float, radius: int,
                    offsets: Sequence[tuple[int, int]]) -> tf.Tensor:
    """The heatmaps smoothed by a separable Gaussian (``radius`` taps each side), at (x + dx, y + dy)
    for each (dx, dy) in ``offsets``: (B, K, len(offsets)).

    Only the window the offsets need is gathered and smoothed (columns, then rows, as two small
    matrix products), not the whole map: the same sums as smoothing the map where the window lies
    inside it; nearer the border the gathered pixels are clamped copies, and the result is not the
    zero-padded smoothing (:func:`decode_heatmaps` does not use it there).

    Args:
      flat: (B, K, h*w); x, y: (B, K) int32.
    """
    reach = max(max(abs(dx), abs(dy)) for dx, dy in offsets)
    half = radius + reach
    taps = [math.exp(-(i * i) / (2.0 * sigma * sigma)) for i in range(-radius, radius + 1)]
    total = sum(taps)
    # smooth[a + reach, r + half]: weight of the window's row (or column) at offset r in the smoothed value at a.
    smooth = tf.constant([[taps[r - a + radius] / total if abs(r - a) <= radius else 0.0
                           for r in range(-half, half + 1)] for a in range(-reach, reach + 1)], tf.float32)
    side = 2 * half + 1
    window = _gather_around(flat, x, y, height, width,
                            [(dx, dy) for dy in range(-half, half + 1) for dx in range(-half, half + 1)])
    window = tf.reshape(window, tf.concat([tf.shape(window)[:2], [side, side]], axis=0))  # (B, K, rows, columns)
    around = tf.matmul(tf.matmul(smooth, window), smooth, transpose_b=True)  # (B, K, 2 reach + 1, 2 reach + 1)
    around = tf.reshape(around, tf.concat([tf.shape(around)[:2], [(2 * reach + 1) ** 2]], axis=0))
    return tf.gather(around, [(dy + reach) * (2 * reach + 1) + dx + reach for dx, dy in offsets], axis=-1)
