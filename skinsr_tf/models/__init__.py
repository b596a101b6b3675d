"""The SR models (keras.Model subclasses): base, common, edge_informed, spsr, unet, bicubic, registry."""

from skinsr_tf._require import require_tensorflow

require_tensorflow()
