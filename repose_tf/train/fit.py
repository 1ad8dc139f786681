"""Training a RePose network with Keras ``compile``/``fit``: the recipe, the data mix, resuming.

    from repose_tf.train import TrainRecipe, fit
    result = fit("tiny", "tfrecords/synthetic-train-*.tfrecord", "runs/tiny",
                 val_data="tfrecords/synthetic-val-*.tfrecord", recipe=TrainRecipe(steps=2000, batch_size=32))
    result.model            # the plain functional network of build_model, float32, trained

The default :class:`TrainRecipe` is the paper's (Sec. 4): Adam, batch 64, learning rate 1e-3,
5e-4 from step 1M, 1e-6 from 1.3M, 2M steps, on LSP + LSPET + MPII training records
(:data:`PAPER_DATA`).  A shorter ``steps`` scales the schedule's boundaries.

Loss: eq. (3) on every heatmap output (:mod:`repose_tf.train.loss`); the pipeline's targets are
mapped to ``{output name: packed keypoints + mask}`` (B, K, 3), one Keras loss per output, which
renders the Gaussian targets in the train step; the CSV history has the total ``loss`` and one
``<output>_loss`` column per output.

Run directory ``out_dir``::

    run.json          config, recipe, data, strategy of the latest start, and the data check
                      (``records``: total, usable, lost, the damaged files; :mod:`repose_tf.data.scan`)
    config.json       the network's RePoseConfig
    checkpoints/      atomic checkpoints with their config (repose_tf.train.checkpoints)
    history.csv       one row per checkpoint: step, learning_rate, loss, <output>_loss, val_pck
    tensorboard/      the same as TensorBoard scalars
    model.keras       the final network (plain functional model, float32) with its config inside
                      (repose_tf.model.saving), written at the end

Skeleton: the network predicts the keypoints of its training records.  When the records'
sidecars (:func:`repose_tf.data.shards.records_skeleton`) define a skeleton with other keypoints
than the config's (COCO-format data, ``repose convert coco``), the config takes the records'
skeleton, and the run says so; the checkpoints, ``config.json`` and ``model.keras`` carry it.

Resuming: rerunning the same command continues from the newest checkpoint, at its step, with
its optimizer state (so at the same learning rate), after checking that the checkpoint holds
the same network.  The input pipeline is not rewound: it restarts with a seed advanced by the
step, so the resumed run sees fresh augmentations rather than a replay.  History rows past the
checkpoint (written between the checkpoint and the interruption) are dropped.

Fine-tuning: ``init_from`` (``repose train --init``) starts a fresh run from the weights of a trained
network (a shipped name such as ``lsp-small``, or a ``.keras`` file), with a fresh optimizer and
schedule: a warm restart of a finished run, or a pretrained start on new records.  The same network
takes every weight; one that differs only in its keypoints (records of another skeleton) takes the
layers both have (:func:`repose_tf.model.convert.copy_shared_weights`: the trunk, and the layers of
keypoints of the same name), and the run says how many.  ``run.json`` records it; once the run has
checkpoints it resumes from them.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from repose_tf.config import RePoseConfig, get_config
from repose_tf.data.augment import AugmentConfig
from repose_tf.data.pipeline import make_dataset, resolve_files
from repose_tf.data.scan import DataScan, scan
from repose_tf.data.shards import records_skeleton
from repose_tf.hardware import AUGMENT_PLACES, PRECISIONS
from repose_tf.model.builder import build_model, output_names
from repose_tf.model.convert import copy_shared_weights, copy_weights
from repose_tf.model.saving import model_config, save_keras
from repose_tf.train import callbacks as cb
from repose_tf.train.checkpoints import (
    CheckpointWriter,
    check_same_network,
    latest_checkpoint,
    restore,
)
from repose_tf.train.in_step import augment_placement
from repose_tf.train.loss import PartialMSE, keras_targets
from repose_tf.train.optimizer import FusedAdam
from repose_tf.train.schedule import PAPER_STEPS, check_schedule, make_schedule
from repose_tf.train.strategy import (
    dtype_policy,
    is_chief,
    make_strategy,
    precision_policy,
    trainable_model,
)


@dataclasses.dataclass(frozen=True)
class DataSource:
    """TFRecord files of person records and their share of the training mix.

    Attributes:
      pattern: a glob pattern.
      weight: sampling weight; when no source has one, the sources are pooled (each record
        equally likely); otherwise each batch example comes from source i with probability
        ``weight_i / sum(weights)`` (a missing weight counts as 1).
    """

    pattern: str
    weight: float | None = None

    def __post_init__(self) -> None:
        if self.weight is not None and not self.weight > 0:
            raise ValueError(f"data weight of {self.pattern!r} must be positive, got {self.weight}")

    @classmethod
    def parse(cls, text: str) -> DataSource:
        """``PATTERN`` or ``PATTERN@WEIGHT``."""
        pattern, sep, weight = text.rpartition("@")
        if not sep:
            return cls(text)
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(f"{text!r}: the weight after '@' must be a positive number") from None
        return cls(pattern, value)


PAPER_DATA = (DataSource("tfrecords/lsp-train-*.tfrecord"), DataSource("tfrecords/lspet-train-*.tfrecord"),
              DataSource("tfrecords/mpii-train-*.tfrecord"))


@dataclasses.dataclass(frozen=True)
class TrainRecipe:
    """How to train (defaults: the paper's recipe).

    Attributes:
      steps: optimizer steps of the run (2M).
      batch_size: global batch size, split over replicas (64).
      learning_rate: base rate of Adam (1e-3).
      schedule: "paper" (piecewise, scaled to ``steps``) or "cosine" (see :mod:`.schedule`).
      warmup_steps: linear warm-up of the "cosine" schedule.
      checkpoint_every: steps between checkpoints, history rows and progress logs (1000).
      keep_checkpoints: newest checkpoints kept (3).
      pck_every: steps between validation PCKs (10000; 0 = never); rounded up to a checkpoint.
      val_limit: validation records used for the PCK (None = all).
      shuffle_buffer: serialized records in the shuffle buffer.
      seed: seed of the initial weights and of the data stream.
      precision: compute precision, "float32", "bfloat16", "float16" or "auto" (the fastest for the
        hardware: :func:`repose_tf.train.strategy.precision_policy`); variables stay float32.
      jit_compile: XLA-compile the training step.
      augment: the training augmentation (paper: scale 0.7-1.3, rotation +-60, flip, colour).
      augment_in: where batches are cropped and augmented: "pipeline" (tf.data, on the host),
        "step" (in the train step, on the accelerator) or "auto" (:mod:`repose_tf.train.in_step`).
    """

    steps: int = PAPER_STEPS
    batch_size: int = 64
    learning_rate: float = 1e-3
    schedule: str = "paper"
    warmup_steps: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    pck_every: int = 10_000
    val_limit: int | None = None
    shuffle_buffer: int = 2048
    seed: int = 0
    precision: str = "float32"
    jit_compile: bool = False
    augment: AugmentConfig = AugmentConfig()
    augment_in: str = "auto"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "keep_checkpoints", "shuffle_buffer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.pck_every < 0:
            raise ValueError(f"pck_every must be >= 0, got {self.pck_every}")
        if self.val_limit is not None and self.val_limit < 1:
            raise ValueError(f"val_limit must be >= 1, got {self.val_limit}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.augment_in not in AUGMENT_PLACES:
            raise ValueError(f"augment_in must be one of {', '.join(AUGMENT_PLACES)}, got {self.augment_in!r}")
        check_schedule(self.schedule, self.steps, self.learning_rate, self.warmup_steps)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit`.

    Attributes:
      model: the trained network, a plain functional model of :func:`build_model` in float32.
      config: its config.
      step: the optimizer step reached.
      last_step: the step the run aimed at: the recipe's, or the one its time budget allowed.
      resumed_from: the step the run started at (0 for a fresh run).
      out_dir: the run directory.
      checkpoint: the newest checkpoint directory (None on non-chief workers).
      final_model: ``model.keras`` (None on non-chief workers).
      history: ``history.csv``.
      val_pck: the last validation Mean per dataset ({} without validation).
      seconds: wall time of this call.
    """

    model: keras.Model
    config: RePoseConfig
    step: int
    last_step: int
    resumed_from: int
    out_dir: Path
    checkpoint: Path | None
    final_model: Path | None
    history: Path
    val_pck: dict[str, float]
    seconds: float


class TrainingDiverged(RuntimeError):
    """The loss or a weight became NaN or infinite; the last good checkpoint is kept."""


def training_dataset(sources: Sequence[DataSource], config: RePoseConfig, recipe: TrainRecipe,
                     seed: int, crop: bool = True) -> tf.data.Dataset:
    """Endless batches ``(images (B, S, S, 3), targets)`` of the mix of ``sources`` (see :class:`DataSource`);
    targets ``{"keypoints": (B, K, 2), "mask": (B, K)}`` (the heatmaps are rendered in the train step).
    ``crop=False``: uncropped batches for the train step to crop (``make_dataset(..., crop=False)``).

    Raises:
      ValueError: a pattern matching nothing, files of another schema, or no record at all.
    """
    options = dict(input_size=config.input_size, sigma=config.sigma, skeleton=config.skeleton,
                   shuffle_buffer=recipe.shuffle_buffer, augment=recipe.augment, heatmaps=False, crop=crop)
    for source in sources:
        files = resolve_files(source.pattern)
        if all(tf.io.gfile.stat(f).length == 0 for f in files):
            raise ValueError(f"the {len(files)} file(s) matching {source.pattern!r} hold no records")
    if all(s.weight is None for s in sources):
        return make_dataset([s.pattern for s in sources], "train", recipe.batch_size, seed=seed, **options)
    parts = [make_dataset(s.pattern, "train", recipe.batch_size, seed=seed + i, **options).unbatch()
             for i, s in enumerate(sources)]
    weights = [1.0 if s.weight is None else s.weight for s in sources]
    total = sum(weights)
    mixed = tf.data.Dataset.sample_from_datasets(parts, [w / total for w in weights], seed=seed)
    # Uncropped windows are padded to bucket lengths per source; the longest of a batch is one again.
    return mixed.padded_batch(recipe.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def with_records_skeleton(config: RePoseConfig, sources: Sequence[DataSource]) -> RePoseConfig:
    """``config`` with the skeleton of the records of ``sources`` when that names other keypoints.

    Raises:
      ValueError: a pattern matching nothing, sidecars of different skeletons, or a config whose
        own ordering does not fit the records' keypoints.
    """
    found = records_skeleton([f for s in sources for f in resolve_files(s.pattern)])
    if found is None or (found.name, found.keypoints) == (config.skeleton.name, config.skeleton.keypoints):
        return config
    try:
        return config.replace(skeleton=found)
    except ValueError as e:
        raise ValueError(f"config {config.name!r} does not fit the records' skeleton {found.name!r}: {e}") from None


def keras_training_dataset(sources: Sequence[DataSource], config: RePoseConfig, recipe: TrainRecipe,
                           seed: int, crop: bool = True) -> tf.data.Dataset:
    """:func:`training_dataset` with the targets packed per output for Keras' ``fit`` (:func:`keras_targets`);
    ``crop=False``: the uncropped batches, which :class:`~repose_tf.train.in_step.AugmentInStep` crops and packs."""
    if not crop:
        return training_dataset(sources, config, recipe, seed, crop=False)
    names = output_names(config)
    return training_dataset(sources, config, recipe, seed).map(
        lambda images, targets: (images, keras_targets(targets, names)), num_parallel_calls=tf.data.AUTOTUNE)


def compile_for_training(model: keras.Model, config: RePoseConfig,
                         recipe: TrainRecipe) -> keras.optimizers.schedules.LearningRateSchedule:
    """Compile ``model`` as :func:`fit` trains it: eq. (3) (:class:`PartialMSE`) on every output,
    :class:`FusedAdam` on the recipe's schedule, XLA if asked; the optimizer's variables are built.
    Returns the schedule."""
    schedule = make_schedule(recipe.schedule, recipe.steps, recipe.learning_rate, recipe.warmup_steps)
    optimizer = FusedAdam(schedule)
    model.compile(optimizer=optimizer, loss={n: PartialMSE(config.sigma) for n in output_names(config)},
                  jit_compile=recipe.jit_compile)
    model.optimizer.build(model.trainable_variables)
    return schedule


def fit(
    config: str | RePoseConfig,
    data: str | DataSource | Sequence[str | DataSource],
    out_dir: str | os.PathLike,
    *,
    val_data: str | Sequence[str] | None = None,
    recipe: TrainRecipe = TrainRecipe(),
    strategy: str | tf.distribute.Strategy = "auto",
    progress: bool = True,
    verbose: bool = True,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    max_bad_fraction: float = 0.01,
    time_budget: float | None = None,
    init_from: str | os.PathLike | None = None,
) -> FitResult:
    """Train (or resume training) a network; see the module docstring.

    Args:
      config: preset name or config of the network.
      data: training TFRecord pattern(s) or :class:`DataSource` s (the mix).
      out_dir: run directory; an existing run there is resumed.
      val_data: validation TFRecord pattern(s) for the periodic PCK, and for restarting heatmap channels
        that died (:class:`repose_tf.train.callbacks.RestartDeadHeatmaps`, every checkpoint interval).
      recipe: steps, batch, learning rate and schedule, checkpointing, precision.
      strategy: a name of :data:`repose_tf.train.strategy.STRATEGIES` or a strategy.
      progress: show a progress bar (chief only).
      verbose: print what happens (start, resume, end).
      callbacks: extra Keras callbacks.
      max_bad_fraction: the largest share of training records that may be unreadable (a
        truncated shard, a corrupt image: :mod:`repose_tf.data.scan`); they are skipped, counted
        in the output and in ``run.json``.  Validation records must all be readable.
      time_budget: seconds this call may take, from its start (data check, model build and tracing
        included; :class:`cb.TimeBudget`): the run stops at the step its measured pace reaches by
        then (at most ``recipe.steps``), and the cosine schedule decays to that step.  The plan is
        kept in the checkpoints: a rerun finishes it (it may only shorten it).
      init_from: a shipped model's name or a ``.keras`` file whose weights a fresh run starts from: the
        same network (after the records' skeleton is applied), or one that differs only in its
        keypoints (then the layers both have); ignored when ``out_dir`` holds checkpoints (the run
        resumes from them).

    Raises:
      ValueError: bad data (more unreadable training records than ``max_bad_fraction``, any
        unreadable validation record), a checkpoint in ``out_dir`` of another network, or an
        ``init_from`` that is not a trained model of this network (or of it with other keypoints).
      TrainingDiverged: the loss or a weight became NaN/inf.
    """
    started = time.time()
    if not 0 <= max_bad_fraction < 1:
        raise ValueError(f"max_bad_fraction must be in [0, 1), got {max_bad_fraction}")
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"time_budget must be positive seconds, got {time_budget}")
    cfg = get_config(config)
    sources = _sources(data)
    val = None if val_data is None else ([val_data] if isinstance(val_data, str) else list(val_data))
    strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
    chief = is_chief(strategy)
    say = print if (verbose and chief) else (lambda *_: None)
    given = cfg.skeleton
    cfg = with_records_skeleton(cfg, sources)
    if cfg.skeleton != given:
        say(f"skeleton {cfg.skeleton.name!r} ({cfg.num_keypoints} keypoints) from the training records' sidecar")
    out = Path(out_dir)
    ckpt_dir = out / "checkpoints"
    latest = latest_checkpoint(ckpt_dir)
    if latest is not None:
        check_same_network(cfg, latest.config(), latest.path)
    start_step = latest.step if latest is not None else 0
    init_cfg = init_config(init_from) if init_from is not None and latest is None else None
    if init_cfg is not None:
        _check_init_network(init_cfg, cfg, init_from)
    # A time-budgeted run resumes towards the end it planned (its checkpoints keep it).
    planned = latest.state.get("last_step") if latest is not None and time_budget is not None else None
    last_step = recipe.steps if planned is None else min(recipe.steps, int(planned))
    seed = recipe.seed + start_step + 7919 * _worker_index(strategy)
    placement = augment_placement(recipe.augment_in, strategy)
    in_step = placement.place == "step"
    # Bad data fails here, before the (slow) model build.
    dataset = keras_training_dataset(sources, cfg, recipe, seed, crop=not in_step)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    dataset = dataset.with_options(options)
    records = _check_data(sources, val, cfg, max_bad_fraction, progress and chief, say)

    policy, why = precision_policy(strategy, recipe.precision)
    if recipe.precision != "float32":
        say(f"precision {recipe.precision}: {policy} ({why})")
    if in_step or recipe.augment_in != "auto":
        say(f"augmentation in the {'train step' if in_step else 'tf.data pipeline'} ({placement.reason})")
    keras.utils.set_random_seed(recipe.seed)
    # The fused form of the network trains faster (docs/train_step.md); a run begun before it resumes in its form.
    fused = latest is None or latest.fused
    with dtype_policy(policy), strategy.scope():
        model = trainable_model(build_model(cfg, fused=fused), strategy, cfg if in_step else None)
        schedule = compile_for_training(model, cfg, recipe)
        if last_step != recipe.steps and hasattr(schedule, "set_total_steps"):
            schedule.set_total_steps(last_step)
        if latest is not None:
            restore(latest, model, model.optimizer)
    if init_cfg is not None:
        from repose_tf.inference import load_keras_model  # serving-side module: only when a run starts from one

        source = load_keras_model(init_from)
        if init_cfg.skeleton == cfg.skeleton:
            copy_weights(source, model, cfg)
            say(f"starting from the weights of {init_from} (fresh optimizer and schedule)")
        else:
            taken, total = copy_shared_weights(source, model, cfg)
            say(f"starting from {taken} of {total} weight tensors of {init_from} (the layers its "
                f"{init_cfg.skeleton.name!r} network shares with this {cfg.skeleton.name!r} one; fresh optimizer "
                "and schedule); the others start from their initialisation")
    step = cb.current_step(model)
    if latest is not None:
        say(f"resuming {out} from {latest.path.name}: step {step}, learning rate "
            f"{cb.current_learning_rate(model):.3g}")

    if chief:
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "run.json", {
            "config": cfg.to_dict(), "recipe": recipe.to_dict(),
            "data": [dataclasses.asdict(s) for s in sources], "val_data": val,
            "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync, "policy": policy,
            "augment_in": placement.place,
            "init_from": (None if init_from is None else str(init_from)) if latest is None else _previous_init(out),
            "resumed_from": step, "records": records.to_dict()})
        (out / "config.json").write_text(cfg.to_json() + "\n")
        _truncate_history(out / "history.csv", step)

    guard = cb.NaNGuard()
    stop = cb.StopAtStep(last_step)
    checkpointer = cb.Checkpointer(CheckpointWriter(ckpt_dir, cfg, recipe.keep_checkpoints, chief), guard,
                                   stop if time_budget is not None else None)
    val_callback = None
    if val and recipe.pck_every:
        val_callback = cb.ValidationPCK(cfg, val, recipe.pck_every, stop, limit=recipe.val_limit)
    run_callbacks: list[keras.callbacks.Callback] = [guard, stop, cb.StepLogs()]
    if time_budget is not None:
        run_callbacks.insert(1, cb.TimeBudget(time_budget, stop, schedule, say, resumed=planned is not None,
                                                  start=started))
    run_callbacks += [val_callback] if val_callback else []
    if val:
        run_callbacks.append(cb.RestartDeadHeatmaps(cfg, val, say))
    run_callbacks.append(checkpointer)
    if chief:
        run_callbacks.append(cb.HistoryCSV(out / "history.csv"))
        if _tensorboard_installed():
            run_callbacks.append(keras.callbacks.TensorBoard(str(out / "tensorboard"), write_graph=False,
                                                             profile_batch=0))
        else:
            say("TensorBoard is not installed (pip install tensorboard): no tensorboard/ logs, history.csv only")
    run_callbacks += [*callbacks, cb.ProgressBar(stop, enabled=progress and chief)]

    if step < last_step:
        budgeted = f" (at most; a {time_budget / 60:.1f} min time budget decides)" if time_budget is not None else ""
        say(f"training {cfg.name} ({model.count_params():,} parameters) for {last_step - step} steps{budgeted} of "
            f"batch {recipe.batch_size} on {strategy.num_replicas_in_sync} replica(s), {policy}; run directory {out}")
        per_epoch = min(recipe.checkpoint_every, last_step)
        model.fit(dataset, epochs=math.ceil(last_step / per_epoch), steps_per_epoch=per_epoch,
                  initial_epoch=step // per_epoch, callbacks=run_callbacks, shuffle=False, verbose=0)
    else:
        say(f"{out} is already trained to step {step} (of {last_step})")

    if guard.tripped is not None:
        kept = latest_checkpoint(ckpt_dir)
        where = f"{kept.path} (step {kept.step})" if kept else "none (no checkpoint was written yet)"
        raise TrainingDiverged(f"{guard.tripped}; training stopped. Last good checkpoint: {where}. "
                               "Lower the learning rate or check the training data.")
    final_step = cb.current_step(model)
    plain = build_model(cfg)  # float32, uncompiled, outside the strategy, per-keypoint layers: what gets exported
    copy_weights(model, plain, cfg)
    final_model = checkpoint = None
    if chief:
        newest = latest_checkpoint(ckpt_dir)
        if newest is None or newest.step != final_step:
            plan = {"last_step": stop.steps} if time_budget is not None else {}
            checkpointer.writer.save(final_step, model, model.optimizer,
                                     {"learning_rate": cb.current_learning_rate(model), **plan})
        checkpoint = latest_checkpoint(ckpt_dir).path
        final_model = save_keras(plain, cfg, out / "model.keras")
    seconds = time.time() - started
    skipped = f"; {records.lost:,} unreadable training records skipped (run.json)" if records.lost else ""
    say(f"done: step {final_step} in {seconds / 60:.1f} min; checkpoint {checkpoint}; model {final_model}{skipped}")
    return FitResult(model=plain, config=cfg, step=final_step, last_step=stop.steps, resumed_from=step, out_dir=out,
                     checkpoint=checkpoint,
                     final_model=final_model, history=out / "history.csv",
                     val_pck=dict(val_callback.last) if val_callback else {}, seconds=seconds)


def _check_data(sources: Sequence[DataSource], val: Sequence[str] | None, cfg: RePoseConfig,
                max_bad_fraction: float, progress: bool, say: Any) -> DataScan:
    """Read every training and validation record once (:func:`repose_tf.data.scan.scan`), say what
    is unreadable, and refuse the data when more than ``max_bad_fraction`` of the training records or
    any validation record is."""
    train = scan(resolve_files([s.pattern for s in sources]), cfg.skeleton, progress)
    problems = train.problems()
    if train.lost_fraction > max_bad_fraction:
        raise ValueError(f"training data: {train.summary()}, more than the {100 * max_bad_fraction:g} % allowed "
                         "(max_bad_fraction, repose train --max-bad-fraction):\n  " + "\n  ".join(problems))
    say(f"training data: {train.summary()}")
    for line in problems:
        say(f"  skipped: {line}")
    if val:
        checked = scan(resolve_files(val), cfg.skeleton, progress)
        if checked.lost:
            raise ValueError(f"validation data: {checked.summary()}; validation must read every record:\n  "
                             + "\n  ".join(checked.problems()))
    return train


def init_config(init_from: str | os.PathLike) -> RePoseConfig:
    """The config of the trained model ``init_from`` (a shipped name or a repose ``.keras`` file).

    Raises:
      ValueError: a missing file, or anything that is not a trained model (a preset name included).
    """
    found = model_config(init_from)
    if found is None and Path(init_from).suffix == ".keras" and not Path(init_from).is_file():
        raise ValueError(f"{init_from}: no such model file")
    if found is None:
        raise ValueError(f"{init_from}: not a trained model (a shipped name, or a .keras file written by repose; "
                         "a preset name has no trained weights)")
    return found


def _check_init_network(found: RePoseConfig, cfg: RePoseConfig, init_from: str | os.PathLike) -> None:
    """Raise ValueError unless ``found`` is ``cfg``'s network, or that network with other keypoints."""
    a, b = cfg.to_dict(), found.to_dict()
    differ = [k for k in a if a[k] != b.get(k) and k not in ("skeleton", "ordering")]
    if differ:
        diff = ", ".join(f"{k}: {b.get(k)!r} there, {a[k]!r} here" for k in differ)
        raise ValueError(f"{init_from} is a network {found.name!r} that differs from the one to train "
                         f"({diff[:400]}); train with its config (repose train --init without --preset/--config "
                         "takes it)")


def _previous_init(out: Path) -> str | None:
    """The ``init_from`` of the run's first start, kept in run.json when it resumes."""
    try:
        return json.loads((out / "run.json").read_text()).get("init_from")
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _sources(data: str | DataSource | Sequence[str | DataSource]) -> list[DataSource]:
    items = [data] if isinstance(data, (str, DataSource)) else list(data)
    if not items:
        raise ValueError("no training data given")
    return [d if isinstance(d, DataSource) else DataSource(d) for d in items]


def _tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def _worker_index(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None and resolver.task_type else 0


def _write_json(path: Path, content: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(content, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def _truncate_history(path: Path, step: int) -> None:
    """Drop the rows of ``history.csv`` past ``step`` (logged after the checkpoint being resumed)."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows or "step" not in rows[0]:
        return
    column = rows[0].index("step")
    keep = [rows[0]] + [r for r in rows[1:] if len(r) > column and _as_float(r[column]) <= step]
    if len(keep) == len(rows):
        return
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        csv.writer(f).writerows(keep)
    os.replace(tmp, path)


def _as_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.inf


__all__ = ["DataSource", "FitResult", "PAPER_DATA", "TrainRecipe", "TrainingDiverged", "fit", "training_dataset"]
