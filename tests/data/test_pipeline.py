"""The tf.data pipeline end to end, on small TFRecords of dot images written in tmp."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from repose_tf.data import records
from repose_tf.data.augment import AugmentConfig, apply_affine, stored_to_source
from repose_tf.data.pipeline import crop_uncropped, make_dataset
from repose_tf.skeleton import LSP14
from tests.data.test_augment import assert_dots_on_keypoints, dot_layout, draw_dots

K = LSP14.num_keypoints
S = 64
NO_COLOUR = AugmentConfig(channel_gain=0.0, brightness=0.0, contrast=0.0)
UNANNOTATED = LSP14.index("l_elbow")  # left unannotated in every third record


def encode(image: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def person(i: int, fmt: str = "PNG", skeleton: str = LSP14.name, num_keypoints: int = K,
           image_bytes: bytes | None = None) -> records.PersonRecord:
    """Record i: a dot image of varying size with the dots at the keypoints."""
    rng = np.random.default_rng(i)
    height, width = 96 + 3 * i, 100 + 2 * i
    jitter = rng.uniform(-3, 3, (num_keypoints, 2)).astype(np.float32)
    keypoints = np.resize(dot_layout(96, 16.0), (num_keypoints, 2)) + jitter
    keypoints += (width - 100, height - 96)  # the person sits at the bottom right of larger images
    annotated = np.ones(num_keypoints, np.int64)
    if i % 3 == 0:
        annotated[UNANNOTATED] = 0
    return records.PersonRecord(
        image_bytes=image_bytes if image_bytes is not None else encode(draw_dots(height, width, keypoints), fmt),
        height=height, width=width, dataset="synthetic", image_id=f"im{i:03d}", person_index=i % 2,
        skeleton=skeleton, keypoints=keypoints, annotated=annotated, visible=annotated,
        center=keypoints.mean(axis=0), scale=0.4,
        head_box=np.array([1.0, 2.0, 3.0, 4.0]) if i % 2 else None,
        source_offset=(10.0 * i, 5.0), source_scale=1.5,
        extra_joints=np.full((i % 3, 2), float(i)), extra_visible=np.ones(i % 3))


def dataset(pattern: str, mode: str, batch_size: int, **kwargs) -> tf.data.Dataset:
    """make_dataset at S x S without XLA (its compile time would dominate these tiny runs)."""
    return make_dataset(pattern, mode, batch_size, input_size=S, jit_compile=False, **kwargs)


def write(path: Path, people: list[records.PersonRecord]) -> str:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for p in people:
            writer.write(records.serialize(p))
    return str(path)


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two PNG shards and one JPEG shard, 12 people; returns their glob pattern."""
    folder = tmp_path_factory.mktemp("records")
    write(folder / "people-0.tfrecord", [person(i) for i in range(0, 5)])
    write(folder / "people-1.tfrecord", [person(i) for i in range(5, 9)])
    write(folder / "people-2.tfrecord", [person(i, "JPEG") for i in range(9, 12)])
    return str(folder / "people-*.tfrecord")


def test_train_batches_shapes_dtypes_and_xla_equivalence(shards: str) -> None:
    compiled = make_dataset(shards, "train", 4, input_size=S, seed=0, deterministic=True)
    images_spec, targets_spec = compiled.element_spec
    assert images_spec.shape == (4, S, S, 3) and images_spec.dtype == tf.float32
    assert targets_spec["heatmaps"].shape == (4, S, S, K)
    assert targets_spec["mask"].shape == (4, K) and targets_spec["keypoints"].shape == (4, K, 2)
    images, targets = next(iter(compiled))
    assert 0 <= images.numpy().min() and images.numpy().max() <= 255
    assert all(t.dtype == tf.float32 for t in targets.values())
    plain_images, plain_targets = next(iter(dataset(shards, "train", 4, seed=0, deterministic=True)))
    np.testing.assert_allclose(images.numpy(), plain_images.numpy(), atol=0.01)
    for key, value in targets.items():
        np.testing.assert_allclose(value.numpy(), plain_targets[key].numpy(), atol=1e-5)


def test_uncropped_batches_crop_to_the_pipelines_batches(shards: str) -> None:
    """crop=False hands the decoded windows and the draws over; crop_uncropped (the train step's crop)
    makes the batches the pipeline makes from the same seed."""
    options = dict(seed=4, deterministic=True, heatmaps=False)
    uncropped = dataset(shards, "train", 4, crop=False, **options)
    spec = uncropped.element_spec
    assert spec["pixels"].dtype == tf.uint8 and spec["pixels"].shape[2] == 3
    assert spec["crop_from_stored"].shape == (4, 3, 3) and spec["gain"].shape == (4, 1, 1, 3)
    for (images, targets), raw in zip(dataset(shards, "train", 4, **options).take(3), uncropped.take(3)):
        cropped, cropped_targets = crop_uncropped(raw, S, LSP14.flip_permutation)
        np.testing.assert_allclose(cropped.numpy(), images.numpy(), atol=0.01)
        assert sorted(cropped_targets) == sorted(targets) == ["keypoints", "mask"]
        for key, value in targets.items():
            np.testing.assert_allclose(cropped_targets[key].numpy(), value.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="crop=False is for training batches"):
        dataset(shards, "eval", 4, crop=False)


