"""One synthetic image: a posed, clothed person over clutter, with occluders and visibility flags.

How a scene is made (all randomness from the one ``rng`` passed in):

1. A 3-D body and pose (:mod:`.body`), turned to a random view (:func:`sample_camera`):
   yaw (65 % near-frontal, N(0, 45 deg); otherwise any direction), small pitch, an in-plane
   roll that is usually small but sometimes large (8 %: 30..100 deg, lying or cartwheeling)
   and occasionally upside down (4 %: 180 +- 25 deg, handstands and gymnasts).
   Orthographic projection.
2. The person as shaded shapes: tapered capsules for limbs, hands and feet, a rounded
   convex hull of the 3-D trunk box for the torso, a capsule neck and an ellipse head (hair
   with a skin face patch on the side the face points to).  Shapes are painted back to front
   by depth; ties between the two sides are broken by a random per-person depth offset.
3. Clutter (``clutter=True``): a textured background (:mod:`.background`: colour fields,
   value noise at several scales, stripes, blobs), plus limb-like distractors (capsule chains
   shaded like limbs, some ending in a hand).  All colours -- person, background,
   distractors, occluders -- come from one palette (:mod:`.palette`) that includes skin
   tones, and most of the per-image blobs, regions and distractors take one of the person's
   own colours, so no colour threshold separates the person.
4. Occluders (``occlusion=True``): with probability ``occluder_fraction`` (default
   :data:`DEFAULT_OCCLUDER_FRACTION`) one or two objects (ellipses, polygons, bars, limb-like
   capsules; plain or striped) in front of the person, the first centred on a random joint.
5. A random brightness and per-channel gain.

Left and right: a person's left and right look alike except for what real photographs also
show -- the face patch shows which way the person faces (a back view shows only hair), a skin
neckline marks the front of the torso, and depth order decides which limbs pass in front --
plus one weak, dataset-wide cue to keep the task learnable for a small network: the left
sleeve and left trouser leg are :data:`LEFT_TINT` (8 %) brighter than the right ones.  That
is far below the per-limb shading variation, so it is a statistical hint, not a colour key.

Labels and visibility.  Keypoints are (x, y) 0-based pixels (pixel centres at integers).
A keypoint is *annotated* when it lies in the image.  It is *visible* when the shape covering
its pixel in the final label buffer is one of its own parts -- the limb segments meeting at
it (hand and forearm for a wrist, ...), or, for shoulders, hips and the neck, the torso or
head when the joint is on the camera's side of that body part's centre.  So a joint behind
another limb, behind the torso (the far shoulder in a side view) or under an occluder is
annotated but not visible.

Person box (MPII convention).  ``center`` is the centre of the person's silhouette bounding
box and ``scale * 200`` pixels is the side of a square box that contains the whole silhouette
with a margin of :data:`BOX_MARGIN` (10 %) of the silhouette's longer side on each side.  Then
the keypoints span about 0.7-0.8 of the box, as in MPII (median 0.72 for fully annotated
people of the bundled MPII subset).  The box side is 0.6-1.0 of the image and the person lies
wholly inside it, except for :data:`TRUNCATED_FRACTION` (6 %) of people, drawn larger
(0.9-1.4) and off-centre so that the border cuts them.
"""

from __future__ import annotations

import colorsys
import dataclasses
import math

import numpy as np
from PIL import Image

from repose_tf.data.synthetic.background import cluttered_background, plain_background
from repose_tf.data.synthetic.body import Pose, rotation, sample_pose
from repose_tf.data.synthetic.clutter import maybe_stripes, paint_distractors
from repose_tf.data.synthetic.palette import (
    palette_colour,
    sample_light,
    scene_colour,
    skin_tone,
)
from repose_tf.data.synthetic.raster import (
    Canvas,
    Capsule,
    Ellipse,
    Intersection,
    Light,
    Pattern,
    Polygon,
    Shape,
    convex_hull,
    stripes,
)
from repose_tf.skeleton import LSP14

