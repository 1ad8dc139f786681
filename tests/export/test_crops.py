"""In-graph decoding and person crop (repose_tf.export.crops): geometry, image formats, bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from repose_tf.data.augment import apply_affine
from repose_tf.export.crops import CropOptions, check_crops, crop_images, error_message
from tests.export.artifacts import encode

S = 32
OPTIONS = CropOptions(S)


def crop(images: list[bytes], boxes=None, options: CropOptions = OPTIONS) -> tuple[np.ndarray, np.ndarray]:
    rows = np.zeros((0, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32)
    crops, image_from_crop = crop_images(tf.constant(images), tf.constant(rows), options)
    return crops.numpy(), image_from_crop.numpy()


def failure(images: list[bytes], boxes=None, options: CropOptions = OPTIONS) -> str:
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        crop(images, boxes, options)
    return error_message(info.value)


def dot_image(width: int, height: int, x: int, y: int, sigma: float = 6.0) -> np.ndarray:
    """Black RGB image with a white Gaussian blob centred on pixel (x, y)."""
    ys, xs = np.mgrid[0:height, 0:width]
    blob = 255 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return np.repeat(blob[..., None], 3, axis=-1).astype(np.uint8)


def brightest(crop_rgb: np.ndarray) -> np.ndarray:
    """(x, y) of the intensity-weighted centre of a crop."""
    weight = crop_rgb.mean(-1)
    ys, xs = np.mgrid[0:weight.shape[0], 0:weight.shape[1]]
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


def test_box_crop_maps_crop_pixels_back_to_the_image():
    image = encode(dot_image(200, 120, x=140, y=50), "PNG")
    crops, image_from_crop = crop([image], [[120, 20, 40, 60]])  # centre (139.5, 49.5), side 1.25 * 60
    assert crops.shape == (1, S, S, 3) and crops.dtype == np.float32
    found = brightest(crops[0])
    back = apply_affine(image_from_crop, found[None, None]).numpy()[0, 0]
    np.testing.assert_allclose(back, [140, 50], atol=0.3)
    # Crop pixel (S - 1) / 2 is the box centre; one crop pixel is 75 / S image pixels.
    centre = apply_affine(image_from_crop, np.full((1, 1, 2), (S - 1) / 2, np.float32)).numpy()[0, 0]
    np.testing.assert_allclose(centre, [139.5, 49.5], atol=1e-4)
    np.testing.assert_allclose(image_from_crop[0, 0, 0], 1.25 * 60 / S, rtol=1e-6)


def test_without_box_the_crop_is_the_centred_square_of_the_whole_image():
    image = encode(np.full((50, 100, 3), 200, np.uint8), "PNG")
    crops, image_from_crop = crop([image])
    corners = apply_affine(image_from_crop, np.array([[[-0.5, -0.5], [S - 0.5, S - 0.5]]], np.float32)).numpy()[0]
    np.testing.assert_allclose(corners, [[-0.5, -25.5], [99.5, 74.5]], atol=1e-3)
    # The image fills the middle half of the rows; the rest is zero padding.
    assert crops[0, S // 2, S // 2].tolist() == pytest.approx([200, 200, 200], abs=1)
    assert crops[0, 2].max() == 0 and crops[0, S - 3].max() == 0


def test_batch_of_mixed_sizes_and_formats():
    images = [encode(dot_image(60, 80, 30, 40)), encode(dot_image(90, 45, 45, 22), "PNG")]
    crops, image_from_crop = crop(images, [[10, 10, 40, 60], [20, 5, 50, 35]])
    assert crops.shape == (2, S, S, 3) and image_from_crop.shape == (2, 3, 3)


@pytest.mark.parametrize("mode, array", [
    ("L", np.full((40, 40), 90, np.uint8)),
    ("LA", np.dstack([np.full((40, 40), 90, np.uint8), np.full((40, 40), 255, np.uint8)])),
    ("RGBA", np.dstack([np.full((40, 40, 3), 90, np.uint8), np.full((40, 40), 128, np.uint8)])),
    (None, np.full((40, 40), 90 * 257, np.uint16)),  # PIL writes uint16 as a 16-bit grey PNG
])
def test_grayscale_alpha_and_16_bit_pngs_become_rgb(mode: str | None, array: np.ndarray):
    crops, _ = crop([encode(array, "PNG", mode)], [[0, 0, 40, 40]])
    centre = crops[0, S // 2, S // 2]
    np.testing.assert_allclose(centre, [90, 90, 90], atol=1)


def test_grayscale_jpeg_becomes_rgb():
    crops, _ = crop([encode(np.full((40, 40), 150, np.uint8))])
    np.testing.assert_allclose(crops[0, S // 2, S // 2], [150, 150, 150], atol=2)


def test_bytes_that_are_no_image_name_the_index():
    good = encode(np.zeros((40, 40, 3), np.uint8))
    assert failure([good, b"GIF89a not what we take"]) == "images[1] is neither a JPEG nor a PNG image (23 bytes)"
    assert "images[0] is neither" in failure([b""])


def test_truncated_jpeg_and_png_fail_in_the_decoder():
    jpeg = encode(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    assert "Invalid JPEG data" in failure([jpeg[: len(jpeg) // 2]])
    png = encode(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8), "PNG")
    assert failure([png[: len(png) // 2]])
    assert "is 0 x 0 pixels" in failure([png[:12]])  # too short for the header's size fields


def test_tiny_and_huge_images_are_refused_before_decoding():
    one_pixel = encode(np.zeros((1, 1, 3), np.uint8), "PNG")
    assert failure([one_pixel]) == ("images[0] is 1 x 1 pixels (height x width); the smallest accepted side is 16")
    huge = Image.new("1", (10000, 10000))  # 1-bit: cheap to make, 300 MB once decoded as RGB
    buffer = io.BytesIO()
    huge.save(buffer, format="PNG")
    message = failure([buffer.getvalue()])
    assert message.startswith("images[0] is 10000 x 10000 pixels") and "limit of 50000000 pixels" in message
    huge_jpeg = encode(np.zeros((10000, 10000), np.uint8))
    assert failure([huge_jpeg]).startswith("images[0] is 10000 x 10000 pixels")


@pytest.mark.parametrize("box, expected", [
    ([500, 500, 10, 10], "boxes[0] = [500 500 10 10] (x, y, w, h) lies outside the 100 x 80 image"),
    ([-30, 10, 30, 10], "lies outside"),
    ([10, 10, 0, 20], "boxes[0] = [10 10 0 20] has no area"),
    ([10, 10, np.nan, 20], "boxes[0] is not finite"),
])
def test_bad_boxes(box: list[float], expected: str):
    image = encode(np.zeros((80, 100, 3), np.uint8))
    assert expected in failure([image], [box])


def test_a_box_partly_outside_the_image_is_padded_with_zeros():
    image = encode(np.full((80, 100, 3), 255, np.uint8), "PNG")
    crops, _ = crop([image], [[-20, -20, 40, 40]])
    assert crops[0, 0, 0].max() == 0 and crops[0, S - 1, S - 1].min() == 255


def test_boxes_count_must_match_images_and_the_batch_must_not_be_empty():
    image = encode(np.zeros((40, 40, 3), np.uint8))
    assert failure([image, image], [[0, 0, 10, 10]]) == (
        "boxes has 1 rows for 2 images: give one box per image or none")
    with pytest.raises(tf.errors.InvalidArgumentError, match="images is empty"):
        crop_images(tf.constant([], tf.string), tf.zeros([0, 4]), OPTIONS)


@pytest.mark.parametrize("crops, expected", [
    (np.zeros((1, 16, S, 3)), f"crops must be (N, {S}, {S}, 3) RGB float32; got shape [1 16 32 3]"),
    (np.zeros((S, S, 3)), "got shape [32 32 3]"),
    (np.zeros((0, S, S, 3)), "crops is empty"),
    (np.full((1, S, S, 3), np.nan), "crops contain NaN or infinite values"),
    (np.full((1, S, S, 3), -1.0), "crops must hold RGB values in [0, 255]; got values from -1 to -1"),
])
def test_check_crops(crops: np.ndarray, expected: str):
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        check_crops(tf.constant(crops, tf.float32), S)
    assert expected in error_message(info.value)


def test_check_crops_passes_good_crops_with_a_static_shape():
    out = tf.function(lambda x: check_crops(x, S))(tf.zeros([2, S, S, 3]))
    assert out.shape == (2, S, S, 3)


def test_error_message_strips_tensorflow_annotations():
    raw = ("Graph execution error:\n\nassertion failed: [boxes[0] = [1 2 3 4] has no area]\n"
           "\t [[{{node map/while/Assert/Assert}}]]")
    assert error_message(raw) == "boxes[0] = [1 2 3 4] has no area"
    assert error_message("{{function_node f}} bad data [Op:DecodeImage]") == "bad data"


def test_options_are_checked():
    with pytest.raises(ValueError, match="box_margin"):
        CropOptions(64, box_margin=0)
    with pytest.raises(ValueError, match="min_image_side"):
        CropOptions(64, min_image_side=0)
