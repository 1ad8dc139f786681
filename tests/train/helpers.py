"""Shared by the training, evaluation, CLI and quickstart tests: a small network and synthetic records."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from repose_tf.config import get_config
from repose_tf.data.shards import write_shards
from repose_tf.data.synthetic import generate_people

# The tiny preset cut down further (32 x 32 input, one pass, one block everywhere): the same
# structure, a fraction of the graph, so tests trace and train it in seconds.
TEST_CONFIG = get_config("tiny").replace(
    name="tiny_test", input_size=32, coarsest=8, width=8, keypoint_width=4, f_blocks=1, head_blocks=1,
    update_blocks=1, update_passes=1, sigma=3.0)


def write_people(directory: Path, split: str, count: int, seed: int, *, image_size: int = 96,
                 dataset: str = "synthetic", **changes: Any) -> str:
    """``count`` synthetic people as ``<dataset>-<split>`` shards in ``directory``; return their pattern.

    ``changes`` replace PersonRecord fields of every record (e.g. source_offset, head_box).
    """
    people = (dataclasses.replace(p, dataset=dataset, **changes) for p in generate_people(count, seed, image_size))
    write_shards(people, directory, dataset, split, records_per_shard=max(1, count // 2), progress=False)
    return str(directory / f"{dataset}-{split}-*.tfrecord")