BACKGROUND = -1
OCCLUDER = -2
# Person part labels: index into PARTS.
PARTS = (
    "torso", "neck", "head",
    "r_upper_arm", "r_forearm", "r_hand", "l_upper_arm", "l_forearm", "l_hand",
    "r_thigh", "r_shin", "r_foot", "l_thigh", "l_shin", "l_foot",
)
# Keypoint -> parts whose pixels show it.  Volume parts show it only if the joint is on the
# camera's side of the part's centre.
JOINT_PARTS: dict[str, tuple[str, ...]] = {
    **{f"{s}_ankle": (f"{s}_shin", f"{s}_foot") for s in "rl"},
    **{f"{s}_knee": (f"{s}_thigh", f"{s}_shin") for s in "rl"},
    **{f"{s}_hip": (f"{s}_thigh",) for s in "rl"},
    **{f"{s}_wrist": (f"{s}_forearm", f"{s}_hand") for s in "rl"},
    **{f"{s}_elbow": (f"{s}_upper_arm", f"{s}_forearm") for s in "rl"},
    **{f"{s}_shoulder": (f"{s}_upper_arm",) for s in "rl"},
    "neck": ("neck",),
    "head": ("head",),
}
VOLUME_PARTS: dict[str, tuple[str, ...]] = {
    **{f"{s}_hip": ("torso",) for s in "rl"},
    **{f"{s}_shoulder": ("torso",) for s in "rl"},
    "neck": ("torso", "head"),
}
# A joint up to this far (stature units) behind a volume part's centre still shows on its
# surface.  Torso: the far shoulder hides once the trunk turns more than ~45 degrees from the
# camera (the near thigh hides the far hip in side views).  Head: the neck point sits under
# the chin and hides only when the head bows well forwards.
VOLUME_DEPTH_TOLERANCE = {"torso": 0.08, "head": 0.045}

BOX_MARGIN = 0.10
TRUNCATED_FRACTION = 0.06
LEFT_TINT = 0.08
DEFAULT_OCCLUDER_FRACTION = 0.5
MIN_IMAGE_SIZE = 32

# Limb radii (stature units) at the proximal and distal end, before the per-person build factor.
_RADII = {
    "upper_arm": (0.034, 0.027), "forearm": (0.027, 0.020), "hand": (0.019, 0.015),
    "thigh": (0.050, 0.038), "shin": (0.038, 0.024), "foot": (0.022, 0.019), "neck": (0.030, 0.027),
}
_TRUNK_DEPTH = (0.055, 0.07)  # half depth of the chest and of the pelvis (stature units)
_TORSO_ROUNDING = 0.025
# Head ellipse semi-axes (stature units): half the head's height (chin to top, with hair),
# depth (front to back) and breadth; the head-top keypoint lies at least _HEAD_TOP_INSET inside.
_HEAD_HALF_HEIGHT = 0.075
_HEAD_HALF_DEPTH = 0.057
_HEAD_HALF_WIDTH = 0.045
_HEAD_TOP_INSET = 0.01


@dataclasses.dataclass(frozen=True)
class Rendering:
    """A rendered scene.

    Attributes:
      image: (H, W, 3) uint8 RGB, H = W = image_size.
      keypoints: (14, 2) float32 LSP14 (x, y) pixels; may lie outside the image.
      annotated: (14,) bool, keypoint inside the image.
      visible: (14,) bool, annotated and not hidden (module docstring).
      center: (2,) float32 person centre, pixels.
      scale: person box side / 200 pixels.
      head_box: (4,) float32 x1, y1, x2, y2 pixel box of the head (hair) ellipse.
      labels: (H, W) int16 topmost shape per pixel: an index into PARTS, BACKGROUND or OCCLUDER.
      pose: the 3-D pose that was drawn.
      camera: (3, 3) the view: person frame -> (x right, y down, z towards the viewer); the
        keypoints are ``(camera @ joint)[:2]`` times a pixel scale plus an offset.
    """

    image: np.ndarray
    keypoints: np.ndarray
    annotated: np.ndarray
    visible: np.ndarray
    center: np.ndarray
    scale: float
    head_box: np.ndarray
    labels: np.ndarray
    pose: Pose
    camera: np.ndarray


