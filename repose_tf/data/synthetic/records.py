"""Synthetic people as :class:`~repose_tf.data.records.PersonRecord` s, deterministic per (seed, index)."""

from __future__ import annotations

import functools
import io
import multiprocessing
import signal
import sys
from collections.abc import Iterator

import numpy as np
from PIL import Image

from repose_tf.data.records import PersonRecord
from repose_tf.data.synthetic.scene import check_scene_args, render_scene
from repose_tf.skeleton import LSP14

DATASET = "synthetic"
JPEG_QUALITY = (70, 95)  # inclusive range the per-image quality is drawn from
_CHUNK = 16  # records per task sent to a worker process


def synthetic_record(seed: int, index: int, image_size: int = 192, *, occlusion: bool = True,
                     clutter: bool = True, occluder_fraction: float | None = None) -> PersonRecord:
    """Person ``index`` of the synthetic set ``seed``: a pure function of its arguments.

    The image is a JPEG, ``image_size`` pixels square; keypoints are LSP14 (14, 2) 0-based
    pixels; ``annotated`` marks the keypoints inside the image and ``visible`` the annotated
    ones not hidden by the body or an occluder; ``center``/``scale`` follow the MPII person-box
    convention and ``head_box`` is the box of the head ellipse (see :mod:`.scene`).  The image
    id is ``"synthetic-<seed>-<index>"``.
    """
    _check_ids(seed=seed, index=index)
    rng = np.random.default_rng([int(seed), int(index)])
    scene = render_scene(rng, image_size, occlusion=occlusion, clutter=clutter, occluder_fraction=occluder_fraction)
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    buffer = io.BytesIO()
    Image.fromarray(scene.image).save(buffer, format="JPEG", quality=quality)
    return PersonRecord(
        image_bytes=buffer.getvalue(), height=int(image_size), width=int(image_size), dataset=DATASET,
        image_id=f"synthetic-{seed}-{index}", person_index=0, skeleton=LSP14.name,
        keypoints=scene.keypoints, annotated=scene.annotated.astype(np.int64),
        visible=scene.visible.astype(np.int64), center=scene.center, scale=scene.scale, head_box=scene.head_box)


def generate_people(count: int, seed: int, image_size: int = 192, *, occlusion: bool = True, clutter: bool = True,
                    occluder_fraction: float | None = None, workers: int = 1) -> Iterator[PersonRecord]:
    """``synthetic_record(seed, i, ...)`` for i = 0 .. count-1, lazily and in order.

    Arguments are checked at the call, not at the first ``next``.  Record i does not depend
    on ``count`` nor on ``workers``, so a longer run extends a shorter one.  With
    ``workers > 1`` the records are rendered by that many forked processes (POSIX only); the
    order and bytes are unchanged.  See docs/synthetic_speed.md for the throughput of each.
    In a process where TensorFlow has already run an op, its thread pools are up, and a forked
    child can wait forever on a lock one of those threads held at the fork (a benchmark that
    trained, then generated more people, hung so): there the records are rendered in this
    process, as with ``workers=1``.
    """
    _check_ids(count=count, seed=seed)
    check_scene_args(image_size, occlusion, occluder_fraction)
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    render = functools.partial(synthetic_record, seed, image_size=image_size, occlusion=occlusion,
                               clutter=clutter, occluder_fraction=occluder_fraction)
    if workers == 1 or count <= 1 or tensorflow_running():
        return map(render, range(int(count)))
    return _in_processes(render, int(count), int(workers))


def _in_processes(render: functools.partial, count: int, workers: int) -> Iterator[PersonRecord]:
    """``render(i)`` for i in range(count) on a pool of forked processes, in order.

    Fork, not spawn: the children inherit the imported modules instead of importing
    TensorFlow again, and they only run numpy and Pillow.  The children ignore SIGINT: Ctrl-C
    reaches the whole process group, and only this process should answer it (leaving the
    ``with`` terminates the pool); children that took it too printed a traceback each and could
    leave the pool waiting for a result that never came.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError("workers > 1 needs the 'fork' start method, which this platform lacks; use workers=1")
    with multiprocessing.get_context("fork").Pool(workers, initializer=_ignore_sigint) as pool:
        yield from pool.imap(render, range(count), chunksize=_CHUNK)


def tensorflow_running() -> bool:
    """Whether TensorFlow's runtime, with its thread pools, has started in this process (an op has run).

    Importing TensorFlow does not start it.  Without TensorFlow's eager context module to ask, an
    imported TensorFlow counts as started.
    """
    if "tensorflow" not in sys.modules:
        return False
    try:
        from tensorflow.python.eager import context
    except ImportError:
        return True
    ctx = context.context_safe()
    return ctx is not None and bool(getattr(ctx, "_initialized", True))


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_ids(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
