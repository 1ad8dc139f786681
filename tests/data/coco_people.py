"""Synthetic people written as a COCO keypoint dataset: JPEG files and a ``person_keypoints`` JSON.

The body keypoints are the synthetic people's (:mod:`repose_tf.data.synthetic`, LSP14 mapped to
COCO's names); the face (nose, eyes, ears) is placed on the drawn head, across the neck-to-head-top
line and sided by the shoulders.  Visibility: 2 visible, 1 hidden, 0 outside the image (x = y = 0).
Coordinates are COCO's: continuous, (0, 0) the image corner, i.e. the project's pixels + 0.5.
Every third image also holds a crowd annotation and an annotation without keypoints, which the
converter leaves out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from repose_tf.data.synthetic import synthetic_record
from repose_tf.skeleton import COCO17, LSP14

# COCO name -> LSP14 name for the body; the face comes from the head (_face).
_BODY = {f"{side}_{part}": f"{side[0]}_{part}" for side in ("left", "right")
         for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")}
COCO_SKELETON_1_BASED = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                         [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
CATEGORY = {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO17.keypoints),
            "skeleton": COCO_SKELETON_1_BASED}


def _face(lsp: np.ndarray) -> dict[str, np.ndarray]:
    """Nose, eyes and ears on the head, from LSP14 keypoints (14, 2)."""
    neck, top = lsp[LSP14.index("neck")], lsp[LSP14.index("head")]
    up = top - neck
    across = lsp[LSP14.index("l_shoulder")] - lsp[LSP14.index("r_shoulder")]  # towards the person's left
    across = across / max(float(np.linalg.norm(across)), 1e-6) * 0.35 * float(np.linalg.norm(up))
    centre = neck + 0.55 * up
    return {"nose": centre, "left_eye": centre + 0.12 * up + 0.45 * across,
            "right_eye": centre + 0.12 * up - 0.45 * across, "left_ear": centre + across,
            "right_ear": centre - across}


def coco_person(seed: int, index: int, image_size: int) -> tuple[bytes, list[float], list[float]]:
    """One synthetic person: JPEG bytes, COCO keypoints (51 values) and bbox [x, y, w, h]."""
    record = synthetic_record(seed, index, image_size)
    lsp = np.asarray(record.keypoints, np.float64)
    face = _face(lsp)
    head = LSP14.index("head")
    values: list[float] = []
    for name in COCO17.keypoints:
        k = LSP14.index(_BODY[name]) if name in _BODY else head
        xy = lsp[k] if name in _BODY else face[name]
        inside = bool(record.annotated[k]) and bool(np.all((xy > -0.5) & (xy < image_size - 0.5)))
        flag = (2 if record.visible[k] else 1) if inside else 0
        values += [round(float(xy[0]) + 0.5, 2), round(float(xy[1]) + 0.5, 2), flag] if flag else [0, 0, 0]
    side = float(record.scale) * 200.0 / 1.25  # the converter enlarges the box by 1.25 again
    x0, y0 = float(record.center[0]) + 0.5 - side / 2, float(record.center[1]) + 0.5 - side / 2
    return record.image_bytes, values, [round(x0, 2), round(y0, 2), round(side, 2), round(side, 2)]


def write_coco_people(directory: Path, name: str, count: int, seed: int, image_size: int = 96) -> dict[str, Any]:
    """``count`` people as ``directory/images/<name>-<i>.jpg`` and ``directory/<name>.json``; return the JSON."""
    images_dir = directory / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        data, keypoints, bbox = coco_person(seed, i, image_size)
        file_name = f"{name}-{i}.jpg"
        (images_dir / file_name).write_bytes(data)
        images.append({"id": 1000 + i, "file_name": file_name, "width": image_size, "height": image_size})
        annotations.append({"id": len(annotations) + 1, "image_id": 1000 + i, "category_id": 1, "iscrowd": 0,
                            "keypoints": keypoints, "num_keypoints": sum(v > 0 for v in keypoints[2::3]),
                            "bbox": bbox, "area": bbox[2] * bbox[3]})
        if i % 3 == 0:
            annotations.append({"id": len(annotations) + 1, "image_id": 1000 + i, "category_id": 1, "iscrowd": 1,
                                "keypoints": [0] * 51, "num_keypoints": 0, "bbox": [0, 0, 10, 10], "area": 100})
            annotations.append({"id": len(annotations) + 1, "image_id": 1000 + i, "category_id": 1, "iscrowd": 0,
                                "keypoints": [0] * 51, "num_keypoints": 0, "bbox": [1, 1, 8, 8], "area": 64})
    content = {"info": {"description": "synthetic people"}, "images": images, "annotations": annotations,
               "categories": [CATEGORY]}
    (directory / f"{name}.json").write_text(json.dumps(content))
    return content