@dataclasses.dataclass(frozen=True)
class _Look:
    """A person's colours ((3,) RGB in [0, 1]) per part, clothing and build.

    ``garments`` maps the parts that are clothed to "top" or "bottom"; a garment's pattern is
    None (plain) or stripes (angle, period in stature units, phase, strength).
    """

    colours: dict[str, np.ndarray]
    hair: np.ndarray
    skin: np.ndarray
    garments: dict[str, str]
    patterns: dict[str, tuple[float, float, float, float] | None]
    build: float


@dataclasses.dataclass(frozen=True)
class _View:
    """The pose turned to the camera: (x right, y down) image-plane coordinates in stature
    units and depth z towards the viewer."""

    joints: np.ndarray  # (14, 2)
    joint_depth: np.ndarray  # (14,)
    hands: np.ndarray  # (2, 2) r, l
    feet: np.ndarray  # (2, 2, 2) r, l x heel, toe
    head_center: np.ndarray  # (2,)
    head_up: np.ndarray  # (2,) projected unit head axis (length <= 1)
    face: np.ndarray  # (3,) face direction in (x, y-down, z)
    torso: np.ndarray  # (8, 2) trunk box corners: 4 of the chest, then 4 of the pelvis
    neckline: np.ndarray  # (2,)
    chest_facing: float  # z of the chest's forward axis
    part_depth: dict[str, float]
    camera: np.ndarray  # (3, 3) person frame -> view


@dataclasses.dataclass(frozen=True)
class _Part:
    name: str
    depth: float
    shapes: tuple[tuple[Shape, np.ndarray, Pattern | None], ...]


def render_scene(rng: np.random.Generator, image_size: int, *, occlusion: bool = True, clutter: bool = True,
                 occluder_fraction: float | None = None) -> Rendering:
    """Draw one synthetic person (see the module docstring).

    Args:
      rng: the only source of randomness: the same generator state gives the same scene.
      image_size: side of the square image, pixels (>= MIN_IMAGE_SIZE).
      occlusion: add occluding objects in front of the person.
      clutter: textured background with limb-like distractors (else a smooth colour field).
      occluder_fraction: probability in [0, 1] that the image has occluders (default
        DEFAULT_OCCLUDER_FRACTION); must be None or 0 when ``occlusion`` is False.
    """
    fraction = check_scene_args(image_size, occlusion, occluder_fraction)
    size = int(image_size)
    pose = sample_pose(rng)
    view = _view(rng, pose)
    look = _sample_look(rng)
    light = sample_light(rng)

    parts = _person_parts(view, look)
    lo, hi = _silhouette_bounds(parts)
    side_units = (1.0 + 2.0 * BOX_MARGIN) * float(np.max(hi - lo))
    truncated = rng.random() < TRUNCATED_FRACTION
    box_px = size * (rng.uniform(0.9, 1.4) if truncated else rng.uniform(0.6, 1.0))
    k = box_px / side_units  # pixels per stature unit
    half = 0.5 * (hi - lo) * k
    if truncated:
        center = rng.uniform(0.2, 0.8, 2) * size
    else:
        center = np.array([rng.uniform(h - 0.5, size - 0.5 - h) for h in half])
    offset = center - 0.5 * (lo + hi) * k

    if clutter:
        rgb = cluttered_background(rng, size, _own_colours(look))
    else:
        rgb = plain_background(rng, size)
    canvas = Canvas(rgb, BACKGROUND)
    if clutter:
        paint_distractors(rng, canvas, k, int(rng.integers(1, 4)), _own_colours(look), 0.8)
    canvas.paint_all([(shape, colour, PARTS.index(part.name), pattern)
                      for part in sorted(parts, key=lambda p: p.depth) for shape, colour, pattern in part.shapes],
                     light, scale=k, offset=tuple(offset))
    keypoints = view.joints * k + offset
    if occlusion and rng.random() < fraction:
        _paint_occluders(rng, canvas, look, keypoints, k, light)

    annotated = np.all((keypoints >= -0.5) & (keypoints < size - 0.5), axis=1)
    visible = joint_visibility(canvas.labels, keypoints, view.joint_depth, view.part_depth) & annotated
    image = _finish(rng, canvas.rgb)
    head = next(p for p in parts if p.name == "head").shapes[0][0]
    head_box = np.array(head.bounds()) * k + np.tile(offset, 2)
    return Rendering(image=image, keypoints=keypoints.astype(np.float32), annotated=annotated, visible=visible,
                     center=center.astype(np.float32), scale=float(box_px / 200.0),
                     head_box=head_box.astype(np.float32), labels=canvas.labels, pose=pose,
                     camera=view.camera)


