"""Evaluating a trained network on person TFRecords: predictions, the per-part table, files, plots.

Steps (:func:`evaluate` runs them all; ``repose evaluate`` is its command line):

1. :func:`load_predictor`: a checkpoint (a run directory, its ``checkpoints/`` folder or one
   ``ckpt-*`` directory), a ``.keras`` file, or an exported SavedModel (a version directory or
   its base) -> a function from crops (B, S, S, 3) to final heatmaps (B, S, S, K) plus the
   network's config.
2. :func:`predict`: every record, through the pipeline's deterministic evaluation crop
   (:func:`repose_tf.data.pipeline.make_dataset`, ``mode="eval"``).  Shards are read one after
   the other, each in file order, so predictions come out in record order (the order of the
   converter's output, which is the benchmark's order).  Heatmaps are optionally averaged with
   those of the mirrored crop (flip test, :func:`repose_tf.codec.flip_back`), decoded with
   sub-pixel refinement (:func:`repose_tf.codec.decode_heatmaps`: "dark" or "quarter"), and
   mapped back to the pixels of the original image: crop -> stored image by the inverse affine of
   the crop, stored -> source image by the record's ``source_offset``/``source_scale``.
3. :func:`score`: per dataset of the records, the table of the paper's Tables 1-2 (Head,
   Shoulder, Elbow, Wrist, Hip, Knee, Ankle, Mean; for another skeleton its ``parts``, or one
   column per keypoint when it has none) with :mod:`repose_tf.eval.metrics`:

   * PCK@0.2 with torso normalisation (left shoulder - right hip of the ground truth), for LSP,
     LSPET, synthetic and any other records of the LSP14 skeleton;
   * "box PCK@0.2", normalised by the longer side of the annotated person box (COCO's bbox;
     mmpose's ``PCKAccuracy`` default), for records of any other skeleton that all carry a
     person box; else the torso, when the skeleton names one (:attr:`Skeleton.torso`);
   * PCKh@0.5 (0.6 x head-box diagonal) for MPII records that all carry head boxes; "Head" is
     the head top alone, as in MPII's table.

   ``norm`` chooses the PCK's reference length ("torso" or "box") instead.  Annotated
   keypoints count (occluded ones included); a keypoint outside the image is not annotated
   and does not count.
4. :func:`save_predictions`: per dataset, an (N, J, 2) ``.npy`` of 0-based source-image pixels
   in the benchmark's joint order, which ``repose score`` reads: LSP order (14) for LSP-style
   records, MPII order (16) for MPII records, whose pelvis and thorax (not predicted, not in
   PCKh's Mean) are filled with the hip and shoulder midpoints.
5. Optionally :func:`save_plots`: PCK-versus-threshold curves and overlays of the first crops.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from repose_tf import pretrained
from repose_tf.codec import DECODE_METHODS, decode_heatmaps, flip_back
from repose_tf.config import RePoseConfig
from repose_tf.data.augment import apply_affine, stored_to_source
from repose_tf.data.pipeline import make_dataset, resolve_files
from repose_tf.data.scan import count_readable
from repose_tf.eval.benchmarks import LSP_THRESHOLD, MPII_PARTS, MPII_THRESHOLD, PAPER_RESULTS
from repose_tf.eval.metrics import (
    JointPCK,
    PCKCurve,
    box_sizes,
    format_part_table,
    head_sizes,
    part_table,
    pck_curve,
    torso_sizes,
)
from repose_tf.model.builder import output_names
from repose_tf.skeleton import LSP14, MPII16_NAMES, MPII_TO_LSP14, Skeleton

METRICS = ("auto", "pck", "pckh")
NORMS = ("auto", "torso", "box")  # PCK's reference length; PCKh's is the head
# Rounded so that 0.2 and 0.5 are exactly the metrics' thresholds.
CURVE_THRESHOLDS = np.round(np.linspace(0.0, 0.5, 51), 6)
HeatmapFn = Callable[[tf.Tensor], tf.Tensor]


@dataclasses.dataclass(frozen=True)
class Predictor:
    """A network ready to predict.

    Attributes:
      heatmaps: crops (B, S, S, 3) float32 RGB in [0, 255] -> final heatmaps (B, S, S, K) float32.
      config: the network's configuration (input size S, skeleton, sigma).
      source: where it was loaded from, for reports.
      compiled: the compiled batch functions of :func:`predict`, by (flip, decode), reused by
        later calls (the periodic validation of training calls it again and again).
    """

    heatmaps: HeatmapFn
    config: RePoseConfig
    source: str
    compiled: dict[tuple[bool, str], Callable[..., dict[str, tf.Tensor]]] = dataclasses.field(
        default_factory=dict, repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class EvalPredictions:
    """Predictions and ground truth for N person records, in record order.

    Pixels are 0-based (x, y) of the source images (pixel centres at integers).

    Attributes:
      keypoints: (N, K, 2) float64 predicted keypoints.
      scores: (N, K) float32 heatmap maxima.
      gt: (N, K, 2) float64 ground truth.
      annotated: (N, K) bool.
      visible: (N, K) bool.
      head_boxes: (N, 4) float64 [x1, y1, x2, y2] (zeros where unknown).
      has_head_box: (N,) bool.
      person_boxes: (N, 4) float64 [x1, y1, x2, y2] annotated person boxes (zeros where unknown).
      has_person_box: (N,) bool.
      dataset: (N,) str, the records' dataset names.
      image_id: (N,) str.
      person_index: (N,) int64.
      crops: (C, S, S, 3) uint8, the first C network inputs (for overlays).
      crop_keypoints: (C, K, 2) float32, their predictions in crop pixels.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    gt: np.ndarray
    annotated: np.ndarray
    visible: np.ndarray
    head_boxes: np.ndarray
    has_head_box: np.ndarray
    person_boxes: np.ndarray
    has_person_box: np.ndarray
    dataset: np.ndarray
    image_id: np.ndarray
    person_index: np.ndarray
    crops: np.ndarray
    crop_keypoints: np.ndarray

    def __len__(self) -> int:
        return len(self.keypoints)

    def datasets(self) -> list[str]:
        """Dataset names in order of first appearance."""
        return list(dict.fromkeys(self.dataset.tolist()))

    def subset(self, dataset: str) -> EvalPredictions:
        """The records of one dataset (crops are kept whole)."""
        keep = self.dataset == dataset
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return EvalPredictions(**{name: value if name.startswith("crop") else value[keep]
                                  for name, value in fields.items()})