def test_train_dots_follow_keypoints_and_heatmaps_peak_on_them(shards: str) -> None:
    ds = dataset(shards, "train", 6, sigma=2.0, augment=NO_COLOUR, seed=1)
    checked = 0
    for images, targets in ds.take(8):
        keypoints, mask, heatmaps = (targets[k].numpy() for k in ("keypoints", "mask", "heatmaps"))
        checked += assert_dots_on_keypoints(images.numpy(), keypoints, mask)
        peaks = heatmaps.transpose(0, 3, 1, 2).reshape(6, K, -1).argmax(-1)
        on = mask > 0
        np.testing.assert_array_equal((peaks % S)[on], np.round(keypoints[..., 0])[on])
        np.testing.assert_array_equal((peaks // S)[on], np.round(keypoints[..., 1])[on])
        assert np.all(heatmaps.max(axis=(1, 2))[~on] == 0)
        assert np.all(heatmaps.max(axis=(1, 2))[on] > 0.8)
    assert checked > 8 * 6 * K // 2


def test_train_flip_swaps_left_and_right_channels(tmp_path: Path) -> None:
    pattern = write(tmp_path / "one.tfrecord", [person(1)])
    flip_only = AugmentConfig(scale_range=(1.0, 1.0), max_rotation=0.0, flip_prob=1.0,
                              channel_gain=0.0, brightness=0.0, contrast=0.0)
    train_images, train = next(iter(dataset(pattern, "train", 1, augment=flip_only)))
    eval_images, evaluation, _ = next(iter(dataset(pattern, "eval", 1)))
    expected = evaluation["keypoints"].numpy()[:, list(LSP14.flip_permutation)]
    expected[..., 0] = S - 1 - expected[..., 0]
    np.testing.assert_allclose(train["keypoints"].numpy(), expected, atol=1e-3)
    np.testing.assert_allclose(train_images.numpy(), eval_images.numpy()[:, :, ::-1], atol=1.0)


def test_eval_meta_and_inverse_round_trip(shards: str) -> None:
    ds = dataset(shards, "eval", 5, deterministic=True)
    seen = []
    for images, targets, meta in ds:
        b = images.shape[0]
        assert images.shape == (b, S, S, 3) and targets["heatmaps"].shape == (b, S, S, K)
        expected = {"inverse_affine": ((b, 3, 3), tf.float32), "source_offset": ((b, 2), tf.float32),
                    "source_scale": ((b,), tf.float32), "image_id": ((b,), tf.string),
                    "dataset": ((b,), tf.string), "person_index": ((b,), tf.int64),
                    "keypoints_stored": ((b, K, 2), tf.float32), "annotated": ((b, K), tf.bool),
                    "visible": ((b, K), tf.bool), "head_box": ((b, 4), tf.float32), "has_head_box": ((b,), tf.bool),
                    "center": ((b, 2), tf.float32), "scale": ((b,), tf.float32),
                    "extra_joints": ((b, 2, 2), tf.float32), "extra_visible": ((b, 2), tf.bool)}
        assert {k: (tuple(v.shape), v.dtype) for k, v in meta.items()} == expected
        keypoints, mask = targets["keypoints"].numpy(), targets["mask"].numpy()
        stored = apply_affine(meta["inverse_affine"], keypoints).numpy()
        np.testing.assert_allclose(stored, meta["keypoints_stored"].numpy(), atol=0.01)
        source = stored_to_source(stored, meta["source_offset"], meta["source_scale"]).numpy()
        i = np.array([int(s[2:]) for s in meta["image_id"].numpy().astype(str)])
        np.testing.assert_allclose(source[..., 0], stored[..., 0] * 1.5 + 10.0 * i[:, None], atol=0.01)
        np.testing.assert_array_equal(mask > 0, meta["annotated"].numpy())
        np.testing.assert_array_equal(meta["has_head_box"].numpy(), i % 2 == 1)
        np.testing.assert_array_equal(meta["extra_visible"].numpy().sum(1), i % 3)
        assert_dots_on_keypoints(images.numpy(), keypoints, mask)
        seen.extend(i.tolist())
    assert sorted(seen) == list(range(12))  # every person exactly once, last batch partial


def test_eval_masks_keypoints_outside_the_box(tmp_path: Path) -> None:
    outside = person(2)
    outside.keypoints = outside.keypoints.copy()
    outside.keypoints[0] = outside.center - (70.0, 0.0)  # the box is 80 px wide
    _, targets, _ = next(iter(dataset(write(tmp_path / "out.tfrecord", [outside]), "eval", 1)))
    assert targets["mask"].numpy()[0, 0] == 0 and targets["mask"].numpy()[0, 1] == 1


def test_same_seed_same_batches(shards: str) -> None:
    def first(seed: int) -> np.ndarray:
        ds = dataset(shards, "train", 4, seed=seed, deterministic=True)
        return next(iter(ds))[1]["keypoints"].numpy()

    np.testing.assert_array_equal(first(3), first(3))
    assert not np.allclose(first(3), first(4))


def test_crop_on_decode_matches_whole_decode(shards: str) -> None:
    a = next(iter(dataset(shards, "eval", 12, deterministic=True)))
    b = next(iter(dataset(shards, "eval", 12, deterministic=True, crop_on_decode=False)))
    np.testing.assert_allclose(a[0].numpy(), b[0].numpy(), atol=1.0)
    np.testing.assert_allclose(a[1]["keypoints"].numpy(), b[1]["keypoints"].numpy())


def test_pattern_matching_nothing_is_named(tmp_path: Path) -> None:
    pattern = str(tmp_path / "missing-*.tfrecord")
    with pytest.raises(ValueError, match="missing-"):
        make_dataset(pattern, "train", 2)
    with pytest.raises(ValueError, match="mode"):
        make_dataset(pattern, "test", 2)


def test_wrong_skeleton_or_schema_names_the_file(tmp_path: Path) -> None:
    mpii = write(tmp_path / "mpii16.tfrecord", [person(0, skeleton="mpii16", num_keypoints=16)])
    with pytest.raises(ValueError, match=r"mpii16\.tfrecord.*'mpii16' with 16 keypoints.*'lsp14' with 14"):
        make_dataset(mpii, "train", 2)
    (tmp_path / "junk.tfrecord").write_bytes(b"not a tfrecord at all")
    with pytest.raises(ValueError, match=r"junk\.tfrecord: not a readable TFRecord"):
        make_dataset(str(tmp_path / "junk.tfrecord"), "eval", 2)
    other = tf.train.Example(features=tf.train.Features(feature={
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[1]))})).SerializeToString()
    with tf.io.TFRecordWriter(str(tmp_path / "other.tfrecord")) as writer:
        writer.write(other)
    with pytest.raises(ValueError, match=r"other\.tfrecord: record 0 lacks feature"):
        make_dataset(str(tmp_path / "other.tfrecord"), "eval", 2)


