"""Everything about images before a network sees them: I/O, MATLAB bicubic, edges, datasets.

``io``, ``resize``, ``synthetic``, ``dataset`` and ``degrade`` (the real-world LR degradations)
import without TensorFlow; ``edges`` (TF ops) is
loaded on first use of one of its names.
"""
from .dataset import build_manifest, load_manifest, make_dataset
from .degrade import DegradationConfig, degrade
from .io import IMAGE_EXTENSIONS, ImageReadError, list_images, read_image, to_rgb_uint8, write_image
from .resize import imresize, mod_crop, tf_imresize
from .synthetic import default_data_dir, ensure_synthetic_set, generate_skin_image, write_synthetic_set

_EDGE_NAMES = ("canny", "canny_tf", "canny_np_batch", "gradient_map", "sobel_gradient_map",
               "nearest_upsample", "dilate_lr", "to_grey")

__all__ = ["IMAGE_EXTENSIONS", "ImageReadError", "read_image", "to_rgb_uint8", "write_image",
           "list_images", "imresize", "mod_crop", "tf_imresize", "generate_skin_image",
           "write_synthetic_set", "default_data_dir", "ensure_synthetic_set", "build_manifest",
           "load_manifest", "make_dataset", "degrade", "DegradationConfig", *_EDGE_NAMES]


def __getattr__(name):
    if name in _EDGE_NAMES:
        from . import edges

        return getattr(edges, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
