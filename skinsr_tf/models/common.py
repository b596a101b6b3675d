"""Training machinery the trainable SR models share: optimisers, loss scaling, trackers, val PSNR-Y.

`TrainableSRModel` sits between `SRModel` and the concrete models. A subclass declares its
optimiser groups (`_optimizer_groups`: name -> variables) and writes `train_step`; this class gives
it Adam optimisers built on exactly those variables (inside the active distribution strategy),
`apply_loss` (per-replica loss / num_replicas_in_sync, mixed-precision loss scaling, apply), loss
trackers (`keras.metrics.Mean`, reset every epoch by Keras) and a `test_step` reporting PSNR on Y
and L1 of the SR image.
"""

import re
import warnings

import keras
import tensorflow as tf

from ..metrics import Y_WEIGHTS
from .base import SRModel
from .degrid import degrid
from .keras_compat import SkipSymbolicBuild

# How TensorFlow reports a graph XLA cannot compile (an op without an XLA kernel, tf2xla failure).
XLA_FAILURE = re.compile(r"XLA|tf2xla")


def psnr_y_tf(sr, hr, crop_border=0, max_psnr=100.0):
    """Per-image PSNR (dB) on Y, TF ops; the `skinsr_tf.metrics.psnr_y` convention.

    RGB in [0, 1] (sr is clipped, not rounded), Y = `metrics.rgb_to_y` (its `Y_WEIGHTS`),
    `crop_border` pixels dropped per side, 10 log10(255^2 / MSE). Identical images give
    `max_psnr` instead of +inf so that a running mean stays finite.
    """
    sr = tf.clip_by_value(tf.cast(sr, tf.float32), 0.0, 1.0)
    hr = tf.cast(hr, tf.float32)
    if crop_border:
        c = int(crop_border)
        sr, hr = sr[:, c:-c, c:-c, :], hr[:, c:-c, c:-c, :]
    w = tf.constant(Y_WEIGHTS, tf.float32)
    diff = tf.reduce_sum((sr - hr) * w, axis=-1)  # the +16 offsets cancel
    mse = tf.reduce_mean(tf.square(tf.cast(diff, tf.float64)), axis=[1, 2])
    psnr = 10.0 * tf.math.log(255.0**2 / tf.maximum(mse, 1e-300)) / tf.math.log(tf.constant(10.0, tf.float64))
    return tf.cast(tf.minimum(psnr, max_psnr), tf.float32)


def replica_scale():
    """1 / number of replicas of the current strategy (gradients are summed across replicas)."""
    return 1.0 / tf.distribute.get_strategy().num_replicas_in_sync


