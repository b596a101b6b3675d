"""Each private Keras internal the models rely on (skinsr_tf.models.keras_compat) still behaves."""

import keras
import numpy as np
import tensorflow as tf

from skinsr_tf.models.keras_compat import SkipSymbolicBuild, set_untracked


def test_set_untracked_keeps_a_layer_out_of_the_weights():
    tracked, untracked = keras.Model(), keras.Model()
    dense = keras.layers.Dense(2)
    dense.build((None, 3))
    tracked.extra = dense  # Keras' tracking adds its variables ...
    set_untracked(untracked, "extra", keras.layers.Dense(2))
    untracked.extra.build((None, 3))
    assert len(tracked.weights) == 2
    assert untracked.weights == [] and untracked.extra.built  # ... the bypass does not


class Probe(SkipSymbolicBuild, keras.Model):
    """Counts how often Keras asks for the symbolic build (the hook `SkipSymbolicBuild` overrides)."""

    def __init__(self, ready):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.ready, self.asked = ready, 0

    def ready_for_training(self):
        self.asked += 1
        return self.ready

    def call(self, x):
        return self.dense(x)


def test_fit_still_calls_the_symbolic_build_hook():
    data = tf.data.Dataset.from_tensor_slices((np.ones((4, 3), np.float32), np.ones((4, 1), np.float32))).batch(2)
    for ready in (False, True):
        model = Probe(ready)
        model(np.ones((1, 3), np.float32))
        model.compile(optimizer="sgd", loss="mse")
        model.optimizer.build(model.trainable_variables)
        model.fit(data, epochs=1, verbose=0)
        assert model.asked >= 1, ready  # Keras still goes through _maybe_symbolic_build