@dataclasses.dataclass(frozen=True)
class DatasetScore:
    """The scores of one dataset's records.

    Attributes:
      metric: "PCK@0.2" (torso), "box PCK@0.2" (person box) or "PCKh@0.5".
      n: records scored.
      joints: per-keypoint counts at the metric's threshold.
      parts: the table row ``{"Head": ..., ..., "Mean": ...}``, percentages.
      curve: PCK at :data:`CURVE_THRESHOLDS`.
      curve_parts: part (and "Mean") -> (T,) percentages along ``curve``.
    """

    metric: str
    n: int
    joints: JointPCK
    parts: dict[str, float]
    curve: PCKCurve
    curve_parts: dict[str, np.ndarray]

    def to_json(self, keypoints: Sequence[str]) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if math.isnan(v) else round(float(v), 4)

        return {
            "metric": self.metric,
            "n": self.n,
            "parts": {k: num(v) for k, v in self.parts.items()},
            "joints": {k: num(v) for k, v in zip(keypoints, self.joints.rates)},
            "curve": {"thresholds": [round(float(t), 4) for t in self.curve.thresholds],
                      **{k: [num(x) for x in v] for k, v in self.curve_parts.items()}},
        }


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """What :func:`evaluate` produced: predictions, scores per dataset, and the files written."""

    predictions: EvalPredictions
    scores: dict[str, DatasetScore]
    report: dict[str, Any]
    files: dict[str, Path]


def predictor_from_model(model: keras.Model, config: RePoseConfig, source: str = "in-memory model") -> Predictor:
    """A :class:`Predictor` over a Keras model of :func:`repose_tf.build_model` (its final output)."""
    final = output_names(config)[-1]
    return Predictor(lambda crops: model(crops, training=False)[final], config, source)