def render_person(rng: np.random.Generator, image_size: int, *, occlusion: bool = True, clutter: bool = True,
                  occluder_fraction: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic person for notebooks: (image (H, W, 3) uint8, keypoints (14, 2) float32
    pixels, visible (14,) bool).  Arguments as :func:`render_scene`."""
    r = render_scene(rng, image_size, occlusion=occlusion, clutter=clutter, occluder_fraction=occluder_fraction)
    return r.image, r.keypoints, r.visible


def joint_visibility(labels: np.ndarray, keypoints: np.ndarray, joint_depth: np.ndarray,
                     part_depth: dict[str, float]) -> np.ndarray:
    """(14,) bool: the topmost shape at each keypoint's pixel is one of its own parts.

    Args:
      labels: (H, W) int16 label buffer (indices into PARTS, BACKGROUND, OCCLUDER).
      keypoints: (14, 2) pixels; keypoints outside the image are not visible.
      joint_depth: (14,) depth towards the viewer, stature units.
      part_depth: depth of each volume part's centre (at least "torso" and "head").
    """
    height, width = labels.shape
    visible = np.zeros(LSP14.num_keypoints, bool)
    for k, name in enumerate(LSP14.keypoints):
        x, y = (int(v) for v in np.floor(keypoints[k] + 0.5))
        if not (0 <= x < width and 0 <= y < height):
            continue
        label = int(labels[y, x])
        if label < 0:
            continue
        part = PARTS[label]
        visible[k] = part in JOINT_PARTS[name] or (
            part in VOLUME_PARTS.get(name, ()) and joint_depth[k] >= part_depth[part] - VOLUME_DEPTH_TOLERANCE[part])
    return visible


def check_scene_args(image_size: int, occlusion: bool, occluder_fraction: float | None) -> float:
    """Validate render_scene's options; returns the occluder probability to use."""
    if int(image_size) != image_size or image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be an integer >= {MIN_IMAGE_SIZE}, got {image_size!r}")
    if occluder_fraction is None:
        return DEFAULT_OCCLUDER_FRACTION
    if not 0.0 <= occluder_fraction <= 1.0:
        raise ValueError(f"occluder_fraction must be in [0, 1], got {occluder_fraction!r}")
    if not occlusion and occluder_fraction > 0:
        raise ValueError(f"occluder_fraction={occluder_fraction} contradicts occlusion=False")
    return float(occluder_fraction)


# ----------------------------------------------------------------------------- the person


def sample_camera(rng: np.random.Generator) -> np.ndarray:
    """(3, 3) a random view: person frame -> (x right, y down, z towards the viewer).

    Yaw 65 % near-frontal (N(0, 45) degrees), else uniform; pitch N(0, 8) clipped to +-25;
    roll N(0, 8), or (8 %) +-30..100, or (4 %) upside down, 180 +- N(0, 25).
    """
    if rng.random() < 0.65:
        yaw = rng.normal(0.0, 45.0)
    else:
        yaw = rng.uniform(-180.0, 180.0)
    pitch = float(np.clip(rng.normal(0.0, 8.0), -25.0, 25.0))
    r = rng.random()
    if r < 0.04:
        roll = 180.0 + rng.normal(0.0, 25.0)
    elif r < 0.12:
        roll = rng.uniform(30.0, 100.0) * (1.0 if rng.random() < 0.5 else -1.0)
    else:
        roll = rng.normal(0.0, 8.0)
    roll_, pitch_, yaw_ = rotation(np.eye(3)[[2, 0, 1]], np.radians([roll, pitch, yaw]))
    flip = np.diag([1.0, -1.0, 1.0])  # y up -> y down
    return flip @ roll_ @ pitch_ @ yaw_


def _view(rng: np.random.Generator, pose: Pose) -> _View:
    """Turn the pose to a random view and project it orthographically."""
    cam = sample_camera(rng)

    def project(points: np.ndarray) -> np.ndarray:
        return points @ cam.T

    idx = LSP14.index
    j = project(pose.joints)
    trunk = pose.trunk
    forward = np.array([0.0, 0.0, 1.0])
    shoulders = pose.joints[[idx("r_shoulder"), idx("l_shoulder")]]
    hips = pose.joints[[idx("r_hip"), idx("l_hip")]]
    # The trunk as a box: shoulders narrowed to the chest, hips widened to the pelvis, each front and back.
    chest = shoulders + np.array([[0.02, 0.0, 0.0], [-0.02, 0.0, 0.0]]) @ trunk.T
    pelvis = hips * np.array([1.3, 1.0, 1.0])
    torso3d = np.concatenate([chest + s * _TRUNK_DEPTH[0] * (trunk @ forward) for s in (-1, 1)]
                             + [pelvis + s * _TRUNK_DEPTH[1] * forward for s in (-1, 1)])
    torso = project(torso3d)
    shoulder_mid = shoulders.mean(axis=0)
    neckline = project(shoulder_mid + trunk @ np.array([0.0, 0.01, _TRUNK_DEPTH[0]]))
    head_up3 = cam @ (pose.joints[idx("head")] - pose.joints[idx("neck")])
    head_up3 /= np.linalg.norm(head_up3)
    side_depth = {s: rng.uniform(-0.01, 0.01) for s in "rl"}
    part_depth = {
        "torso": float(torso[:, 2].mean()),
        "neck": float(0.5 * (j[idx("neck"), 2] + project(shoulder_mid)[2])),
        "head": float(project(pose.head_center)[2]),
    }
    hands, feet = project(pose.hands), project(pose.feet)
    for row, s in enumerate("rl"):
        for part, a, b in (("upper_arm", j[idx(f"{s}_shoulder")], j[idx(f"{s}_elbow")]),
                           ("forearm", j[idx(f"{s}_elbow")], j[idx(f"{s}_wrist")]),
                           ("hand", j[idx(f"{s}_wrist")], hands[row]),
                           ("thigh", j[idx(f"{s}_hip")], j[idx(f"{s}_knee")]),
                           ("shin", j[idx(f"{s}_knee")], j[idx(f"{s}_ankle")]),
                           ("foot", feet[row, 0], feet[row, 1])):
            part_depth[f"{s}_{part}"] = float(0.5 * (a[2] + b[2])) + side_depth[s]
    return _View(
        joints=j[:, :2], joint_depth=j[:, 2], hands=hands[:, :2], feet=feet[:, :, :2],
        head_center=project(pose.head_center)[:2], head_up=head_up3[:2], face=cam @ pose.face,
        torso=torso[:, :2], neckline=neckline[:2], chest_facing=float((cam @ (trunk @ forward))[2]),
        part_depth=part_depth, camera=cam)


def _person_parts(view: _View, look: _Look) -> list[_Part]:
    """The person's shapes in stature units (image axes), one _Part per PARTS entry."""
    idx = LSP14.index
    j = view.joints
    b = look.build
    c = look.colours
    patterns = {garment: None if spec is None else stripes(*spec) for garment, spec in look.patterns.items()}
    parts: list[_Part] = []
    for row, s in enumerate("rl"):
        segments = (
            ("upper_arm", j[idx(f"{s}_shoulder")], j[idx(f"{s}_elbow")]),
            ("forearm", j[idx(f"{s}_elbow")], j[idx(f"{s}_wrist")]),
            ("hand", j[idx(f"{s}_wrist")], view.hands[row]),
            ("thigh", j[idx(f"{s}_hip")], j[idx(f"{s}_knee")]),
            ("shin", j[idx(f"{s}_knee")], j[idx(f"{s}_ankle")]),
            ("foot", view.feet[row, 0], view.feet[row, 1]),
        )
        for part, a, e in segments:
            name = f"{s}_{part}"
            shape = Capsule(a, e, _RADII[part][0] * b, _RADII[part][1] * b)
            garment = look.garments.get(name)
            parts.append(_Part(name, view.part_depth[name],
                               ((shape, c[name], patterns[garment] if garment else None),)))

    hull = Polygon(convex_hull(view.torso), _TORSO_ROUNDING * b)
    torso_shapes: list[tuple[Shape, np.ndarray, Pattern | None]] = [(hull, c["torso"], patterns["top"])]
    if view.chest_facing > 0.25:
        neckline = Ellipse(view.neckline, np.array([0.035, 0.03]) * b * view.chest_facing, 0.0)
        torso_shapes.append((Intersection(neckline, hull), look.skin, None))
    parts.append(_Part("torso", view.part_depth["torso"], tuple(torso_shapes)))

    shoulder_mid = 0.5 * (j[idx("r_shoulder")] + j[idx("l_shoulder")])
    neck = Capsule(shoulder_mid, j[idx("neck")], _RADII["neck"][0] * b, _RADII["neck"][1] * b)
    parts.append(_Part("neck", view.part_depth["neck"], ((neck, c["neck"], None),)))

    parts.append(_Part("head", view.part_depth["head"], _head_shapes(view, look)))
    return parts


def _head_shapes(view: _View, look: _Look) -> tuple[tuple[Shape, np.ndarray, None], ...]:
    """Hair ellipse plus, unless the face points away, a skin face patch on the facing side."""
    up_len = float(np.linalg.norm(view.head_up))
    face_xy = view.face[:2]
    axis = view.head_up if up_len > 0.2 else face_xy  # the ellipse's second axis ("along") points here
    angle = math.atan2(axis[1], axis[0]) - math.pi / 2
    along_dir = np.array([-math.sin(angle), math.cos(angle)])
    # Foreshortened head: between its depth (seen from the top) and its height; wider in profile.
    depth_half = _HEAD_HALF_DEPTH * look.build
    along = depth_half + (_HEAD_HALF_HEIGHT * look.build - depth_half) * up_len
    across = (_HEAD_HALF_WIDTH + (_HEAD_HALF_DEPTH - _HEAD_HALF_WIDTH) * float(np.linalg.norm(face_xy))) * look.build
    # The head-top keypoint stays inside the hair by _HEAD_TOP_INSET.
    top = view.joints[LSP14.index("head")] - view.head_center
    along = max(along, abs(float(top @ along_dir)) + _HEAD_TOP_INSET)
    across = max(across, abs(float(top @ np.array([along_dir[1], -along_dir[0]]))) + _HEAD_TOP_INSET)
    head = Ellipse(view.head_center, np.array([across, along]), angle)
    shapes: list[tuple[Shape, np.ndarray, None]] = [(head, look.hair, None)]
    if view.face[2] > -0.15:
        face_center = view.head_center + 0.55 * across * face_xy - 0.2 * along * view.head_up
        face = Ellipse(face_center, np.array([0.8 * across, 0.8 * along]), angle)
        shapes.append((Intersection(face, head), look.skin, None))
    return tuple(shapes)


def _silhouette_bounds(parts: list[_Part]) -> tuple[np.ndarray, np.ndarray]:
    """(2,) lower and upper corner of the box around every shape of the person."""
    boxes = np.array([shape.bounds() for part in parts for shape, _, _ in part.shapes])
    return boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)


