"""Choosing the ``tf.distribute`` strategy and the numeric precision of a training run.

Strategies (``--strategy``):

* ``default``: one device, no distribution (``tf.distribute.get_strategy()``).
* ``mirrored``: synchronous data parallelism over the local GPUs (or the local logical devices
  of one type: on a CPU-only machine, the logical CPUs made with
  ``tf.config.set_logical_device_configuration``, as the tests do).
* ``multiworker``: synchronous data parallelism over the workers listed in ``TF_CONFIG``
  (``MultiWorkerMirroredStrategy``, collective all-reduce).  Every worker runs the same command;
  worker 0 (the chief) writes checkpoints, logs and the final model.  Keras 3's ``fit`` needs
  fixes under this strategy, made by :class:`CollectiveModel` (see :func:`trainable_model`).
* ``tpu``: a Cloud/Colab TPU (``TPUStrategy``); the TPU is found by ``TPUClusterResolver``.
* ``auto``: a TPU if one answers, else ``multiworker`` if ``TF_CONFIG`` lists several workers,
  else ``mirrored`` if there are several GPUs, else ``default``.

Precision (``--precision``): ``float32``; ``bfloat16`` or ``float16`` compute with float32 variables
(Keras' ``mixed_bfloat16`` / ``mixed_float16`` policies; Keras adds loss scaling to float16 at
``compile``); ``auto``: float16 on GPUs, bfloat16 on TPUs and on CPUs with bfloat16 instructions
(AVX512-BF16 or AMX-BF16), float32 on other CPUs (:func:`repose_tf.hardware.auto_precision`).
The network's heatmap layers compute in float32 in any case (:mod:`repose_tf.model.builder`) and
the loss casts to float32.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from repose_tf.config import RePoseConfig
from repose_tf.hardware import PRECISIONS, PrecisionChoice, auto_precision
from repose_tf.train.in_step import AugmentInStep

STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")
_log = logging.getLogger(__name__)


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The strategy called ``name`` (see the module docstring).

    Raises:
      ValueError: an unknown name, ``multiworker`` without a usable ``TF_CONFIG``, or ``tpu``
        with no TPU reachable.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")
    if name == "auto":
        name = _auto()
        _log.info("strategy auto -> %s", name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=_local_devices())
    if name == "multiworker":
        if len(_tf_config_workers()) < 1:
            raise ValueError("--strategy multiworker needs TF_CONFIG with a 'cluster' of workers and this "
                             "process's 'task', e.g. "
                             '{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                             '"task": {"type": "worker", "index": 0}}')
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = _tpu_resolver()
    if resolver is None:
        raise ValueError("--strategy tpu: no TPU found (TPUClusterResolver could not reach one)")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True for the worker that writes checkpoints and logs (always, outside multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


class CollectiveModel(keras.Model):
    """A functional model that Keras 3.15's ``fit`` can train under ``MultiWorkerMirroredStrategy``.

    Built as ``CollectiveModel(model.input, model.output)``, it shares the layers (so the
    variables, their paths and the checkpoints) of ``model`` and changes two steps of ``fit``,
    both in Keras' TensorFlow trainer (``keras/src/backend/tensorflow/trainer.py``):

    * ``_maybe_symbolic_build`` averages the first distributed ``(x, y)`` batch with a single
      ``strategy.reduce("MEAN", batch, axis=None)`` over the whole structure, only to learn its
      shapes and dtypes; the collective strategy cannot reduce a structure and fails.  Here each
      input takes the first local replica's tensor instead: same shapes, no communication.
    * ``reduce_per_replica`` averages the train step's logs with ``strategy.reduce("MEAN", value,
      axis=0)`` under this strategy, which fails on the scalar losses.  :meth:`train_step` gives
      every log value a batch axis of one, so that reduction yields the mean over the replicas,
      as a scalar, like ``MirroredStrategy``'s.

    And one more, in Keras' layers: BatchNormalization's moving mean and variance are variables
    without aggregation, so each replica updates its own copy from its own batch and the workers'
    copies drift apart (the trainable weights stay equal: their gradients are all-reduced).
    :meth:`train_step` averages those variables over the replicas after every step, which gives
    every worker the moving averages of the replica-averaged batch statistics (the update is
    linear), as Keras 2 did with ``aggregation=MEAN``.

    The loss, gradients and optimizer update are those of ``keras.Model.train_step``.  Only
    ``fit`` (through :meth:`train_step`) is fixed: ``evaluate`` and ``predict`` are not used in
    training.
    """

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Overrides Keras' private method (TensorFlowTrainer, Keras 3.15) for this class only: the
        # same steps, with the first local replica's batch in place of its strategy.reduce.
        strategy = self.distribute_strategy
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0], next(batches))
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        logs = super().train_step(data)
        self._average_local_variables()
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}

    def _average_local_variables(self) -> None:
        """Replace the float non-trainable variables without aggregation by their replica mean.

        They travel as one flat tensor (one collective, not one per variable), placed on the
        variables' device: ``all_reduce`` groups its values by device and rejects a tensor without
        one, which a plain read is in the graph of a worker with a single replica.
        """
        local = [v for v in self.non_trainable_variables
                 if v.aggregation == "none" and keras.backend.is_float_dtype(v.dtype)]
        if not local:
            return
        with tf.device(local[0].value.device):
            flat = tf.concat([tf.reshape(tf.cast(v.value, tf.float32), [-1]) for v in local], axis=0)
        averaged = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.MEAN, flat)
        parts = tf.split(averaged, [math.prod(v.shape) for v in local])
        for variable, part in zip(local, parts):
            variable.assign(tf.cast(tf.reshape(part, variable.shape), variable.dtype))


def trainable_model(model: keras.Model, strategy: tf.distribute.Strategy,
                    crop_in_step: RePoseConfig | None = None) -> keras.Model:
    """The model to compile and ``fit`` under ``strategy``: ``model`` itself, or a model sharing its
    layers: a :class:`CollectiveModel` under a ``MultiWorkerMirroredStrategy`` over several workers
    (with a single worker, Keras does not take the collective code paths and ``model`` trains as it
    is), an :class:`~repose_tf.train.in_step.AugmentInStep` given ``model``'s config as ``crop_in_step``
    (the train step crops and augments), or both.

    Call it inside ``strategy.scope()``, where ``model`` was built.
    """
    collective = False
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        cluster = strategy.cluster_resolver.cluster_spec().as_dict()
        collective = len(cluster.get("chief", [])) + len(cluster.get("worker", [])) >= 2
    if crop_in_step is not None:
        return (CollectiveAugmentInStep if collective else AugmentInStep).for_network(model, crop_in_step)
    return CollectiveModel(model.input, model.output, name=model.name) if collective else model


class CollectiveAugmentInStep(AugmentInStep, CollectiveModel):
    """:class:`~repose_tf.train.in_step.AugmentInStep` under ``MultiWorkerMirroredStrategy``: crops in the
    train step, then :class:`CollectiveModel`'s step."""


