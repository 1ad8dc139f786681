"""Encoded images -> person crops for the network, as TensorFlow ops (no numpy, no Python loop).

The ``predict_images`` signature of the SavedModel runs this in its graph; :mod:`repose_tf.inference`
runs the same function in front of ``.keras`` and ``.tflite`` models, so every model
format crops identically.

Conventions (as :mod:`repose_tf.data.augment` and :mod:`repose_tf.codec`):

* Pixels are 0-based with pixel centres at integer coordinates; a ``W x H`` image spans
  ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.
* A person box ``(x, y, w, h)`` is given in edge coordinates, as COCO boxes are: its top-left
  corner is at ``(x, y)`` with ``(0, 0)`` the top-left corner of the image, so ``(0, 0, W, H)``
  is the whole image.  Its centre is pixel ``(x + w / 2 - 0.5, y + h / 2 - 0.5)``.
* The crop is the square of side ``box_margin * max(w, h)`` around the box centre (the 1.25
  enlargement the training records apply to keypoint boxes), warped bilinearly to
  ``S x S`` with zeros outside the image: the same affine as the evaluation crop of the
  input pipeline (:func:`repose_tf.data.augment.crop_transforms`).
* Without boxes the person box is the centred square of side ``max(W, H)`` with no margin:
  the paper's LSP test protocol (person scale and centre set to the image's).

:func:`crop_images` does the decoding and cropping, :func:`check_crops` validates crops sent
directly to a model, :func:`error_message` turns a failed check into the line a person reads.

Accepted images: JPEG and PNG, 8- or 16-bit, grey, grey+alpha, RGB or RGBA (converted to
RGB; alpha is dropped).  Every problem is an ``InvalidArgumentError`` naming the image's
index: bytes that are neither JPEG nor PNG, a side below ``min_image_side``, more than
``max_image_pixels`` pixels (checked from the header, before decoding), a box that is
non-finite, empty or outside the image, a boxes count that differs from the images count.
Truncated or corrupt image data fails in the decoder with its own ``InvalidArgumentError``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import tensorflow as tf

from repose_tf.data.augment import (
    BOX_PIXELS_PER_SCALE,
    crop_transforms,
    flatten_images,
    warp_images,
)

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_HEADER_BYTES = 24  # PNG: signature (8), IHDR length + type (8), width (4), height (4)
# Crops may overshoot [0, 255] by float rounding of bilinear warps (255.00003); allow half a grey level.
_RANGE_SLACK = 0.5


@dataclasses.dataclass(frozen=True)
class CropOptions:
    """How encoded images become network crops.

    Attributes:
      input_size: crop side S of the network.
      box_margin: crop side / longer side of a given person box.
      min_image_side: images with a side below this many pixels are rejected: a crop of a
        few pixels would give keypoints that look valid but mean nothing.
      max_image_pixels: images with more pixels are rejected before they are decoded
        (a 10000 x 10000 image would take 300 MB decoded).
    """

    input_size: int
    box_margin: float = 1.25
    min_image_side: int = 16
    max_image_pixels: int = 50_000_000

    def __post_init__(self) -> None:
        if self.input_size < 1:
            raise ValueError(f"input_size must be >= 1, got {self.input_size}")
        if not self.box_margin > 0:
            raise ValueError(f"box_margin must be > 0, got {self.box_margin}")
        if self.min_image_side < 1:
            raise ValueError(f"min_image_side must be >= 1, got {self.min_image_side}")
        if self.max_image_pixels < self.min_image_side ** 2:
            raise ValueError(f"max_image_pixels {self.max_image_pixels} is below min_image_side^2")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def crop_images(images: tf.Tensor, boxes: tf.Tensor, options: CropOptions) -> tuple[tf.Tensor, tf.Tensor]:
    """Decode and crop a batch of encoded images.

    Args:
      images: (N,) string, JPEG or PNG bytes; N >= 1.
      boxes: (N, 4) float ``(x, y, w, h)`` person boxes in edge coordinates, or (0, 4): no
        boxes, every image is its own person box (see the module docstring).
      options: crop geometry and limits.

    Returns:
      crops: (N, S, S, 3) float32 RGB in [0, 255].
      image_from_crop: (N, 3, 3) float32 affine from crop pixels to image pixels
        (``repose_tf.data.augment.apply_affine(image_from_crop, keypoints)``).
    """
    images = tf.convert_to_tensor(images, tf.string)
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    count = tf.shape(images)[0]
    box_rows = tf.shape(boxes)[0]
    checks = [
        _check(tf.rank(images) == 1, "images must be a 1-D batch of encoded images, got rank {}",
               tf.rank(images)),
        _check(count > 0, "images is empty: send at least one image"),
        _check((tf.rank(boxes) == 2) & (tf.shape(boxes)[-1] == 4),
               "boxes must be (N, 4) rows of x, y, w, h; got shape {}", tf.shape(boxes)),
        _check((box_rows == 0) | (box_rows == count),
               "boxes has {} rows for {} images: give one box per image or none", box_rows, count),
    ]
    with tf.control_dependencies(checks):
        given = tf.fill([count], box_rows > 0)
        rows = tf.cond(box_rows > 0, lambda: boxes, lambda: tf.zeros([count, 4], tf.float32))
    size = options.input_size

    def one(args: tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        data, box, has_box, index = args
        image = _decode(data, index, options)
        center, side = _person_square(image, box, has_box, index, options.box_margin)
        transforms = crop_transforms(center[None], side[None] / BOX_PIXELS_PER_SCALE, size)
        crop = warp_images(*flatten_images(image[None]), transforms.stored_from_crop, size)[0]
        return crop, transforms.stored_from_crop[0]

    crops, image_from_crop = tf.map_fn(
        one, (images, rows, given, tf.range(count)),
        fn_output_signature=(tf.TensorSpec([size, size, 3], tf.float32), tf.TensorSpec([3, 3], tf.float32)))
    return crops, image_from_crop


def check_crops(crops: tf.Tensor, input_size: int) -> tf.Tensor:
    """``crops`` after in-graph checks: shape (N, S, S, 3) with N >= 1, finite values in [0, 255].

    Checked at run time (not only by the signature's static shape) because TF Serving feeds
    tensors of any shape into a signature.  A failed check is an ``InvalidArgumentError``
    stating what was expected and what came.  Returns (N, S, S, 3) float32 with that static shape.
    """
    crops = tf.convert_to_tensor(crops, tf.float32)
    shape = tf.shape(crops)
    padded = tf.concat([shape, tf.fill([4], -1)], 0)[:4]
    rank_ok = tf.rank(crops) == 4
    shape_ok = rank_ok & tf.reduce_all(padded[1:] == [input_size, input_size, 3])
    with tf.control_dependencies([
        _check(shape_ok, f"crops must be (N, {input_size}, {input_size}, 3) RGB float32; got shape {{}}", shape),
        _check(padded[0] > 0, "crops is empty: send at least one crop"),
    ]):
        low, high = tf.reduce_min(crops), tf.reduce_max(crops)
    with tf.control_dependencies([
        _check(tf.reduce_all(tf.math.is_finite(crops)), "crops contain NaN or infinite values"),
        _check((low >= -_RANGE_SLACK) & (high <= 255.0 + _RANGE_SLACK),
               "crops must hold RGB values in [0, 255]; got values from {} to {}", low, high),
    ]):
        return tf.ensure_shape(tf.identity(crops), [None, input_size, input_size, 3])


def error_message(error: tf.errors.OpError | str) -> str:
    """The part of a failed check's (or a decoder's) error a person should read.

    ``"Graph execution error: assertion failed: [images[0] is neither ...] [[{{node ...}}]]"``
    (graph mode) or ``"... Summarized data: b'images[0] is neither ...'"`` (eager mode)
    -> ``"images[0] is neither ..."``; other errors lose TensorFlow's node and op annotations.
    """
    text = error.message if isinstance(error, tf.errors.OpError) else str(error)
    graph = re.search(r"assertion failed: \[(.*?)\]\s*(?:\[\[|$)", text, re.S)
    if graph:
        return graph.group(1).strip()
    eager = re.search(r"Summarized data: b(['\"])(.*?)\1\s*$", text, re.S)
    if eager:
        return eager.group(2).strip()
    text = re.sub(r"\{\{function_node [^}]*\}\}|\[\[\{\{node [^}]*\}\}\]\]|\[Op:\w+\]|Graph execution error:", "", text)
    return " ".join(text.split())


def _check(condition: tf.Tensor, template: str, *values: tf.Tensor) -> tf.Operation:
    """An assert whose message is ``template`` formatted with ``values`` ({} placeholders)."""
    return tf.debugging.Assert(condition, [tf.strings.format(template, values, summarize=-1)])


def _encoded_size(data: tf.Tensor, is_jpeg: tf.Tensor) -> tf.Tensor:
    """(height, width) int64 from the JPEG or PNG header, without decoding the pixels."""

    def png() -> tf.Tensor:
        header = tf.io.decode_raw(tf.strings.substr(data + b"\0" * _HEADER_BYTES, 0, _HEADER_BYTES), tf.uint8)
        big_endian = tf.cast(header[16:24], tf.int64) * tf.constant([1 << 24, 1 << 16, 1 << 8, 1] * 2, tf.int64)
        width, height = tf.reduce_sum(big_endian[:4]), tf.reduce_sum(big_endian[4:])
        return tf.stack([height, width])

    return tf.cond(is_jpeg, lambda: tf.cast(tf.io.extract_jpeg_shape(data)[:2], tf.int64), png)


def _decode(data: tf.Tensor, index: tf.Tensor, options: CropOptions) -> tf.Tensor:
    """One encoded image -> (H, W, 3) uint8 RGB, after the format and size checks."""
    is_jpeg = tf.strings.substr(data, 0, len(_JPEG_MAGIC)) == _JPEG_MAGIC
    is_png = tf.strings.substr(data, 0, len(_PNG_MAGIC)) == _PNG_MAGIC
    known = _check(is_jpeg | is_png, "images[{}] is neither a JPEG nor a PNG image ({} bytes)", index,
                   tf.strings.length(data))
    with tf.control_dependencies([known]):
        size = _encoded_size(data, is_jpeg)
    limits = [
        _check(tf.reduce_min(size) >= options.min_image_side,
               "images[{}] is {} x {} pixels (height x width); the smallest accepted side is "
               f"{options.min_image_side}", index, size[0], size[1]),
        _check(size[0] * size[1] <= options.max_image_pixels,
               "images[{}] is {} x {} pixels (height x width), more than the limit of "
               f"{options.max_image_pixels} pixels; downscale it first", index, size[0], size[1]),
    ]
    with tf.control_dependencies(limits):
        image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _person_square(image: tf.Tensor, box: tf.Tensor, has_box: tf.Tensor, index: tf.Tensor,
                   margin: float) -> tuple[tf.Tensor, tf.Tensor]:
    """Centre (2,) in pixel-centre coordinates and side () of the square crop of one image."""
    shape = tf.cast(tf.shape(image), tf.float32)
    height, width = shape[0], shape[1]
    whole = tf.stack([0.0, 0.0, width, height])
    x, y, w, h = tf.unstack(tf.where(has_box, box, whole))
    valid = [
        _check(tf.reduce_all(tf.math.is_finite(box)), "boxes[{}] is not finite: {}", index, box),
        _check((w > 0.0) & (h > 0.0), "boxes[{}] = {} has no area (w and h must be > 0)", index, box),
        _check((x < width) & (y < height) & (x + w > 0.0) & (y + h > 0.0),
               "boxes[{}] = {} (x, y, w, h) lies outside the {} x {} image (width x height)",
               index, box, tf.cast(width, tf.int32), tf.cast(height, tf.int32)),
    ]
    with tf.control_dependencies(valid):
        center = tf.stack([x + w / 2.0 - 0.5, y + h / 2.0 - 0.5])
        side = tf.maximum(w, h) * tf.where(has_box, margin, 1.0)
    return center, side
