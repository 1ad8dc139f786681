"""Synthetic people: determinism, geometry, visibility, anthropometry, records, difficulty."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.ndimage
import tensorflow as tf
from PIL import Image

from repose_tf.data.records import parse, serialize
from repose_tf.data.synthetic import (
    background,
    body,
    generate_people,
    render_person,
    render_scene,
    synthetic_record,
)
from repose_tf.data.synthetic.raster import Canvas, Capsule, Ellipse, Light
from repose_tf.data.synthetic.scene import (
    BACKGROUND,
    JOINT_PARTS,
    OCCLUDER,
    PARTS,
    VOLUME_DEPTH_TOLERANCE,
    VOLUME_PARTS,
    joint_visibility,
    sample_camera,
)
from repose_tf.skeleton import LSP14

SIZE = 192
K = LSP14.index


def scenes(seed: int, count: int, **kwargs) -> list:
    return [render_scene(np.random.default_rng([seed, i]), SIZE, **kwargs) for i in range(count)]


@pytest.fixture(scope="module")
def clean_scenes() -> list:
    """People on plain backgrounds without occluders."""
    return scenes(1, 40, clutter=False, occlusion=False)


@pytest.fixture(scope="module")
def default_scenes() -> list:
    return scenes(2, 40)


@pytest.fixture(scope="module")
def poses() -> list[body.Pose]:
    rng = np.random.default_rng(3)
    return [body.sample_pose(rng) for _ in range(400)]


def test_same_seed_and_index_give_the_same_bytes_whatever_the_count():
    short = list(generate_people(2, seed=5, image_size=96))
    long = list(generate_people(4, seed=5, image_size=96))
    assert [r.image_bytes for r in short] == [r.image_bytes for r in long[:2]]
    assert synthetic_record(5, 3, 96).image_bytes == long[3].image_bytes
    np.testing.assert_array_equal(synthetic_record(5, 1, 96).keypoints, long[1].keypoints)
    assert [r.image_id for r in long] == [f"synthetic-5-{i}" for i in range(4)]
    other_seed = list(generate_people(2, seed=6, image_size=96))
    assert all(a.image_bytes != b.image_bytes for a, b in zip(short, other_seed))
    assert short[0].image_bytes != short[1].image_bytes
    background._plate.cache_clear()  # cached background plates are a pure function of (size, index)
    background._plate_luminance.cache_clear()
    assert synthetic_record(5, 3, 96).image_bytes == long[3].image_bytes


WORKERS_BEFORE_AND_AFTER_TENSORFLOW = """
import repose_tf
import tensorflow as tf
from repose_tf.data.synthetic import generate_people
from repose_tf.data.synthetic.records import tensorflow_running