def test_later_record_of_another_skeleton_fails_naming_the_image(tmp_path: Path) -> None:
    pattern = write(tmp_path / "mixed.tfrecord", [person(0), person(1, skeleton="other14")])
    with pytest.raises(tf.errors.InvalidArgumentError, match="another skeleton.*im001"):
        for _ in dataset(pattern, "eval", 1):
            pass


def test_corrupt_image_is_skipped_in_train_and_fails_eval(tmp_path: Path) -> None:
    good = [person(i) for i in range(3)]
    corrupt = person(3, image_bytes=encode(draw_dots(99, 106, np.zeros((0, 2))), "JPEG")[:300])
    pattern = write(tmp_path / "corrupt.tfrecord", good[:2] + [corrupt] + good[2:])
    train = dataset(pattern, "train", 1, repeat=1)
    assert sum(1 for _ in train) == 3
    with pytest.raises(tf.errors.InvalidArgumentError):
        for _ in dataset(pattern, "eval", 2):
            pass


def test_image_size_mismatch_fails_naming_the_image(tmp_path: Path) -> None:
    wrong = person(4)
    wrong.height += 5
    pattern = write(tmp_path / "size.tfrecord", [wrong])
    with pytest.raises(tf.errors.InvalidArgumentError, match="im004"):
        next(iter(dataset(pattern, "eval", 1)))


def test_eval_meta_carries_person_boxes_when_asked(tmp_path: Path) -> None:
    boxed = [dataclasses.replace(person(i), person_box=np.array([1.0, 2.0, 30.0 + i, 40.0]) if i % 2 else None)
             for i in range(4)]
    mixed = write(tmp_path / "mixed.tfrecord", boxed)
    (_, _, meta), = dataset(mixed, "eval", 4, deterministic=True, person_box=True)
    np.testing.assert_array_equal(meta["person_box"].numpy(), [[0, 0, 0, 0], [1, 2, 31, 40], [0, 0, 0, 0],
                                                               [1, 2, 33, 40]])
    none = write(tmp_path / "none.tfrecord", [person(i) for i in range(2)])
    (_, _, meta), = dataset(none, "eval", 2, deterministic=True, person_box=True)
    assert meta["person_box"].shape == (2, 0)
    (_, _, meta), = dataset(none, "eval", 2, deterministic=True)
    assert "person_box" not in meta