def _sample_look(rng: np.random.Generator) -> _Look:
    """Skin, hair and clothing colours per part; sleeves and trouser length vary."""
    skin = skin_tone(rng)
    top, bottom, shoes = palette_colour(rng), palette_colour(rng), palette_colour(rng) * rng.uniform(0.3, 1.0)
    if rng.random() < 0.8:
        hair = np.array(colorsys.hsv_to_rgb(rng.uniform(0.02, 0.12), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.55)),
                        np.float32)
    else:
        hair = palette_colour(rng)
    r = rng.random()
    sleeves = "none" if r < 0.2 else "short" if r < 0.55 else "long"
    trousers = "shorts" if rng.random() < 0.35 else "long"
    garments = {"torso": "top"}
    for s in "rl":
        clothed = {"upper_arm": sleeves != "none", "forearm": sleeves == "long", "thigh": True,
                   "shin": trousers == "long"}
        for part, covered in clothed.items():
            if covered:
                garments[f"{s}_{part}"] = "top" if "arm" in part else "bottom"
    colours: dict[str, np.ndarray] = {"neck": top if rng.random() < 0.15 else skin}
    for name in PARTS[3:]:
        tint = 1.0 + LEFT_TINT if name.startswith("l_") else 1.0
        garment = garments.get(name)
        if name.endswith("foot"):
            colours[name] = shoes
        elif garment is None:
            colours[name] = skin
        else:
            colours[name] = np.clip((top if garment == "top" else bottom) * tint, 0.0, 1.0)
    colours["torso"] = top

    def clothing_pattern(p: float) -> tuple[float, float, float, float] | None:
        if rng.random() >= p:
            return None
        return rng.uniform(0, math.pi), rng.uniform(0.015, 0.05), rng.uniform(0, 2 * math.pi), rng.uniform(0.15, 0.45)

    return _Look(colours=colours, hair=hair, skin=skin, garments=garments,
                 patterns={"top": clothing_pattern(0.3), "bottom": clothing_pattern(0.15)},
                 build=rng.uniform(0.85, 1.25))