serial = [r.image_bytes for r in generate_people(5, seed=8, image_size=64)]
before = generate_people(5, seed=8, image_size=64, workers=2)
assert not tensorflow_running() and not isinstance(before, map), "TensorFlow imported only: a pool of processes"
assert [r.image_bytes for r in before] == serial
tf.constant(1.0) + 1
after = generate_people(5, seed=8, image_size=64, workers=2)
assert tensorflow_running() and isinstance(after, map), "after a TensorFlow op: rendered in this process"
assert [r.image_bytes for r in after] == serial
print("ok")
"""


def test_worker_processes_give_the_same_records_and_are_not_forked_once_tensorflow_runs():
    # A fresh process: in this one TensorFlow has run ops in other tests, so there is no pool to test here.
    done = subprocess.run([sys.executable, "-c", WORKERS_BEFORE_AND_AFTER_TENSORFLOW], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_records_parse_back(record_property):
    start = time.perf_counter()
    records = list(generate_people(12, seed=9))
    rate = len(records) / (time.perf_counter() - start)
    record_property("synthetic_images_per_second", round(rate, 1))  # reported, not asserted
    print(f"synthetic people: {rate:.1f} images/s (tiny run, one process)")
    for rec in records:
        ex = parse(tf.constant(serialize(rec)), LSP14.num_keypoints)
        assert ex["dataset"].numpy() == b"synthetic" and ex["skeleton"].numpy() == b"lsp14"
        assert ex["image/id"].numpy().decode() == rec.image_id
        np.testing.assert_allclose(ex["keypoints"].numpy(), rec.keypoints, atol=1e-4)
        np.testing.assert_array_equal(ex["visible"].numpy(), rec.visible & rec.annotated)
        np.testing.assert_array_equal(ex["annotated"].numpy(), rec.annotated)
        np.testing.assert_allclose(ex["center"].numpy(), rec.center, atol=1e-4)
        assert ex["scale"].numpy() == pytest.approx(rec.scale, rel=1e-6)
        assert ex["has_head_box"].numpy() == 1
        image = tf.io.decode_jpeg(ex["image/encoded"]).numpy()
        assert image.shape == (SIZE, SIZE, 3) == (int(ex["image/height"]), int(ex["image/width"]), 3)


def test_render_person_returns_image_keypoints_visibility():
    image, keypoints, visible = render_person(np.random.default_rng(0), 128)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    assert keypoints.shape == (14, 2) and visible.shape == (14,) and visible.dtype == bool
    again = render_person(np.random.default_rng(0), 128)
    np.testing.assert_array_equal(again[0], image)


def test_keypoints_are_annotated_inside_the_image_and_lie_on_the_drawn_body(clean_scenes):
    for scene in clean_scenes:
        inside = np.all((scene.keypoints >= -0.5) & (scene.keypoints < SIZE - 0.5), axis=1)
        np.testing.assert_array_equal(scene.annotated, inside)
        x, y = np.floor(scene.keypoints[inside] + 0.5).astype(int).T
        labels = scene.labels[y, x]
        # Without occluders every keypoint is covered by some body part ...
        assert np.all(labels >= 0), labels
        # ... and a visible one by one of its own parts.
        for k in np.flatnonzero(scene.visible):
            x, y = np.floor(scene.keypoints[k] + 0.5).astype(int)
            name = LSP14.keypoints[k]
            assert PARTS[scene.labels[y, x]] in JOINT_PARTS[name] + VOLUME_PARTS.get(name, ())
    assert np.mean([s.annotated.all() for s in clean_scenes]) > 0.85  # truncated people are rare


def test_visible_joints_show_the_person_not_the_background(clean_scenes):
    """The image colour at a visible joint is the painted body's: it differs from the smooth
    plain background, estimated by the nearest background pixel."""
    differs = []
    for scene in clean_scenes:
        _, (near_y, near_x) = scipy.ndimage.distance_transform_edt(scene.labels != BACKGROUND, return_indices=True)
        for k in np.flatnonzero(scene.visible):
            x, y = np.floor(scene.keypoints[k] + 0.5).astype(int)
            step = np.abs(scene.image[y, x].astype(int) - scene.image[near_y[y, x], near_x[y, x]].astype(int))
            differs.append(step.sum() > 20)
    assert np.mean(differs) > 0.85


def test_person_box_contains_the_person_with_an_mpii_like_margin(clean_scenes):
    fill = []
    for scene in clean_scenes:
        half = scene.scale * 100.0
        ys, xs = np.nonzero(scene.labels >= 0)
        assert np.all(np.abs(xs - scene.center[0]) <= half + 1) and np.all(np.abs(ys - scene.center[1]) <= half + 1)
        extent = scene.keypoints.max(axis=0) - scene.keypoints.min(axis=0)
        fill.append(extent.max() / (2 * half))
    # MPII: the keypoints of a fully annotated person span ~0.72 (median) of scale * 200.
    assert 0.6 < np.median(fill) < 0.85 and max(fill) < 0.9


def test_visibility_rule_with_a_constructed_occluder():
    """A wrist covered by its forearm is visible; an occluder painted over it hides it."""
    light = Light(np.array([0.0, 0.0, 1.0]), 0.5, 0.5)
    canvas = Canvas(np.zeros((3, 64, 64), np.float32), BACKGROUND)
    keypoints = np.full((14, 2), -10.0)
    keypoints[K("r_wrist")] = (32.0, 32.0)
    keypoints[K("l_wrist")] = (50.0, 50.0)
    canvas.paint(Capsule(np.array([10.0, 32.0]), np.array([32.0, 32.0]), 5.0, 4.0), np.ones(3),
                 PARTS.index("r_forearm"), light)
    canvas.paint(Capsule(np.array([50.0, 30.0]), np.array([50.0, 50.0]), 5.0, 4.0), np.ones(3),
                 PARTS.index("r_forearm"), light)  # somebody else's limb over the left wrist
    depth, part_depth = np.zeros(14), {"torso": 0.0, "head": 0.0}
    visible = joint_visibility(canvas.labels, keypoints, depth, part_depth)
    assert visible[K("r_wrist")] and not visible[K("l_wrist")] and visible.sum() == 1
    canvas.paint(Ellipse(np.array([33.0, 31.0]), np.array([6.0, 4.0]), 0.3), np.ones(3), OCCLUDER, light)
    assert not joint_visibility(canvas.labels, keypoints, depth, part_depth).any()


def test_torso_hides_a_joint_behind_it_but_not_in_front():
    light = Light(np.array([0.0, 0.0, 1.0]), 0.5, 0.5)
    canvas = Canvas(np.zeros((3, 64, 64), np.float32), BACKGROUND)
    canvas.paint(Ellipse(np.array([32.0, 32.0]), np.array([20.0, 20.0]), 0.0), np.ones(3), PARTS.index("torso"), light)
    keypoints = np.full((14, 2), -10.0)
    keypoints[K("r_shoulder")] = keypoints[K("l_shoulder")] = (30.0, 30.0)
    depth = np.zeros(14)
    depth[K("l_shoulder")] = -VOLUME_DEPTH_TOLERANCE["torso"] - 0.01
    visible = joint_visibility(canvas.labels, keypoints, depth, {"torso": 0.0, "head": 0.0})
    assert visible[K("r_shoulder")] and not visible[K("l_shoulder")]


def test_occluders_hide_the_joints_they_cover():
    """The same scene with and without occluders: occluders only ever remove visibility,
    exactly at the joints whose pixel they cover."""
    flipped = with_occluder = 0
    for i in range(12):
        bare = render_scene(np.random.default_rng([4, i]), SIZE, occlusion=False)
        covered = render_scene(np.random.default_rng([4, i]), SIZE, occlusion=True, occluder_fraction=1.0)
        np.testing.assert_array_equal(bare.keypoints, covered.keypoints)
        x, y = np.floor(covered.keypoints[covered.annotated] + 0.5).astype(int).T
        under = np.zeros(14, bool)
        under[covered.annotated] = covered.labels[y, x] == OCCLUDER
        np.testing.assert_array_equal(covered.visible, bare.visible & ~under)
        with_occluder += int((covered.labels == OCCLUDER).any())
        flipped += int((bare.visible & under).sum())
    assert with_occluder >= 10 and flipped >= 6


def test_options_switch_occluders_and_clutter(default_scenes, clean_scenes):
    with_occluders = np.mean([(s.labels == OCCLUDER).any() for s in default_scenes])
    assert 0.25 < with_occluders < 0.75  # DEFAULT_OCCLUDER_FRACTION = 0.5
    assert not any((s.labels == OCCLUDER).any() for s in clean_scenes)

    def roughness(scene) -> float:
        """Mean absolute horizontal colour step between neighbouring background pixels."""
        step = np.abs(np.diff(scene.image.astype(float), axis=1)).sum(axis=2)
        both = (scene.labels[:, 1:] == BACKGROUND) & (scene.labels[:, :-1] == BACKGROUND)
        return float(step[both].mean())

    assert np.median([roughness(s) for s in default_scenes]) > 3 * np.median([roughness(s) for s in clean_scenes])
    assert np.mean([s.visible.mean() for s in default_scenes]) < np.mean([s.visible.mean() for s in clean_scenes])


def test_colour_does_not_separate_the_person(default_scenes, clean_scenes):
    """A colour-threshold baseline: pixels within 0.08 (RGB in [0, 1]) of the true colour at a
    visible wrist (an oracle colour).  On plain backgrounds they are mostly the person; with
    clutter many are not (the background and distractors reuse the person's colours), and
    the centroid of the matches is almost never near the wrist."""

    def baseline(scene_list: list) -> tuple[float, float]:
        precision, hits = [], []
        for scene in scene_list:
            image = scene.image.astype(np.float32) / 255.0
            torso = np.linalg.norm(scene.keypoints[K("l_shoulder")] - scene.keypoints[K("r_hip")])
            for k in (K("r_wrist"), K("l_wrist")):
                if not scene.visible[k]:
                    continue
                x, y = np.floor(scene.keypoints[k] + 0.5).astype(int)
                colour = np.median(image[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].reshape(-1, 3), axis=0)
                match = np.linalg.norm(image - colour, axis=2) < 0.08
                precision.append(np.mean(scene.labels[match] >= 0))
                ys, xs = np.nonzero(match)
                hits.append(np.hypot(xs.mean() - x, ys.mean() - y) <= 0.2 * max(torso, 1.0))
        return float(np.mean(precision)), float(np.mean(hits))

    clutter_precision, clutter_pck = baseline(default_scenes)
    clean_precision, _ = baseline(clean_scenes)
    assert clean_precision > 0.8  # measured 0.88
    assert clutter_precision < 0.75 and clutter_precision < 0.8 * clean_precision  # measured 0.64
    assert clutter_pck < 0.15  # measured 0.08


def test_left_appears_on_the_right_of_the_image_when_the_person_faces_the_camera():
    checked = 0
    for i in range(40):
        scene = render_scene(np.random.default_rng([5, i]), 96, occlusion=False, clutter=False)
        chest = scene.camera @ scene.pose.trunk  # trunk axes in the view (x right, y down, z to the viewer)
        if chest[2, 2] > 0.7 and chest[1, 1] < -0.9:  # facing the camera, upright
            assert scene.keypoints[K("l_shoulder"), 0] > scene.keypoints[K("r_shoulder"), 0]
            checked += 1
    assert checked >= 5


def test_whole_body_rotation_includes_a_few_upside_down_people():
    rng = np.random.default_rng(6)
    cameras = np.array([sample_camera(rng) for _ in range(2000)])
    up = cameras[:, :, 1]  # the person's up axis in the view (y pointing down the image)
    assert 0.02 <= np.mean(up[:, 1] > 0.5) <= 0.08  # upside down: 4 %
    assert 0.05 <= np.mean(np.abs(up[:, 0]) > 0.5) <= 0.15  # lying / cartwheeling: tilted over 30 degrees, 8 %
    facing = cameras[:, 2, 2]  # z of the person's forward axis
    assert 0.55 <= np.mean(facing > 0) <= 0.85 and np.mean(facing < -0.5) > 0.1  # mostly, not always, frontal
    np.testing.assert_allclose(cameras @ cameras.transpose(0, 2, 1), np.broadcast_to(np.eye(3), cameras.shape),
                               atol=1e-9)


def test_limb_lengths_are_anthropometric(poses):
    def length(pose: body.Pose, a: str, b: str) -> float:
        return float(np.linalg.norm(pose.joints[K(a)] - pose.joints[K(b)]))

    # Stature fractions (Winter's table, +-12 % for the per-person jitter).
    expected = {("shoulder", "elbow"): 0.186, ("elbow", "wrist"): 0.146, ("hip", "knee"): 0.245,
                ("knee", "ankle"): 0.246}
    for pose in poses:
        for (a, b), fraction in expected.items():
            right, left = length(pose, f"r_{a}", f"r_{b}"), length(pose, f"l_{a}", f"l_{b}")
            assert right == pytest.approx(left)
            assert 0.88 * fraction <= right <= 1.12 * fraction
        upper_arm, forearm = length(pose, "r_shoulder", "r_elbow"), length(pose, "r_elbow", "r_wrist")
        thigh, shank = length(pose, "r_hip", "r_knee"), length(pose, "r_knee", "r_ankle")
        assert 1.0 < upper_arm / forearm < 1.6 and 0.8 < thigh / shank < 1.25
        assert length(pose, "r_hip", "l_hip") < length(pose, "r_shoulder", "l_shoulder")
        mid_hip = 0.5 * (pose.joints[K("r_hip")] + pose.joints[K("l_hip")])
        mid_shoulder = 0.5 * (pose.joints[K("r_shoulder")] + pose.joints[K("l_shoulder")])
        assert 0.25 < np.linalg.norm(mid_shoulder - mid_hip) < 0.33


def test_joint_angles_are_within_human_limits(poses):
    """Elbows and knees bend one way (within the limb's allowed twist of its anterior side),
    by at most 150 / 145 degrees; shoulders and hips stay within their ranges of motion."""
    degrees = np.degrees
    for pose in poses:
        for side, sign in (("r", -1.0), ("l", 1.0)):
            for (root, mid, tip), frame, rest, hinge, twist, limit, max_flex in (
                    (("shoulder", "elbow", "wrist"), pose.trunk, body.ARM_REST[side], 1.0, body.ARM_TWIST,
                     body.ARM_RANGE, body.ELBOW_FLEXION[1]),
                    (("hip", "knee", "ankle"), np.eye(3), body.LEG_REST[side], -1.0, body.LEG_TWIST,
                     body.LEG_RANGE, body.KNEE_FLEXION[1])):
                j = {n: frame.T @ pose.joints[K(f"{side}_{n}")] for n in (root, mid, tip)}
                upper = (j[mid] - j[root]) / np.linalg.norm(j[mid] - j[root])
                lower = (j[tip] - j[mid]) / np.linalg.norm(j[tip] - j[mid])
                flexion = degrees(np.arccos(np.clip(upper @ lower, -1, 1)))
                assert flexion <= max_flex + 1e-6
                elevation = degrees(np.arccos(np.clip(-upper[1], -1, 1)))
                plane = degrees(np.arctan2(upper[2], sign * upper[0]))
                if elevation > 1.0:
                    assert elevation <= body.max_elevation(limit, plane) + 1e-6
                if flexion > 5.0:  # the bend direction is defined
                    bend = lower - (lower @ upper) * upper
                    anterior = hinge * body.anterior_reference(rest, upper)
                    off = degrees(np.arccos(np.clip(bend @ anterior / np.linalg.norm(bend), -1, 1)))
                    assert off <= max(abs(t) for t in twist) + 1e-6
        # Hip extension: a thigh never points more than 35 degrees behind the frontal plane.
        for side in "rl":
            thigh = pose.joints[K(f"{side}_knee")] - pose.joints[K(f"{side}_hip")]
            assert degrees(np.arcsin(-thigh[2] / np.linalg.norm(thigh))) <= 35.0
    assert {p.style for p in poses} == set(body.POSE_STYLES)


def test_every_keypoint_has_its_parts():
    assert set(JOINT_PARTS) == set(LSP14.keypoints)
    assert all(set(parts) <= set(PARTS) for parts in JOINT_PARTS.values())


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": 8}, "image_size"),
    ({"occluder_fraction": 1.5}, "occluder_fraction"),
    ({"occlusion": False, "occluder_fraction": 0.5}, "contradicts"),
    ({"workers": 0}, "workers"),
])
def test_bad_options_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_people(3, seed=0, **kwargs)


@pytest.mark.parametrize("count, seed", [(-1, 0), (2, -1), (1.5, 0)])
def test_bad_count_or_seed_is_rejected(count, seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        generate_people(count, seed)


def test_jpeg_decodes_to_the_rendered_image():
    rec = synthetic_record(7, 0, 96)
    scene = render_scene(np.random.default_rng([7, 0]), 96)
    decoded = np.asarray(Image.open(io.BytesIO(rec.image_bytes)).convert("RGB")).astype(float)
    assert np.abs(decoded - scene.image).mean() < 12  # JPEG loss only
    np.testing.assert_array_equal(rec.keypoints, scene.keypoints)
