"""The TFRecord schema: one ``tf.train.Example`` per person.

Every converter (LSP, LSPET, MPII, synthetic) writes :class:`PersonRecord`s through
:func:`serialize`; the input pipeline reads them back with :func:`parse`.  Coordinates are
0-based pixels of the *stored* image.  The stored image may be a person-centred pre-crop of
the source image: ``source_xy = stored_xy * source_scale + source_offset`` maps back.

Feature keys (K = number of keypoints of the record's skeleton):

  image/encoded       bytes    JPEG/PNG bytes of the stored image
  image/height, width int64    stored image size
  image/source_height, image/source_width  int64  size of the source image
  source/offset       float[2] (x, y) of stored pixel (0, 0) in the source image
  source/scale        float    source pixels per stored pixel
  dataset             bytes    "lsp", "lspet", "mpii", "synthetic", ...
  image/id            bytes    source file name or id
  person/index        int64    index of the person in the source annotation
  skeleton            bytes    skeleton name (e.g. "lsp14")
  keypoints           float[K*2]  (x, y) per keypoint, stored-image pixels
  annotated           int64[K] 1 where the keypoint is annotated (the a_i of eq. 3)
  visible             int64[K] 1 where annotated and visible (not occluded)
  center              float[2] person center, stored-image pixels
  scale               float    person box side = scale * 200 stored pixels
  head_box            float[4] x1, y1, x2, y2 (MPII head box), stored pixels; zeros if unknown
  has_head_box        int64    1 when head_box is known
  extra/joints        float[J*2] benchmark-native joints (e.g. MPII's 16), stored pixels
  extra/visible       int64[J]    1 where the benchmark-native joint is annotated (MPII: 1 - jnt_missing)
  person_box          float[4] or absent: x1, y1, x2, y2 of the annotated person box (COCO's bbox),
                      stored pixels, x2 - x1 = its width; present only when the source gives one
                      (an optional feature: records without it are unchanged, still schema version 1)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

SCHEMA_VERSION = 1


@dataclasses.dataclass
class PersonRecord:
    """One person, ready to serialize.  Arrays are numpy; pixels are stored-image pixels."""

    image_bytes: bytes
    height: int
    width: int
    dataset: str
    image_id: str
    person_index: int
    skeleton: str
    keypoints: np.ndarray  # (K, 2) float
    annotated: np.ndarray  # (K,) bool/int
    visible: np.ndarray  # (K,) bool/int
    center: np.ndarray  # (2,)
    scale: float
    head_box: np.ndarray | None = None  # (4,) x1, y1, x2, y2
    source_offset: tuple[float, float] = (0.0, 0.0)
    source_scale: float = 1.0
    source_height: int | None = None
    source_width: int | None = None
    extra_joints: np.ndarray | None = None  # (J, 2)
    extra_visible: np.ndarray | None = None  # (J,)
    person_box: np.ndarray | None = None  # (4,) x1, y1, x2, y2


def _bytes(v: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))


def _floats(v) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(v, np.float32).ravel().tolist()))


def _ints(v) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(v, np.int64).ravel().tolist()))


def serialize(rec: PersonRecord) -> bytes:
    """PersonRecord -> serialized tf.train.Example."""
    kp = np.asarray(rec.keypoints, np.float32)
    if kp.ndim != 2 or kp.shape[1] != 2:
        raise ValueError(f"keypoints must be (K, 2), got {kp.shape}")
    k = kp.shape[0]
    for name in ("annotated", "visible"):
        if np.asarray(getattr(rec, name)).shape != (k,):
            raise ValueError(f"{name} must be ({k},), got {np.asarray(getattr(rec, name)).shape}")
    feats = {
        "image/encoded": _bytes(rec.image_bytes),
        "image/height": _ints([rec.height]),
        "image/width": _ints([rec.width]),
        "image/source_height": _ints([rec.source_height or rec.height]),
        "image/source_width": _ints([rec.source_width or rec.width]),
        "source/offset": _floats(rec.source_offset),
        "source/scale": _floats([rec.source_scale]),
        "dataset": _bytes(rec.dataset.encode()),
        "image/id": _bytes(rec.image_id.encode()),
        "person/index": _ints([rec.person_index]),
        "skeleton": _bytes(rec.skeleton.encode()),
        "keypoints": _floats(kp),
        "annotated": _ints(np.asarray(rec.annotated, bool)),
        "visible": _ints(np.asarray(rec.visible, bool) & np.asarray(rec.annotated, bool)),
        "center": _floats(rec.center),
        "scale": _floats([rec.scale]),
        "head_box": _floats(rec.head_box if rec.head_box is not None else np.zeros(4)),
        "has_head_box": _ints([rec.head_box is not None]),
        "extra/joints": _floats(rec.extra_joints if rec.extra_joints is not None else np.zeros((0, 2))),
        "extra/visible": _ints(rec.extra_visible if rec.extra_visible is not None else np.zeros(0)),
    }
    if rec.person_box is not None:
        feats["person_box"] = _floats(rec.person_box)
    # deterministic: map fields in key order, so that reruns in other processes write the same bytes
    # (protobuf's map order follows the process's hash seed otherwise).
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString(deterministic=True)


def feature_spec(num_keypoints: int) -> dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]:
    """Parsing spec for records of a skeleton with ``num_keypoints`` keypoints."""
    k = num_keypoints
    fixed = tf.io.FixedLenFeature
    return {
        "image/encoded": fixed([], tf.string),
        "image/height": fixed([], tf.int64),
        "image/width": fixed([], tf.int64),
        "image/source_height": fixed([], tf.int64),
        "image/source_width": fixed([], tf.int64),
        "source/offset": fixed([2], tf.float32),
        "source/scale": fixed([], tf.float32),
        "dataset": fixed([], tf.string),
        "image/id": fixed([], tf.string),
        "person/index": fixed([], tf.int64),
        "skeleton": fixed([], tf.string),
        "keypoints": fixed([k * 2], tf.float32),
        "annotated": fixed([k], tf.int64),
        "visible": fixed([k], tf.int64),
        "center": fixed([2], tf.float32),
        "scale": fixed([], tf.float32),
        "head_box": fixed([4], tf.float32),
        "has_head_box": fixed([], tf.int64),
        "extra/joints": tf.io.VarLenFeature(tf.float32),
        "extra/visible": tf.io.VarLenFeature(tf.int64),
        "person_box": tf.io.VarLenFeature(tf.float32),
    }


def parse(serialized: tf.Tensor, num_keypoints: int) -> dict[str, tf.Tensor]:
    """Parse one serialized Example (scalar string tensor) into a dict of tensors.

    ``keypoints`` comes back as (K, 2); the extra/* sparse features and ``person_box`` as dense
    vectors (``person_box`` empty when the record has none).
    """
    ex = tf.io.parse_single_example(serialized, feature_spec(num_keypoints))
    ex["keypoints"] = tf.reshape(ex["keypoints"], [num_keypoints, 2])
    ex["extra/joints"] = tf.reshape(tf.sparse.to_dense(ex["extra/joints"]), [-1, 2])
    ex["extra/visible"] = tf.sparse.to_dense(ex["extra/visible"])
    ex["person_box"] = tf.sparse.to_dense(ex["person_box"])
    return ex