def load_predictor(path: str | Path) -> Predictor:
    """A shipped model's name, a checkpoint, a ``.keras`` file or an exported SavedModel as a :class:`Predictor`.

    ``.keras`` files take their config from inside (written by training), else from a ``config.json``
    beside them, else from the preset named like the model (:mod:`repose_tf.model.saving`).

    Raises:
      FileNotFoundError: nothing at ``path``.
      ValueError: ``path`` is none of the three, or a checkpoint that does not fit its config.
    """
    from repose_tf.train.checkpoints import checkpoint_in, load_network

    if pretrained.is_pretrained(path):
        shipped = pretrained.get(str(path))
        from repose_tf.inference import load_keras_model

        return predictor_from_model(load_keras_model(shipped.path), shipped.config, shipped.name)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or directory")
    if path.is_file():
        if path.suffix != ".keras":
            raise ValueError(f"{path}: a model file must be .keras; "
                             "give a checkpoint or SavedModel directory otherwise")
        try:
            model = keras.models.load_model(path, compile=False)
        except (ValueError, OSError, TypeError) as e:
            raise ValueError(f"{path}: not a loadable Keras model ({e})") from None
        from repose_tf.export.metadata import config_of
        from repose_tf.model.saving import keras_file_config

        return predictor_from_model(model, config_of(model, keras_file_config(path)), str(path))
    info = checkpoint_in(path)
    if info is not None:
        return predictor_from_model(load_network(info), info.config(), str(info.path))
    return _saved_model_predictor(path)


def _saved_model_predictor(path: Path) -> Predictor:
    from repose_tf.export.metadata import SAVED_MODEL_METADATA, ExportMetadata
    from repose_tf.export.saved_model import CROPS_SIGNATURE, resolve_version_dir

    try:
        version = resolve_version_dir(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: neither a training checkpoint (ckpt-*/ or a run directory), a .keras "
                         "file, nor an exported SavedModel") from None
    metadata = ExportMetadata.read(version / SAVED_MODEL_METADATA)
    signature = tf.saved_model.load(str(version)).signatures[CROPS_SIGNATURE]
    return Predictor(lambda crops: signature(crops=crops)["heatmaps"], metadata.config, str(version))


