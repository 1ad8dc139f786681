"""Accuracy of exported models on held-out person records: the acceptance check of quantization.

    from repose_tf.export.accuracy import records_pck
    from repose_tf.inference import load_predictor
    fp32 = records_pck(load_predictor("exports/repose-fp32.tflite"), "tfrecords/synthetic-valid-*.tfrecord")
    int8 = records_pck(load_predictor("exports/repose-int8.tflite"), "tfrecords/synthetic-valid-*.tfrecord")
    assert fp32.mean - int8.mean <= 1.0     # int8 PCK@0.2 within one point of fp32

Predictions are made on the evaluation crops of the input pipeline (``make_dataset(mode="eval")``)
and scored in crop pixels with LSP's PCK@0.2: a keypoint is correct within 0.2 x the ground
truth's torso (left shoulder - right hip), over the keypoints annotated inside the crop.
PCK is scale-free, so crop pixels give the same numbers as image pixels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from repose_tf.eval.metrics import pck, torso_sizes
from repose_tf.inference import Predictor

PCK_THRESHOLD = 0.2


@dataclasses.dataclass(frozen=True)
class RecordsPCK:
    """PCK@0.2 of one model on a set of records.

    mean: percentage of correct keypoints over all counted ones.
    people: people evaluated (those whose torso is annotated inside the crop).
    keypoints: (N, K, 2) predictions, crop pixels, for comparing models keypoint by keypoint.
    """

    mean: float
    people: int
    keypoints: np.ndarray


def records_pck(predictor: Predictor, pattern: str, count: int = 200, batch_size: int = 8) -> RecordsPCK:
    """PCK@0.2 of ``predictor`` on the first ``count`` people of the records matching ``pattern``.

    Raises:
      ValueError: no records match, or none has a torso to normalise by.
    """
    from repose_tf.data.pipeline import make_dataset

    cfg = predictor.metadata.config
    dataset = make_dataset(pattern, "eval", batch_size, input_size=cfg.input_size, sigma=cfg.sigma,
                           skeleton=cfg.skeleton, deterministic=True)
    preds, truth, masks = [], [], []
    seen = 0
    for images, targets, _ in dataset:
        take = min(count - seen, len(images))
        preds.append(predictor.predict_crops(images.numpy()[:take]).keypoints)
        truth.append(targets["keypoints"].numpy()[:take])
        masks.append(targets["mask"].numpy()[:take] > 0)
        seen += take
        if seen >= count:
            break
    if not preds:
        raise ValueError(f"no person records match {pattern!r}")
    pred, gt, counted = np.concatenate(preds), np.concatenate(truth), np.concatenate(masks)
    sk = cfg.skeleton
    if sk.torso is None:
        raise ValueError(f"skeleton {sk.name!r} names no torso (a left shoulder and a right hip) to normalise by")
    torso_known = counted[:, sk.torso[0]] & counted[:, sk.torso[1]]
    if not torso_known.any():
        raise ValueError(f"no person of {pattern!r} has both the left shoulder and right hip inside the crop")
    result = pck(pred[torso_known], gt[torso_known], counted[torso_known], torso_sizes(gt[torso_known], sk),
                 PCK_THRESHOLD)
    mean = 100.0 * float(result.correct.sum()) / float(result.count.sum())
    return RecordsPCK(mean, int(torso_known.sum()), pred)
