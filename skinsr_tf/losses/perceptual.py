"""VGG perceptual losses of EdgeConnect: content (feature L1) and style (Gram-matrix L1).

content = sum_l w_l * mean |phi_l(sr) - phi_l(hr)|  over relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
style   = sum_l mean |G_l(sr) - G_l(hr)|             over relu2_2, relu3_4, relu4_4, relu5_2
G(F) = F^T F / (C H W) for features F of shape (H W, C) per image.

Preprocessing: by default the [0, 1] RGB image enters VGG unnormalised ("raw"), as the reference
does; the SR loss weights content 0.1 / style 250 (docs/conventions.md, "Edge-informed SISR") were tuned for that, so they
apply unchanged. Weights come from ``skinsr_tf.backbones.load_vgg19_features``: a VGG19 file or the
Keras cache, else the offline torchvision VGG16 as a logged substitute (relu3_4 -> relu3_3,
relu4_4 -> relu4_3; torchvision RGB weights, the reference's own convention). With Keras' caffe
VGG19 weights and "raw" input the features are smaller than the reference's: re-tune the weights or
pass ``preprocessing="imagenet"``. HR features are constants (no gradient through the target).
"""

from keras import ops

CONTENT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")


def gram_matrix(features):
    """(N, H, W, C) -> (N, C, C) Gram matrices F^T F / (C H W), computed in float32."""
    f = ops.cast(features, "float32")
    shape = ops.shape(f)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    f = ops.reshape(f, (n, h * w, c))
    gram = ops.matmul(ops.transpose(f, (0, 2, 1)), f)
    return gram / ops.cast(c * h * w, "float32")


class VGGPerceptual:
    """Content and style losses on features of a (frozen) VGG.

    ``feature_model``: any callable mapping a (N, H, W, 3) [0, 1] batch to a dict {layer name:
    (N, h, w, c) features} covering the content and style layers; when None, VGG19 features are
    loaded with ``load_vgg19_features(layers, weights, allow_vgg16_substitute, preprocessing)``.
    Call: ``content, style = perceptual(sr, hr)`` (float32 scalars, unweighted by the SR loss
    weights; ``content_weights`` are the per-layer weights, 1 each as the reference).
    """

    def __init__(
        self,
        feature_model=None,
        weights=None,
        content_layers=CONTENT_LAYERS,
        style_layers=STYLE_LAYERS,
        content_weights=None,
        allow_vgg16_substitute=True,
        preprocessing="raw",
    ):
        self.content_layers = tuple(content_layers)
        self.style_layers = tuple(style_layers)
        self.content_weights = (
            (1.0,) * len(self.content_layers)
            if content_weights is None else tuple(float(w) for w in content_weights)
        )
        if len(self.content_weights) != len(self.content_layers):
            raise ValueError(
                f"VGGPerceptual: {len(self.content_weights)} content weights for "
                f"{len(self.content_layers)} content layers"
            )
        if feature_model is None:
            from skinsr_tf.backbones import load_vgg19_features

            layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))
            feature_model = load_vgg19_features(
                layers, weights=weights, allow_vgg16_substitute=allow_vgg16_substitute,
                preprocessing=preprocessing,
            )
        self.feature_model = feature_model

    def features(self, sr, hr):
        """Backbone features of sr and of hr (the latter as constants).

        Two passes rather than one on concat(sr, hr): the backward pass then covers only sr.
        """
        f_sr = self.feature_model(ops.cast(sr, "float32"))
        f_hr = self.feature_model(ops.stop_gradient(ops.cast(hr, "float32")))
        missing = set(self.content_layers + self.style_layers) - set(f_sr)
        if missing:
            raise KeyError(f"VGGPerceptual: feature model lacks layers {sorted(missing)}")
        return f_sr, {k: ops.stop_gradient(v) for k, v in f_hr.items()}

    def content_loss(self, f_sr, f_hr):
        total = 0.0
        for w, layer in zip(self.content_weights, self.content_layers):
            total = total + w * ops.mean(ops.abs(ops.cast(f_sr[layer], "float32") - ops.cast(f_hr[layer], "float32")))
        return total

    def style_loss(self, f_sr, f_hr):
        total = 0.0
        for layer in self.style_layers:
            total = total + ops.mean(ops.abs(gram_matrix(f_sr[layer]) - gram_matrix(f_hr[layer])))
        return total

    def __call__(self, sr, hr):
        """-> (content, style) for SR and HR batches in [0, 1]."""
        f_sr, f_hr = self.features(sr, hr)
        return self.content_loss(f_sr, f_hr), self.style_loss(f_sr, f_hr)
