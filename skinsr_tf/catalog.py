"""The one list of models: registry name -> (module, class name, trainable).

TensorFlow-free, so that `skinsr-tf --help` and the examples' flag definitions list the names
without loading it; `skinsr_tf.models.registry` imports the classes from it on first use, and
`skinsr_tf.__init__`, the CLI and the examples derive their lists from it.
"""

MODEL_TABLE = {
    "edge_sisr": ("skinsr_tf.models.edge_informed", "EdgeInformedSR", True),
    "spsr": ("skinsr_tf.models.spsr", "SPSR", True),
    "unet": ("skinsr_tf.models.unet", "UNetSR", True),
    "unetpp": ("skinsr_tf.models.unet", "UNetPlusPlusSR", True),
    "bicubic": ("skinsr_tf.models.bicubic", "Bicubic", False),
}

MODEL_NAMES = tuple(MODEL_TABLE)
TRAINABLE_MODELS = tuple(name for name, (_, _, trainable) in MODEL_TABLE.items() if trainable)
