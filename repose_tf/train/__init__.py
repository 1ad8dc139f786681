"""Training: the loss of eq. (3), schedules, strategies, checkpoints, callbacks and ``fit``.

    from repose_tf.train import TrainRecipe, fit
    fit("tiny", "tfrecords/synthetic-train-*.tfrecord", "runs/tiny", recipe=TrainRecipe(steps=1000, batch_size=16))

See :mod:`repose_tf.train.fit` and ``docs/training.md``.
"""

from repose_tf.train.fit import (
           PAPER_DATA,
           DataSource,
           FitResult,
           TrainingDiverged,
           TrainRecipe,
           fit,
)
from repose_tf.train.loss import PartialMSE, partial_mse, total_loss
from repose_tf.train.strategy import STRATEGIES, make_strategy

__all__ = ["PAPER_DATA", "DataSource", "FitResult", "TrainingDiverged", "TrainRecipe", "fit", "PartialMSE",
           "partial_mse", "total_loss", "STRATEGIES", "make_strategy"]