def predict(
    predictor: Predictor,
    data: str | Sequence[str],
    *,
    batch_size: int = 32,
    flip: bool = False,
    decode: str = "dark",
    limit: int | None = None,
    keep_crops: int = 0,
    progress: bool = True,
) -> EvalPredictions:
    """Predict every record of ``data`` (glob pattern(s)), in record order.

    Args:
      predictor: the network.
      data: TFRecord pattern(s) of person records.
      batch_size: crops per forward pass.
      flip: average with the heatmaps of the mirrored crop.
      decode: heatmap decoding, "dark", "quarter" or "argmax".
      limit: predict only the first ``limit`` records.
      keep_crops: keep this many crops and their crop-pixel predictions (overlays).
      progress: tqdm progress bar.

    Raises:
      ValueError: no files, records of the wrong schema, a corrupt record or image (the file is named).
    """
    if decode not in DECODE_METHODS:
        raise ValueError(f"unknown decode method {decode!r}; choose one of {DECODE_METHODS}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    cfg = predictor.config
    files = resolve_files(data)
    counts = [_count_records(f) for f in files]
    total = sum(counts) if limit is None else min(limit, sum(counts))
    if total == 0:
        raise ValueError(f"no records in the {len(files)} file(s) matching {data!r}")
    batch_fn = predictor.compiled.get((flip, decode))
    if batch_fn is None:
        batch_fn = predictor.compiled[(flip, decode)] = _batch_function(predictor, flip, decode)
    parts: list[dict[str, np.ndarray]] = []
    kept_crops, kept_kp = [], []
    done = 0
    with tqdm(total=total, desc="evaluate", unit="person", disable=not progress, dynamic_ncols=True) as bar:
        for path, count in zip(files, counts):
            if done >= total or count == 0:
                continue
            dataset = make_dataset(path, "eval", batch_size, input_size=cfg.input_size, sigma=cfg.sigma,
                                   skeleton=cfg.skeleton, deterministic=True, person_box=True)
            try:
                for images, _, meta in dataset.take(math.ceil((total - done) / batch_size)):
                    out = {k: v.numpy() for k, v in batch_fn(images, meta["inverse_affine"], meta["source_offset"],
                                                             meta["source_scale"], meta["keypoints_stored"]).items()}
                    take = min(len(out["keypoints"]), total - done)
                    offset, scale = meta["source_offset"].numpy(), meta["source_scale"].numpy()
                    person_box = meta["person_box"].numpy()
                    if person_box.shape[1] == 0:  # no record of the batch has one
                        person_box = np.zeros((len(person_box), 4), np.float32)
                    row = {**{k: v[:take] for k, v in out.items()},
                           **{k: meta[k].numpy()[:take] for k in ("annotated", "visible", "has_head_box", "dataset",
                                                                  "image_id", "person_index")},
                           "head_boxes": _boxes_to_source(meta["head_box"].numpy(), offset, scale)[:take],
                           "person_boxes": _boxes_to_source(person_box, offset, scale)[:take],
                           "has_person_box": np.any(person_box != 0, axis=1)[:take]}
                    parts.append(row)
                    if sum(len(c) for c in kept_crops) < keep_crops:
                        kept_crops.append(np.clip(np.round(images.numpy()), 0, 255).astype(np.uint8))
                        kept_kp.append(out["crop_keypoints"])
                    done += take
                    bar.update(take)
            except tf.errors.OpError as e:
                raise ValueError(f"{path}: cannot read the records ({' '.join(e.message.split())[:300]})") from None
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    k = cfg.num_keypoints
    return EvalPredictions(
        keypoints=cat["keypoints"].astype(np.float64), scores=cat["scores"], gt=cat["gt"].astype(np.float64),
        annotated=cat["annotated"].astype(bool), visible=cat["visible"].astype(bool),
        head_boxes=cat["head_boxes"].astype(np.float64), has_head_box=cat["has_head_box"].astype(bool),
        person_boxes=cat["person_boxes"].astype(np.float64), has_person_box=cat["has_person_box"].astype(bool),
        dataset=np.array([d.decode() for d in cat["dataset"]]),
        image_id=np.array([i.decode() for i in cat["image_id"]]),
        person_index=cat["person_index"].astype(np.int64),
        crops=(np.concatenate(kept_crops)[:keep_crops] if kept_crops
               else np.zeros((0, cfg.input_size, cfg.input_size, 3), np.uint8)),
        crop_keypoints=np.concatenate(kept_kp)[:keep_crops] if kept_kp else np.zeros((0, k, 2), np.float32))


def _batch_function(predictor: Predictor, flip: bool, decode: str) -> Callable[..., dict[str, tf.Tensor]]:
    """One compiled function: crops -> heatmaps (flip-averaged) -> keypoints in crop and source pixels."""
    perm = predictor.config.skeleton.flip_permutation

    @tf.function(reduce_retracing=True, autograph=False)
    def run(images, inverse_affine, source_offset, source_scale, keypoints_stored):
        heatmaps = tf.cast(predictor.heatmaps(images), tf.float32)
        if flip:
            mirrored = tf.cast(predictor.heatmaps(tf.reverse(images, axis=[2])), tf.float32)
            heatmaps = 0.5 * (heatmaps + flip_back(mirrored, perm))
        crop_kp, scores = decode_heatmaps(heatmaps, decode)
        stored = apply_affine(inverse_affine, crop_kp)
        return {"keypoints": stored_to_source(stored, source_offset, source_scale), "scores": scores,
                "crop_keypoints": crop_kp, "gt": stored_to_source(keypoints_stored, source_offset, source_scale)}

    return run


def _boxes_to_source(boxes: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(B, 4) stored-pixel boxes [x1, y1, x2, y2] -> source pixels."""
    return boxes * scale[:, None] + np.tile(offset, 2)


def _count_records(path: str) -> int:
    count, error = count_readable(path)
    if error:
        raise ValueError(f"{path}: not a readable TFRecord file, unreadable after record {count} ({error})")
    return count


def metric_for(predictions: EvalPredictions, dataset: str, metric: str = "auto") -> str:
    """"pck" or "pckh" for one dataset's records: "auto" picks PCKh for MPII records with head boxes."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")
    if metric != "auto":
        return metric
    sub = predictions.dataset == dataset
    return "pckh" if dataset == "mpii" and bool(np.all(predictions.has_head_box[sub])) else "pck"


def norm_for(predictions: EvalPredictions, skeleton: Skeleton, dataset: str, norm: str = "auto") -> str:
    """"torso" or "box", PCK's reference length for one dataset's records (see the module docstring)."""
    if norm not in NORMS:
        raise ValueError(f"unknown PCK normalisation {norm!r}; choose one of {NORMS}")
    if norm != "auto":
        return norm
    boxed = bool(np.all(predictions.has_person_box[predictions.dataset == dataset]))
    return "box" if skeleton.name != LSP14.name and (boxed or skeleton.torso is None) else "torso"


def pckh_parts(skeleton: Skeleton) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """MPII's table columns (Head = head top alone) on the names of ``skeleton`` (LSP14 from MPII)."""
    names = {MPII16_NAMES[j]: skeleton.keypoints[k] for k, j in enumerate(MPII_TO_LSP14)}
    return tuple((part, tuple(names[m] for m in members)) for part, members in MPII_PARTS)


def score(predictions: EvalPredictions, skeleton: Skeleton, metric: str = "auto",
          norm: str = "auto") -> dict[str, DatasetScore]:
    """The table row and PCK curve of every dataset in ``predictions`` (see the module docstring).

    ``norm``: PCK's reference length, "torso", "box" or "auto" (:func:`norm_for`).

    Raises:
      ValueError: PCKh without head boxes, box PCK without person boxes, torso PCK for a skeleton
        that names no torso.
    """
    out = {}
    for name in predictions.datasets():
        sub = predictions.subset(name)
        which = metric_for(predictions, name, metric)
        if which == "pckh":
            if not np.all(sub.has_head_box):
                raise ValueError(f"PCKh needs head boxes; {int(np.sum(~sub.has_head_box))} {name!r} records have none")
            reference, threshold, parts = head_sizes(sub.head_boxes), MPII_THRESHOLD, pckh_parts(skeleton)
            label = f"PCKh@{MPII_THRESHOLD}"
        elif norm_for(predictions, skeleton, name, norm) == "box":
            if not np.all(sub.has_person_box):
                raise ValueError(f"PCK by the person box needs person boxes; {int(np.sum(~sub.has_person_box))} "
                                 f"{name!r} records have none (use the torso instead)")
            reference, threshold, parts = box_sizes(sub.person_boxes), LSP_THRESHOLD, skeleton.table_parts
            label = f"box PCK@{LSP_THRESHOLD}"
        else:
            reference, threshold, parts = torso_sizes(sub.gt, skeleton), LSP_THRESHOLD, skeleton.table_parts
            label = f"PCK@{LSP_THRESHOLD}"
        thresholds = CURVE_THRESHOLDS
        curve = pck_curve(sub.keypoints, sub.gt, sub.annotated, reference, thresholds)
        at = int(np.flatnonzero(thresholds == threshold)[0])
        joints = curve.at(at)
        rows = [part_table(curve.correct[t], curve.count, skeleton.keypoints, parts) for t in range(len(thresholds))]
        out[name] = DatasetScore(
            metric=label, n=len(sub), joints=joints, parts=rows[at], curve=curve,
            curve_parts={column: np.array([r[column] for r in rows]) for column in rows[at]})
    return out


def format_scores(scores: dict[str, DatasetScore], markdown: bool = False, paper: bool = True) -> str:
    """The per-part table, one row per dataset, labelled with the metric and the count.

    With ``paper``, an LSP or MPII row scored with the paper's metric is preceded by the paper's
    RePose row (:data:`repose_tf.eval.benchmarks.PAPER_RESULTS`).
    """
    rows: dict[str, dict[str, float]] = {}
    for name, score in scores.items():
        title, row = PAPER_RESULTS.get(name, ("", {}))
        if paper and row and title.endswith(score.metric):
            rows[f"RePose, paper ({title.split(':')[0]})"] = row
        rows[f"{name} {score.metric} (n={score.n})"] = score.parts
    return format_part_table(rows, markdown=markdown)


def benchmark_array(predictions: EvalPredictions, skeleton: Skeleton, dataset: str) -> np.ndarray:
    """(N, J, 2) predictions of one dataset in its benchmark's joint order, 0-based source pixels.

    MPII: the 16 MPII joints, pelvis and thorax as the hip and shoulder midpoints; otherwise the
    skeleton's own order (LSP's for LSP14).
    """
    kp = predictions.subset(dataset).keypoints
    if dataset != "mpii":
        return kp
    out = np.zeros((len(kp), len(MPII16_NAMES), 2))
    out[:, list(MPII_TO_LSP14)] = kp
    mid = lambda a, b: 0.5 * (kp[:, skeleton.index(a)] + kp[:, skeleton.index(b)])  # noqa: E731
    out[:, MPII16_NAMES.index("pelvis")] = mid("r_hip", "l_hip")
    out[:, MPII16_NAMES.index("thorax")] = mid("r_shoulder", "l_shoulder")
    return out


def save_predictions(predictions: EvalPredictions, skeleton: Skeleton, directory: str | Path) -> dict[str, Path]:
    """Write ``<directory>/predictions-<dataset>.npy`` per dataset (see :func:`benchmark_array`)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in predictions.datasets():
        path = directory / f"predictions-{name}.npy"
        np.save(path, benchmark_array(predictions, skeleton, name))
        written[name] = path
    return written


def save_plots(predictions: EvalPredictions, scores: dict[str, DatasetScore], skeleton: Skeleton,
               directory: str | Path) -> list[Path]:
    """PCK curves (``pck-<dataset>.png``) and overlays of the kept crops (``overlay-<i>.png``)."""
    from repose_tf.viz import pck_curves, save_overlay, save_png

    directory = Path(directory)
    written = []
    for name, s in scores.items():
        curves = dict(s.curve_parts)
        fig = pck_curves(s.curve.thresholds, curves, skeleton, metric=s.metric.split("@")[0],
                         title=f"{name}: {s.metric} = {s.parts['Mean']:.1f} (n={s.n})")
        written.append(save_png(fig, directory / f"pck-{name}.png"))
    for i, (crop, kp) in enumerate(zip(predictions.crops, predictions.crop_keypoints)):
        written.append(save_overlay(directory / f"overlay-{i}.png", crop, kp, skeleton, scale=4.0,
                                    title=predictions.image_id[i]))
    return written


def evaluate(
    model: str | Path | Predictor,
    data: str | Sequence[str],
    *,
    flip: bool = False,
    decode: str = "dark",
    metric: str = "auto",
    norm: str = "auto",
    batch_size: int = 32,
    limit: int | None = None,
    json_path: str | Path | None = None,
    predictions_dir: str | Path | None = None,
    plots_dir: str | Path | None = None,
    overlays: int = 4,
    progress: bool = True,
) -> EvalResult:
    """Predict, score and write the report, predictions and plots (see the module docstring).

    Args:
      model: a path for :func:`load_predictor`, or a :class:`Predictor`.
      data: TFRecord pattern(s).
      flip, decode, batch_size, limit: as :func:`predict`.
      metric: "auto", "pck" or "pckh" (see :func:`metric_for`).
      norm: PCK's reference length, "auto", "torso" or "box" (see :func:`norm_for`).
      json_path: write the report there.
      predictions_dir: write the prediction arrays there (default: beside ``json_path``, if given).
      plots_dir: write PCK curves and ``overlays`` overlay PNGs there.
      progress: tqdm progress bar.
    """
    predictor = model if isinstance(model, Predictor) else load_predictor(model)
    skeleton = predictor.config.skeleton
    predictions = predict(predictor, data, batch_size=batch_size, flip=flip, decode=decode, limit=limit,
                          keep_crops=overlays if plots_dir else 0, progress=progress)
    scores = score(predictions, skeleton, metric, norm)
    files: dict[str, Path] = {}
    if predictions_dir is None and json_path is not None:
        predictions_dir = Path(json_path).parent
    if predictions_dir is not None:
        saved = save_predictions(predictions, skeleton, predictions_dir)
        files.update({f"predictions-{k}": v for k, v in saved.items()})
    report = {
        "model": predictor.source,
        "config": predictor.config.name,
        "skeleton": skeleton.name,
        "data": [data] if isinstance(data, str) else list(data),
        "decode": decode,
        "flip": flip,
        "n": len(predictions),
        "results": {name: s.to_json(skeleton.keypoints) for name, s in scores.items()},
        "predictions": {k: str(v) for k, v in files.items()},
    }
    if plots_dir is not None:
        for i, path in enumerate(save_plots(predictions, scores, skeleton, plots_dir)):
            files[f"plot-{i}"] = path
    if json_path is not None:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n")
        files["json"] = path
    return EvalResult(predictions, scores, report, files)
