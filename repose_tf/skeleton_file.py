"""Skeletons from JSON files (``--skeleton my_body.json``) or preset names.

A skeleton file is one JSON object, the format :meth:`~repose_tf.skeleton.Skeleton.to_dict`
writes (and that the sidecars of the records, the configs of checkpoints and ``.keras`` files
and the metadata of exports carry)::

    {"name": "arm",
     "keypoints": ["shoulder", "elbow", "wrist", "left_finger", "right_finger"],
     "edges": [["shoulder", "elbow"], ["elbow", "wrist"], ["wrist", "left_finger"], ["wrist", "right_finger"]],
     "flip_pairs": [["left_finger", "right_finger"]],     optional: inferred from left/right names
     "ordering": ["elbow", "wrist", "shoulder", ...],     optional: derived from the graph
     "parts": {"Arm": ["shoulder", "elbow", "wrist"]}}    optional: one table column per keypoint

Edges are name pairs.  What a file may leave out: :meth:`~repose_tf.skeleton.Skeleton.from_dict`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from repose_tf.skeleton import SKELETONS, Skeleton


def load_skeleton(name_or_path: str | os.PathLike) -> Skeleton:
    """A preset's name (``lsp14``, ``coco17``) or a skeleton JSON file.

    Raises:
      ValueError: neither a preset nor a file, or a file that is not a valid skeleton; the
        message names the file.
    """
    if isinstance(name_or_path, str) and name_or_path in SKELETONS:
        return SKELETONS[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"skeleton {str(name_or_path)!r} is neither a preset ({', '.join(SKELETONS)}) nor a file")
    try:
        return Skeleton.from_dict(json.loads(path.read_text()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable JSON file ({e})") from None
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