# ----------------------------------------------------------------------------- clutter and occluders


def _own_colours(look: _Look) -> tuple[np.ndarray, ...]:
    """The person's skin (first), hair, top and trousers colours."""
    return look.skin, look.hair, look.colours["torso"], look.colours["r_thigh"]


def _paint_occluders(rng: np.random.Generator, canvas: Canvas, look: _Look, keypoints: np.ndarray,
                     k: float, light: Light) -> None:
    """One or two objects in front of the person; the first covers a random joint.

    ``keypoints``: (14, 2) pixels; ``k``: pixels per stature unit.
    """
    count = 1 + int(rng.random() < 0.35)
    for i in range(count):
        radius = rng.uniform(0.05, 0.15) * k
        if i == 0 or rng.random() < 0.5:
            center = keypoints[int(rng.integers(len(keypoints)))] + rng.normal(0.0, 0.3 * radius, 2)
        else:
            center = keypoints.mean(axis=0) + rng.uniform(-0.4, 0.4, 2) * k
        kind = rng.random()
        shape: Shape
        if kind < 0.3:
            shape = Ellipse(center, radius * rng.uniform(0.5, 1.2, 2), rng.uniform(0, math.pi))
        elif kind < 0.6:
            shape = Polygon(convex_hull(center + rng.normal(0.0, 0.8 * radius, (int(rng.integers(3, 8)), 2))))
        elif kind < 0.8:  # a bar or pole crossing the person
            angle = rng.uniform(0, math.pi)
            along = np.array([math.cos(angle), math.sin(angle)]) * rng.uniform(2.0, 5.0) * radius
            across = np.array([-math.sin(angle), math.cos(angle)]) * rng.uniform(0.2, 0.5) * radius
            shape = Polygon(convex_hull(center + np.array([along + across, along - across,
                                                           -along - across, -along + across])))
        else:  # somebody else's limb
            angle = rng.uniform(0, 2 * math.pi)
            half = np.array([math.cos(angle), math.sin(angle)]) * rng.uniform(1.0, 2.0) * radius
            thickness = rng.uniform(0.25, 0.5) * radius
            shape = Capsule(center - half, center + half, thickness, thickness * rng.uniform(0.7, 1.0))
        canvas.paint(shape, scene_colour(rng, _own_colours(look), 0.4), OCCLUDER, light, maybe_stripes(rng, k, 0.3))


def _finish(rng: np.random.Generator, rgb: np.ndarray) -> np.ndarray:
    """(3, H, W) float [0, 1] -> (H, W, 3) uint8 with a random brightness and per-channel gain."""
    gain = rng.uniform(0.8, 1.15) * rng.uniform(0.9, 1.1, 3) * 255.0
    rgb *= gain.astype(np.float32)[:, None, None]
    rgb += 0.5
    np.clip(rgb, 0.0, 255.0, out=rgb)
    # Pillow interleaves the channels several times faster than a numpy transpose copy.
    return np.asarray(Image.merge("RGB", [Image.fromarray(channel) for channel in rgb.astype(np.uint8)]))
