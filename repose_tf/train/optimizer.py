"""Adam with one fused kernel per variable.

Keras 3's ``Adam.update_step`` builds about twenty small ops per variable (casts, the bias
corrections, moment updates).  RePose has hundreds of small variables (a conv block per keypoint
and update step), so tracing the training step spent most of its time there: minutes for the
``tiny`` preset on a 2-core CPU.  :class:`FusedAdam` computes the bias-correction powers once per
step and updates each variable with TensorFlow's ``ResourceApplyAdam`` kernel, the same
arithmetic as Keras' Adam::

    m <- beta_1 m + (1 - beta_1) g,   v <- beta_2 v + (1 - beta_2) g^2
    w <- w - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

Its variables (and so its checkpoints) are those of ``keras.optimizers.Adam``.  AMSGrad falls
back to Keras' implementation.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="repose_tf")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with a fused update (TensorFlow backend); same arguments."""

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # The bias-correction powers of this step, shared by every variable (float32 variables).
        step = tf.cast(self.iterations + 1, tf.float32)
        self._powers = (tf.pow(tf.constant(self.beta_1, tf.float32), step),
                        tf.pow(tf.constant(self.beta_2, tf.float32), step))
        return super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or variable.dtype != tf.float32:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        beta_1_power, beta_2_power = self._powers
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle, v=self._velocities[index].value.handle,
            beta1_power=beta_1_power, beta2_power=beta_2_power, lr=tf.cast(learning_rate, tf.float32),
            beta1=tf.constant(self.beta_1, tf.float32), beta2=tf.constant(self.beta_2, tf.float32),
            epsilon=tf.constant(self.epsilon, tf.float32), grad=tf.cast(gradient, tf.float32))