class PolicyChoice(NamedTuple):
    """A Keras dtype policy ("float32", "mixed_bfloat16", "mixed_float16") and why it was chosen."""

    policy: str
    reason: str


def precision_policy(strategy: tf.distribute.Strategy, precision: str) -> PolicyChoice:
    """The Keras dtype policy of ``precision`` (one of :data:`PRECISIONS`) and why it was chosen:
    "float32", "mixed_bfloat16" or "mixed_float16"."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        choice = auto_precision(gpu=bool(tf.config.list_logical_devices("GPU")),
                                tpu=isinstance(strategy, tf.distribute.TPUStrategy))
    else:
        choice = PrecisionChoice(precision, "asked for")
    policy = "float32" if choice.precision == "float32" else f"mixed_{choice.precision}"
    return PolicyChoice(policy, choice.reason)


@contextlib.contextmanager
def dtype_policy(policy: str) -> Iterator[None]:
    """Set Keras' global dtype policy for the models built inside, and restore the previous one."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _auto() -> str:
    if _tpu_resolver() is not None:
        return "tpu"
    if len(_tf_config_workers()) > 1:
        return "multiworker"
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def _local_devices() -> list[str] | None:
    """The devices of a local MirroredStrategy: every GPU, else every logical CPU (None = TF's choice)."""
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return [d.name for d in gpus]
    cpus = tf.config.list_logical_devices("CPU")
    return [d.name for d in cpus] if len(cpus) > 1 else None


def _tf_config_workers() -> list[str]:
    """The workers (and chief) listed in ``TF_CONFIG``; [] when unset."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        return []
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (json.JSONDecodeError, AttributeError):
        raise ValueError(f"TF_CONFIG is not a JSON object: {raw[:200]!r}") from None
    return [*cluster.get("chief", []), *cluster.get("worker", [])]


def _tpu_resolver() -> tf.distribute.cluster_resolver.TPUClusterResolver | None:
    """A resolver for the TPU of this machine (Colab, Cloud TPU VM), or None when there is none."""
    if not (os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME") or os.path.exists("/dev/accel0")):
        return None
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver()
    except (ValueError, RuntimeError, tf.errors.NotFoundError) as e:
        _log.info("no TPU: %s", e)
        return None