def pad_to_multiple(images, multiple, min_size=1):
    """Pad (N, h, w, C) at the bottom/right by edge replication to multiples of `multiple`
    that are at least `min_size`. Returns (padded, h, w).

    Edge replication works for any pad size (reflection needs pad < size).
    """
    shape = tf.shape(images)
    h, w = shape[1], shape[2]
    multiple = max(int(multiple), 1)
    floor = -(-int(min_size) // multiple) * multiple
    ph = tf.maximum((-h) % multiple, floor - h)
    pw = tf.maximum((-w) % multiple, floor - w)
    x = tf.concat([images, tf.repeat(images[:, -1:], ph, axis=1)], axis=1)
    x = tf.concat([x, tf.repeat(x[:, :, -1:], pw, axis=2)], axis=2)
    return x, h, w


def edgeconnect_lr_geometry(scale):
    """(multiple, minimum) LR size for EdgeConnect-body generators at `scale`.

    HR must be a multiple of 4 (two stride-2 convs) and the bottleneck (HR / 4) at least 3 px
    (the residual blocks reflect-pad 2).
    """
    multiple = 1
    while (multiple * scale) % 4:
        multiple += 1
    minimum = -(-12 // scale)
    return multiple, -(-minimum // multiple) * multiple


def make_adam(learning_rate, beta_1, beta_2):
    """Adam; wrapped in a LossScaleOptimizer under a mixed_float16 global policy."""
    opt = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def as_batch(data):
    """A batch as the models read it: {"lr", "hr", ...}; `(lr, hr)` tuples (what `fit(x, y)` and
    most tf.data pipelines give) become {"lr": lr, "hr": hr}."""
    if isinstance(data, dict):
        return data
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):  # (x, y) or (x, y, sample_weight)
        return {"lr": data[0], "hr": data[1]}
    raise ValueError(f"a batch must be a dict with 'lr' and 'hr' or an (lr, hr) tuple, got {type(data).__name__}")


class TrainableSRModel(SkipSymbolicBuild, SRModel):
    """SRModel with several optimisers, distribution-aware loss scaling and PSNR-Y validation.

    Subclasses set `default_learning_rate` / `default_betas`, implement `_optimizer_groups()` and
    `train_step`, and may override `test_step` and `monitor` (the validation metric that
    `skinsr_tf.training.ReduceLROnPlateau` and checkpoint selection watch). `loss_metric` names
    the logged value that is the generator's total loss; it is also logged as `loss`, the key
    Keras' standard callbacks (TerminateOnNaN, ModelCheckpoint, EarlyStopping) read.
    Their `train_step` / `test_step` receive batches through `as_batch`: dicts or (lr, hr) tuples.
    """

    default_learning_rate = 1e-3
    default_betas = (0.9, 0.99)
    monitor = ("val_psnr_y", "max")
    residual_networks = ()  # attributes holding the networks whose output `add_residual` reads
    inference_networks = ()  # attributes holding the networks `call` needs (what shipped weights hold)
    needs_edges = False  # whether train batches need "lr_edge"/"hr_edge" (make_dataset(edges=True))
    loss_metric = "loss"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("train_step", "test_step"):
            step = cls.__dict__.get(name)
            if step is not None and not getattr(step, "takes_any_batch", False):
                setattr(cls, name, _any_batch(step))

    def __init__(self, scale=4, preset="full", residual=False, degrid=False, **kwargs):
        super().__init__(scale=scale, preset=preset, **kwargs)
        self.residual = bool(residual)
        self.degrid = bool(degrid)
        self._trackers = {}
        self.optimizers = {}
        self._track("psnr_y", "l1", "loss")

    def get_config(self):
        return {**super().get_config(), "residual": self.residual, "degrid": self.degrid}

    def inference_variables(self):
        """The generators' variables only: discriminators are training-time machinery."""
        return [v for name in self.inference_networks for v in getattr(self, name).weights]

    def add_residual(self, output, lr):
        """With `residual=True`, the generator's [0, 1] output is read as 0.5 + a correction to
        MATLAB-bicubic `lr` (a VDSR-style global residual); otherwise it is the SR image itself.

        The networks stay exactly the paper's; the option only changes what their output means.
        It starts training at bicubic quality instead of a grey image, so a model trains in
        CPU-hours rather than GPU-days. The shipped weights use it (see the README).

        With `degrid=True` the period-`scale` component of the correction is then removed
        (`models.degrid`, not the report's): the decoders' grid cannot reach the image, in
        training (so no loss can pay for it) or inference.
        """
        if not (self.residual or self.degrid):
            return output
        from .bicubic import bicubic_upscale

        bicubic = bicubic_upscale(lr, self.scale)
        sr = output + bicubic - 0.5 if self.residual else output
        return degrid(sr, bicubic, self.scale) if self.degrid else sr

    # --- trackers -------------------------------------------------------------------------
    def _track(self, *names):
        """Create `keras.metrics.Mean` trackers (in __init__: variables must exist before tracing)."""
        for name in names:
            if name not in self._trackers:
                self._trackers[name] = keras.metrics.Mean(name=name)

    @property
    def metrics(self):
        return list(self._trackers.values())

    def _log(self, values):
        """Update the trackers named by `values`' keys; return their running means.
        `values[loss_metric]` is logged as `loss` too."""
        if self.loss_metric in values and "loss" not in values:
            values = {**values, "loss": values[self.loss_metric]}
        for name, value in values.items():
            self._trackers[name].update_state(value)
        results = {name: self._trackers[name].result() for name in values}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker step outputs with reduce("MEAN", axis=0): needs rank 1.
            results = {name: tf.reshape(v, [1]) for name, v in results.items()}
        return results

    # --- optimisers -----------------------------------------------------------------------
    def _optimizer_groups(self):
        """{optimizer name: list of variables it trains}; the first one is `self.optimizer`."""
        raise NotImplementedError

    def compile(self, optimizer=None, learning_rate=None, beta_1=None, beta_2=None, optimizers=None,
                loss=None, metrics=None, **kwargs):
        """Create one optimiser per group (Adam by default) and build it on its variables.

        Call inside `strategy.scope()` when distributing. `optimizer` (an instance or a Keras
        name such as "adam"): the optimiser of a single-group model, as in `keras.Model.compile`.
        `optimizers` maps group names to ready optimiser instances (several-group models: GANs).
        `loss` and `metrics` are refused: the models compute their own (set the loss weights in
        the constructor). `jit_compile` defaults to False (XLA is slower on CPU and fails under
        MirroredStrategy); a step XLA cannot compile falls back to plain graphs with a warning.
        Other kwargs go to `keras.Model.compile`.
        """
        name = type(self).__name__
        if loss is not None or metrics is not None:
            raise ValueError(f"{name}.compile: loss= and metrics= are not used: the model computes its own "
                             "losses and metrics (set the loss weights in the constructor)")
        groups = self._optimizer_groups()
        given = dict(optimizers or {})
        if optimizer is not None:
            if len(groups) != 1 or given:
                raise ValueError(f"{name}.compile: optimizer= is for single-optimiser models; {name} has "
                                 f"the groups {list(groups)}: pass optimizers={{group: optimizer, ...}}")
            given = {next(iter(groups)): keras.optimizers.get(optimizer)}
        lr = self.default_learning_rate if learning_rate is None else float(learning_rate)
        b1 = self.default_betas[0] if beta_1 is None else float(beta_1)
        b2 = self.default_betas[1] if beta_2 is None else float(beta_2)
        self._compile_args = {"learning_rate": lr, "beta_1": b1, "beta_2": b2}
        if optimizer is not None:
            self._compile_args = {"optimizer": keras.optimizers.serialize(given[next(iter(groups))])}
        unknown = set(given) - set(groups)
        if unknown:
            raise ValueError(f"unknown optimizer groups {sorted(unknown)}; this model has {list(groups)}")
        self.optimizers = {}
        for name, variables in groups.items():
            opt = given.get(name) or make_adam(lr, b1, b2)
            opt.build(variables)
            self.optimizers[name] = opt
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=next(iter(self.optimizers.values())), **kwargs)

    # --- XLA fallback ---------------------------------------------------------------------
    def make_train_function(self, force=False):
        return self._xla_fallback("train", super().make_train_function, force)

    def make_test_function(self, force=False):
        return self._xla_fallback("test", super().make_test_function, force)

    def make_predict_function(self, force=False):
        return self._xla_fallback("predict", super().make_predict_function, force)

    def _xla_fallback(self, kind, make, force):
        """Keras' `kind` function; with jit_compile, one that falls back to plain graphs (with a
        warning) when XLA cannot compile the step on this device, instead of failing the run.

        TensorFlow compiles before the call's graph runs, so the failed call has not taken its
        batch from the iterator: rerun without XLA, it loses no batch and misaligns no prediction.
        """
        make(force)  # Keras sets self.<kind>_function
        attribute = f"{kind}_function"
        function = getattr(self, attribute)
        if not self.jit_compile or getattr(function, "xla_fallback", False):
            return function

        def run(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.InternalError) as e:
                if not self.jit_compile or not XLA_FAILURE.search(str(e)):
                    raise
                reason = next((ln.strip() for ln in str(e).splitlines() if XLA_FAILURE.search(ln)), "")
                warnings.warn(
                    f"{type(self).__name__}: XLA cannot compile the {kind} step on this device "
                    f"({reason[:300]}); falling back to jit_compile=False.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self.jit_compile = False
                self.train_function = self.test_function = self.predict_function = None
                make(True)
                return getattr(self, attribute)(*args, **kwargs)

        run.xla_fallback = True
        setattr(self, attribute, run)
        return run

    def get_compile_config(self):
        return dict(getattr(self, "_compile_args", {})) or None

    def compile_from_config(self, config):
        self.compile(**config)

    def apply_loss(self, name, tape, loss, variables):
        """Gradient step of optimiser `name` on `loss` (a per-replica mean) w.r.t. `variables`."""
        opt = self.optimizers[name]
        with tape:  # resume recording: the scaling must be on the tape
            scaled = opt.scale_loss(loss * replica_scale())
        grads = tape.gradient(scaled, variables)
        opt.apply_gradients(zip(grads, variables))

    # --- evaluation -----------------------------------------------------------------------
    def test_step(self, data):
        """Validation on {"lr", "hr"} batches or (lr, hr) tuples: PSNR on Y (crop_border = scale) and L1."""
        data = as_batch(data)
        hr = data["hr"]
        sr = self(data["lr"], training=False)
        return self._log(
            {
                "psnr_y": tf.reduce_mean(psnr_y_tf(sr, hr, crop_border=self.scale)),
                "l1": tf.reduce_mean(tf.abs(sr - hr)),
            }
        )

    def get_config_kwargs(self):
        """Constructor kwargs only (get_config minus Keras' name/trainable/dtype): config.json's."""
        drop = {"name", "trainable", "dtype"}
        return {k: v for k, v in self.get_config().items() if k not in drop}

    def load_init_weights(self, path):
        """Start training from the weights of a file or training-run folder."""
        from ..runs import resolve_weights

        self.load_weights(resolve_weights(path))

    def ready_for_training(self):
        """The networks exist since __init__ and the optimisers since compile(): nothing to build."""
        return bool(self.built and self.optimizers and all(o.built for o in self.optimizers.values()))

    def build_for_training(self):
        """Subclasses build all sub-networks in __init__; mark the wrapper built for Keras.

        With `residual=True` the output convolutions start at zero, so that an untrained model
        is exactly bicubic and training only has to learn the correction.
        """
        if self.residual:
            for name in self.residual_networks:
                zero_output_conv(getattr(self, name))
        self.built = True


def _any_batch(step):
    """`step` (a train_step / test_step) taking dict or (lr, hr) tuple batches."""
    import functools

    @functools.wraps(step)
    def wrapped(self, data):
        return step(self, as_batch(data))

    wrapped.takes_any_batch = True
    return wrapped


def zero_output_conv(network):
    """Zero the kernel and bias of the last convolution of `network` (its output layer)."""
    for layer in reversed(network.layers):
        if isinstance(layer, keras.layers.Conv2D):
            for variable in (layer.kernel, layer.bias):
                if variable is not None:
                    variable.assign(keras.ops.zeros_like(variable))
            return
    raise ValueError(f"{network.name} has no Conv2D layer to zero")



def random_feature_model(layer_names, channels=8):
    """Tiny random conv stack returning {name: features} for VGG layer names (tests only).

    Stands in for VGG19 in `VGGPerceptual` when `perceptual_weights="random"`: it exercises the
    content/style code path at test size; it is not a perceptual loss.
    """
    inputs = keras.Input((None, None, 3))
    x, outputs = inputs, {}
    for block in range(1, 6):
        if block > 1:
            x = keras.layers.AveragePooling2D(2, padding="same", dtype="float32")(x)
        x = keras.layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"block{block}", dtype="float32")(x)
        for name in layer_names:
            if name.startswith(f"relu{block}_"):
                outputs[name] = x
    model = keras.Model(inputs, outputs, name="random_features")
    model.trainable = False
    return model


def make_perceptual(weights):
    """`losses.perceptual.VGGPerceptual` for `weights` (None, a file, or "random" for tests)."""
    from ..losses.perceptual import CONTENT_LAYERS, STYLE_LAYERS, VGGPerceptual

    if weights == "random":
        return VGGPerceptual(feature_model=random_feature_model(CONTENT_LAYERS + STYLE_LAYERS))
    return VGGPerceptual(weights=weights)
