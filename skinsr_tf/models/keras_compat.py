"""Every use of a private Keras internal, in one place, each with a test
(tests/models/test_keras_compat.py) that fails if a Keras release changes it.

Tested with Keras 3.15 on TensorFlow 2.21. A minor release may change any private internal, so
setup.cfg bounds keras < 3.16 and tensorflow < 2.22; raise the bounds once those tests pass on
the new release.
"""


def set_untracked(layer, name, value):
    """Set `layer.name = value` without Keras' attribute tracking, so that `value`'s variables
    (e.g. a frozen VGG for a perceptual loss) stay out of the layer's weights and saved files.

    Keras tracks layers through `Layer.__setattr__`; writing the instance `__dict__` bypasses it.
    """
    layer.__dict__[name] = value


class SkipSymbolicBuild:
    """Mixin for a `keras.Model` whose networks exist from `__init__` and whose optimisers are
    built in `compile`: it skips Keras' symbolic build before the first `fit` step.

    Keras' TF trainer (`Trainer._maybe_symbolic_build`, private) "builds" a distributed model by
    all-reducing a sample batch, which `MultiWorkerMirroredStrategy` cannot do for dict batches.
    `ready_for_training()` says when nothing needs building.
    """

    def ready_for_training(self):
        raise NotImplementedError

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self.ready_for_training():
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

