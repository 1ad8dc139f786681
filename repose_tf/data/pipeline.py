"""The tf.data input pipeline: person TFRecords -> batched, augmented crops and heatmap targets.

Stages (all in-graph, parallel, AUTOTUNE):

1. Files: every pattern is globbed up front (a pattern matching nothing is a ``ValueError``
   naming it) and the first record of every file is checked against the skeleton (a
   ``ValueError`` naming the file on a wrong schema or keypoint count).  Files are read
   interleaved; in training, file order and records are shuffled.
2. Per record: :func:`repose_tf.data.records.parse`, then the image is decoded
   (JPEG/PNG/BMP/GIF, 3 channels).  JPEGs are decoded only inside the window any crop of
   the example can reach (:func:`repose_tf.data.augment.reachable_region`), which skips
   the rest of large images; other formats are decoded whole and sliced to that window.
3. Batch: each decoded window travels as flat pixels (h*w, 3), zero-padded to the batch's
   largest and then to a bucket length (two per octave).
4. Per batch: random draws, then one function, XLA-compiled by default: one affine per
   example for crop, scale, rotation and flip (:mod:`repose_tf.data.augment`), one batched
   bilinear warp, colour noise, heatmap targets (:func:`repose_tf.codec.encode_heatmaps`; training
   with :func:`repose_tf.train.fit` leaves them to the train step).  With ``crop=False`` a
   training batch stops after the draws: the decoded windows and the draws (an "uncropped
   batch") go to the consumer, whose :func:`crop_uncropped` does the rest (the train step, on
   the accelerator when there is one: :mod:`repose_tf.train.in_step`).

Training batches (``mode="train"``)::

    images: (B, S, S, 3) float32 in [0, 255]
    targets: {
        "heatmaps":  (B, S, S, K) float32, Gaussians of std ``sigma`` (peak 1), 0 where masked
                     (not with ``heatmaps=False``)
        "mask":      (B, K) float32, 1 = annotated and inside the crop
        "keypoints": (B, K, 2) float32 (x, y) crop pixels
    }

Uncropped training batches (``crop=False``), one dict::

    pixels:           (B, L, 3) uint8, the decoded windows as flat pixels, zero-padded to a bucket length
    size:             (B, 2) int32 (h, w) of each window; origin: (B, 2) float32 its (x, y) stored pixel
    keypoints:        (B, K, 2) float32 stored pixels; annotated: (B, K) int64
    crop_from_stored, stored_from_crop: (B, 3, 3) float32; flipped: (B,) bool   (the geometry draws)
    gain: (B, 1, 1, 3), shift: (B, 1, 1, 1), contrast: (B, 1, 1, 1) float32    (the colour draws)

:func:`crop_uncropped` turns one into exactly the ``(images, targets)`` of ``crop=True`` with
the same seed (without ``heatmaps``).

Evaluation batches (``mode="eval"``: the deterministic person-box crop, no augmentation)::

    images, targets as above, and
    meta: {
        "inverse_affine":   (B, 3, 3) float32, crop pixels -> stored-image pixels
                            (``augment.apply_affine(meta["inverse_affine"], crop_points)``)
        "source_offset":    (B, 2) float32 } stored -> source image pixels:
        "source_scale":     (B,) float32    } ``stored * source_scale + source_offset``
        "image_id":         (B,) string
        "dataset":          (B,) string
        "person_index":     (B,) int64
        "keypoints_stored": (B, K, 2) float32, ground truth in stored-image pixels
        "annotated":        (B, K) bool
        "visible":          (B, K) bool
        "head_box":         (B, 4) float32 x1, y1, x2, y2 stored pixels (zeros if unknown)
        "has_head_box":     (B,) bool
        "center":           (B, 2) float32 stored pixels
        "scale":            (B,) float32 (person box side = scale * 200 stored pixels)
        "extra_joints":     (B, J, 2) float32 benchmark-native joints, stored pixels,
                            zero-padded to the batch's largest J
        "extra_visible":    (B, J) bool, False in the padding
    }

and, with ``person_box=True``, ``meta["person_box"]``: (B, 4) float32 x1, y1, x2, y2 stored
pixels of the annotated person box (zeros where a record has none), or (B, 0) when no record
of the batch has one.

Corrupt data: in training, an example whose image fails to decode (or whose record fails to
parse past the per-file check) is skipped, and TensorFlow logs a warning with the error for
each skip, so one bad JPEG does not end a long run; :func:`repose_tf.train.fit` counts such
records (and truncated shards) before it trains (:mod:`repose_tf.data.scan`).  In evaluation nothing is skipped, since
a missing example would silently change the benchmark: the iteration fails with the
decoder's ``InvalidArgumentError``.  An image whose size differs from the record's
``image/height``/``image/width`` fails with an assertion naming the image id (in training it
is skipped like a corrupt one).

Randomness: augmentation draws come from stateless ops seeded per batch by
``tf.data.Dataset.random(seed)``; with ``seed`` set and ``deterministic=True`` the stream
of batches is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf

from repose_tf.codec import encode_heatmaps
from repose_tf.data import records
from repose_tf.data.augment import (
    AugmentConfig,
    ColorParams,
    CropTransforms,
    apply_color,
    crop_batch,
    crop_transforms,
    random_color_params,
    random_crop_transforms,
    reachable_region,
)
from repose_tf.skeleton import LSP14, Skeleton

MODES = ("train", "eval")


def make_dataset(
    pattern: str | Sequence[str],
    mode: str,
    batch_size: int,
    *,
    input_size: int = 128,
    sigma: float = 5.0,
    skeleton: Skeleton = LSP14,
    shuffle_buffer: int = 2048,
    augment: AugmentConfig = AugmentConfig(),
    repeat: int | None = None,
    seed: int | None = None,
    deterministic: bool = False,
    drop_remainder: bool | None = None,
    crop_on_decode: bool = True,
    jit_compile: bool = True,
    person_box: bool = False,
    heatmaps: bool = True,
    crop: bool = True,
) -> tf.data.Dataset:
    """Batches of person crops from TFRecords written by :func:`repose_tf.data.records.serialize`.

    Args:
      pattern: a glob pattern or a list of them (``tf.io.gfile.glob`` syntax).
      mode: "train" (augmented, shuffled) or "eval" (deterministic crop, file order, with meta).
      batch_size: examples per batch.
      input_size: crop side S (the heatmaps have the same size).
      sigma: heatmap Gaussian std in crop pixels (paper: 5 at 128 x 128).
      skeleton: the keypoint set the records must use.
      shuffle_buffer: records in the training shuffle buffer (serialized, before decoding).
      augment: training augmentation ranges (paper defaults); ignored in eval.
      repeat: number of passes; None = forever in training, once in eval.
      seed: seed of the file/record shuffling and of the augmentation; None = random.
      deterministic: keep the order of parallel stages reproducible (slower).
      drop_remainder: drop the last partial batch; None = in training only.
      crop_on_decode: decode JPEGs only inside the window the crops can reach (pays on
        whole source frames; neutral on the converters' person-centred pre-crops).
      jit_compile: run warp, colour noise and heatmap targets as one XLA computation: half
        the CPU per image (docs/pipeline.md), for a few seconds of compilation per bucket
        of image sizes.  Without it the same ops run unfused (same numbers up to float
        rounding).
      person_box: eval: add the records' person boxes to the meta (for box-normalised PCK).
      heatmaps: render the targets' ``heatmaps``; without them the targets are ``mask`` and
        ``keypoints`` only (:func:`repose_tf.train.fit` renders them in the train step).
      crop: training: crop and augment here; False: yield uncropped batches (the decoded
        windows and the random draws, see the module docstring) for :func:`crop_uncropped`
        in the train step.  ``heatmaps`` and ``jit_compile`` then do not apply.

    Returns:
      A ``tf.data.Dataset`` of ``(images, targets)`` (train) or ``(images, targets, meta)``
      (eval); see the module docstring for the structure.

    Raises:
      ValueError: bad arguments, a pattern matching no file, a file that is not a TFRecord
        of person records, or records of another skeleton / keypoint count.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    for name, value in (("batch_size", batch_size), ("input_size", input_size), ("shuffle_buffer", shuffle_buffer)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if repeat is not None and repeat < 1:
        raise ValueError(f"repeat must be None or >= 1, got {repeat}")
    train = mode == "train"
    if not crop and not train:
        raise ValueError("crop=False is for training batches; evaluation always crops")
    files = resolve_files(pattern)
    check_records(files, skeleton)

    ds = tf.data.Dataset.from_tensor_slices(files)
    if train:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(len(files), 16),
                       num_parallel_calls=tf.data.AUTOTUNE)
    if train:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    passes = repeat if repeat is not None else (-1 if train else 1)
    if passes != 1:
        ds = ds.repeat(passes)

    region_config = augment if train else None

    # The stage functions use no Python control flow on tensors: skip AutoGraph, which
    # otherwise dominates the time to build the pipeline.
    @tf.autograph.experimental.do_not_convert
    def decode(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        return _decode_example(serialized, skeleton, region_config, crop_on_decode, keep_meta=not train,
                               person_box=person_box and not train)

    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    if train:
        ds = ds.ignore_errors(log_warning=True)
    ds = ds.padded_batch(batch_size, drop_remainder=train if drop_remainder is None else drop_remainder)

    # Everything after the random draws (warp, colour noise, heatmaps: gathers and
    # memory-bound elementwise work on a CPU) is one function, which XLA compiles and fuses
    # with jit_compile.  Flat pixel buffers are then padded to a few bucket lengths, so it
    # compiles for a handful of shapes only (and a train step that crops sees few shapes).
    # The draws stay outside: XLA's stateless RNG gives other numbers.
    def finish(uncropped: dict[str, tf.Tensor], flip_permutation: tuple[int, ...] | None
               ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        images, targets = crop_uncropped(uncropped, input_size, flip_permutation)
        if heatmaps:
            targets["heatmaps"] = encode_heatmaps(targets["keypoints"], targets["mask"], input_size, sigma)
        return images, targets

    pad = jit_compile or not crop
    if jit_compile:
        finish = tf.function(finish, jit_compile=True, autograph=False)

    if train:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

        @tf.autograph.experimental.do_not_convert
        def train_batch(batch: dict[str, tf.Tensor], batch_seed: tf.Tensor):
            geometry_seed, colour_seed = tf.unstack(tf.random.experimental.stateless_split(batch_seed, 2))
            transforms = random_crop_transforms(batch["center"], batch["scale"], input_size, augment, geometry_seed)
            colour = random_color_params(tf.shape(batch["scale"])[0], augment, colour_seed)
            uncropped = _uncropped(batch, transforms, colour, pad)
            return finish(uncropped, skeleton.flip_permutation) if crop else uncropped

        ds = tf.data.Dataset.zip((ds, seeds)).map(train_batch, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        @tf.autograph.experimental.do_not_convert
        def eval_map(batch: dict[str, tf.Tensor]):
            transforms = crop_transforms(batch["center"], batch["scale"], input_size)
            images, targets = finish(_uncropped(batch, transforms, None, pad), None)
            return images, targets, _meta(batch, transforms.stored_from_crop)

        ds = ds.map(eval_map, num_parallel_calls=tf.data.AUTOTUNE)

    options = tf.data.Options()
    options.deterministic = deterministic
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def resolve_files(pattern: str | Sequence[str]) -> list[str]:
    """Sorted files matching a glob pattern or any of a list of them.

    Raises ValueError naming the first pattern that matches nothing.
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    if not patterns:
        raise ValueError("no TFRecord pattern given")
    files: set[str] = set()
    for p in patterns:
        matches = tf.io.gfile.glob(p)
        if not matches:
            raise ValueError(f"no files match the TFRecord pattern {p!r}")
        files.update(matches)
    return sorted(files)


def check_records(files: Sequence[str], skeleton: Skeleton) -> None:
    """Check the first record of every file against the schema and ``skeleton``.

    Raises ValueError naming the file: unreadable TFRecord, missing features, another
    skeleton name or keypoint count.  Empty files pass (they contribute nothing).
    """
    required = [key for key, spec in records.feature_spec(skeleton.num_keypoints).items()
                if isinstance(spec, tf.io.FixedLenFeature)]
    for path in files:
        try:
            first = [raw.numpy() for raw in tf.data.TFRecordDataset(path).take(1)]
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
            raise ValueError(f"{path}: not a readable TFRecord file ({e.message})") from None
        if not first:
            continue
        try:
            example = tf.train.Example.FromString(first[0])
        except Exception as e:  # protobuf's DecodeError
            raise ValueError(f"{path}: record 0 is not a tf.train.Example ({e})") from None
        feature = example.features.feature
        missing = [key for key in required if key not in feature]
        if missing:
            raise ValueError(f"{path}: record 0 lacks feature(s) {missing}; not a person record "
                             "written by repose_tf.data.records.serialize")
        name = feature["skeleton"].bytes_list.value[0].decode(errors="replace")
        count = len(feature["annotated"].int64_list.value)
        if name != skeleton.name or count != skeleton.num_keypoints:
            raise ValueError(f"{path}: records use skeleton {name!r} with {count} keypoints; this pipeline "
                             f"expects {skeleton.name!r} with {skeleton.num_keypoints}")


def decode_example(serialized: tf.Tensor, skeleton: Skeleton) -> dict[str, tf.Tensor]:
    """One record -> its whole decoded image (flat ``pixels`` (h*w, 3) uint8) and fields, decoded as
    training decodes it: fails where training would skip the record."""
    return _decode_example(serialized, skeleton, None, False, keep_meta=False)


def dataset_names(files: Sequence[str]) -> list[str]:
    """The ``dataset`` field of the first record of each file, unique and sorted: the datasets whose
    outputs (``predictions-<dataset>.npy``, ...) an evaluation of ``files`` writes.  Empty files and
    files that are not person records add nothing (:func:`check_records` reports those)."""
    names = set()
    for path in files:
        try:
            first = [raw.numpy() for raw in tf.data.TFRecordDataset(path).take(1)]
            feature = tf.train.Example.FromString(first[0]).features.feature if first else {}
        except Exception:  # tf.errors.OpError of the reader, protobuf's DecodeError
            continue
        if "dataset" in feature:
            names.add(feature["dataset"].bytes_list.value[0].decode(errors="replace"))
    return sorted(names)


def crop_uncropped(uncropped: dict[str, tf.Tensor], input_size: int, flip_permutation: Sequence[int] | None
                   ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Crop and augment an uncropped batch (module docstring; ``make_dataset(..., crop=False)``) with its
    own draws: ``(images (B, S, S, 3) float32 in [0, 255], {"mask": (B, K), "keypoints": (B, K, 2)})``.

    The one affine per example, the batched bilinear warp and the colour noise of
    :mod:`repose_tf.data.augment`, in whatever graph calls it (the pipeline's, or the train step's
    on the accelerator).  ``flip_permutation``: the skeleton's; None when no example is flipped.
    Without colour draws (``gain``, ``shift``, ``contrast``) there is no colour noise.
    """
    transforms = CropTransforms(uncropped["crop_from_stored"], uncropped["stored_from_crop"], uncropped["flipped"])
    out = crop_batch(uncropped["pixels"], uncropped["size"], uncropped["origin"], uncropped["keypoints"],
                     uncropped["annotated"], transforms, input_size, flip_permutation)
    images = out.images
    if "gain" in uncropped:
        images = apply_color(images, ColorParams(uncropped["gain"], uncropped["shift"], uncropped["contrast"]))
    return images, {"mask": out.mask, "keypoints": out.keypoints}


def _decode_example(
    serialized: tf.Tensor, skeleton: Skeleton, region_config: AugmentConfig | None, crop_on_decode: bool,
    keep_meta: bool,
    person_box: bool = False,
) -> dict[str, tf.Tensor]:
    """One record -> its decoded image window and fields.

    Returns flat ``pixels`` (h*w, 3) uint8 of the window, its ``size`` (h, w) and ``origin``
    (x, y) in stored pixels, and the record's fields (those of the eval meta if ``keep_meta``,
    and its ``person_box`` if asked).
    """
    ex = records.parse(serialized, skeleton.num_keypoints)
    same_skeleton = tf.debugging.Assert(
        tf.equal(ex["skeleton"], skeleton.name),
        [f"record of another skeleton than {skeleton.name!r}: image id", ex["image/id"], "skeleton", ex["skeleton"]])
    height, width = ex["image/height"], ex["image/width"]
    if crop_on_decode:
        window = reachable_region(ex["center"], ex["scale"], height, width, region_config)
    else:
        window = tf.stack([0, 0, tf.cast(height, tf.int32), tf.cast(width, tf.int32)])
    with tf.control_dependencies([same_skeleton]):
        # Training decodes JPEGs with the fast integer IDCT (colour noise dwarfs its rounding);
        # evaluation keeps the exact one.
        image = _decode_window(ex["image/encoded"], window, height, width, ex["image/id"],
                               dct_method="INTEGER_FAST" if region_config is not None else "")
    out = {
        "pixels": tf.reshape(image, [-1, 3]),
        "size": tf.shape(image)[:2],
        "origin": tf.cast(tf.stack([window[1], window[0]]), tf.float32),
        "keypoints": ex["keypoints"],
        "annotated": ex["annotated"],
        "center": ex["center"],
        "scale": ex["scale"],
    }
    if keep_meta:
        out.update({key: ex[key] for key in ("visible", "head_box", "has_head_box", "source/offset", "source/scale",
                                             "image/id", "dataset", "person/index", "extra/joints", "extra/visible")})
    if person_box:
        out["person_box"] = ex["person_box"]
    return out


def _decode_window(encoded: tf.Tensor, window: tf.Tensor, height: tf.Tensor, width: tf.Tensor,
                   image_id: tf.Tensor, dct_method: str = "") -> tf.Tensor:
    """Decode the [y0, x0, h, w] window of an encoded image -> (h, w, 3) uint8.

    ``dct_method``: libjpeg's IDCT for JPEGs ("" = the system default, "INTEGER_FAST", ...).

    The decoded size must equal the record's (height, width): coordinates depend on it.
    """
    expected = tf.cast(tf.stack([height, width]), tf.int32)

    def check(size: tf.Tensor) -> tf.Operation:
        return tf.debugging.Assert(
            tf.reduce_all(tf.equal(size, expected)),
            ["image size differs from the record's image/height, image/width: image id", image_id,
             "decoded", size, "record", expected])

    def jpeg() -> tf.Tensor:
        with tf.control_dependencies([check(tf.io.extract_jpeg_shape(encoded)[:2])]):
            return tf.image.decode_and_crop_jpeg(encoded, window, channels=3, dct_method=dct_method)

    def other() -> tf.Tensor:
        image = tf.io.decode_image(encoded, channels=3, dtype=tf.uint8, expand_animations=False)
        with tf.control_dependencies([check(tf.shape(image)[:2])]):
            return image[window[0]:window[0] + window[2], window[1]:window[1] + window[3]]

    image = tf.cond(tf.io.is_jpeg(encoded), jpeg, other)
    image.set_shape([None, None, 3])
    return image


def _uncropped(batch: dict[str, tf.Tensor], transforms: CropTransforms, colour: ColorParams | None,
               pad: bool) -> dict[str, tf.Tensor]:
    """A decoded batch and its draws as an uncropped batch (module docstring); no colour keys without
    ``colour`` (evaluation)."""
    out = {key: batch[key] for key in ("size", "origin", "keypoints", "annotated")}
    out["pixels"] = _pad_to_bucket(batch["pixels"]) if pad else batch["pixels"]
    out.update(crop_from_stored=transforms.crop_from_stored, stored_from_crop=transforms.stored_from_crop,
               flipped=transforms.flipped)
    if colour is not None:
        out.update(gain=colour.gain, shift=colour.shift, contrast=colour.contrast)
    return out


def _pad_to_bucket(pixels: tf.Tensor) -> tf.Tensor:
    """Zero-pad flat pixels (B, L, 3) to the next length of the form 2^(k/2) (rounded up).

    Few distinct lengths keep XLA compilations few (two per octave of image area), at most
    41% padding.
    """
    length = tf.cast(tf.shape(pixels)[1], tf.float64)
    half_octaves = tf.math.ceil(2.0 * tf.math.log(tf.maximum(length, 2.0) - 0.5) / math.log(2.0))
    bucket = tf.cast(tf.math.ceil(tf.pow(tf.constant(2.0, tf.float64), half_octaves / 2.0)), tf.int32)
    return tf.pad(pixels, [[0, 0], [0, tf.maximum(bucket - tf.shape(pixels)[1], 0)], [0, 0]])


def _meta(batch: dict[str, tf.Tensor], stored_from_crop: tf.Tensor) -> dict[str, tf.Tensor]:
    return {
        "inverse_affine": stored_from_crop,
        "source_offset": batch["source/offset"],
        "source_scale": batch["source/scale"],
        "image_id": batch["image/id"],
        "dataset": batch["dataset"],
        "person_index": batch["person/index"],
        "keypoints_stored": batch["keypoints"],
        "annotated": tf.cast(batch["annotated"], tf.bool),
        "visible": tf.cast(batch["visible"], tf.bool),
        "head_box": batch["head_box"],
        "has_head_box": tf.cast(batch["has_head_box"], tf.bool),
        "center": batch["center"],
        "scale": batch["scale"],
        "extra_joints": batch["extra/joints"],
        "extra_visible": tf.cast(batch["extra/visible"], tf.bool),
        **({"person_box": batch["person_box"]} if "person_box" in batch else {}),
    }
