"""Network sizes in one table: ``PRESETS[size][family]`` -> builder keyword arguments.

Sizes: "full" (the reference: 64 channels, 8 residual blocks; U-Net 64, U-Net++ 32),
"small" (trainable on 2 CPU cores in tens of minutes), "tiny" (unit tests: a full GAN step at
32-64 px, batch 2, well under a second). Families: "edgeconnect" (edge and SR generators),
"spsr", "unet", "unetpp", "discriminator". Importing this module does not import TensorFlow.
"""

import copy

FAMILIES = ("edgeconnect", "spsr", "unet", "unetpp", "discriminator")

PRESETS = {
    "full": {
        "edgeconnect": {"base_channels": 64, "num_blocks": 8},
        "spsr": {"base_channels": 64, "num_blocks": 8},
        "unet": {"base_channels": 64},
        "unetpp": {"base_channels": 32},
        "discriminator": {"base_channels": 64},
    },
    "small": {
        "edgeconnect": {"base_channels": 32, "num_blocks": 4},
        "spsr": {"base_channels": 32, "num_blocks": 4},
        "unet": {"base_channels": 32},
        "unetpp": {"base_channels": 16},
        "discriminator": {"base_channels": 32},
    },
    "tiny": {
        "edgeconnect": {"base_channels": 8, "num_blocks": 1},
        "spsr": {"base_channels": 8, "num_blocks": 1},
        "unet": {"base_channels": 8},
        "unetpp": {"base_channels": 4},
        "discriminator": {"base_channels": 8},
    },
}


def get_preset(family, name):
    """Builder kwargs (a fresh copy) of network ``family`` at size ``name``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown network family {family!r}; choose one of {list(FAMILIES)}")
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} for {family!r}; choose one of {list(PRESETS)}")
    return copy.deepcopy(PRESETS[name][family])
