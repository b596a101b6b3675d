import pytest

from skinsr_tf.networks.presets import FAMILIES, PRESETS, get_preset


def test_every_family_at_every_size():
    for size in ("full", "small", "tiny"):
        for family in FAMILIES:
            kw = get_preset(family, size)
            assert kw["base_channels"] > 0
    assert get_preset("edgeconnect", "full") == {"base_channels": 64, "num_blocks": 8}
    assert get_preset("unetpp", "full")["base_channels"] == 32
    assert get_preset("unet", "full")["base_channels"] == 64


def test_sizes_are_ordered():
    for family in FAMILIES:
        ch = [get_preset(family, s)["base_channels"] for s in ("tiny", "small", "full")]
        assert ch == sorted(ch) and ch[0] < ch[-1]


def test_returns_copies():
    get_preset("edgeconnect", "tiny")["num_blocks"] = 99
    assert PRESETS["tiny"]["edgeconnect"]["num_blocks"] != 99


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown preset 'huge'.*full"):
        get_preset("unet", "huge")
    with pytest.raises(ValueError, match="unknown network family 'gan'"):
        get_preset("gan", "full")


def test_full_parameter_counts_plausible():
    """Full presets against the reference sizes (EdgeConnect exact: see test_edgeconnect)."""
    import numpy as np

    from skinsr_tf.networks import build_spsr_generator, build_unet, build_unetpp

    def n(m):
        return sum(int(np.prod(w.shape)) for w in m.trainable_weights)

    spsr = n(build_spsr_generator(**get_preset("spsr", "full")))
    unet = n(build_unet(4, **get_preset("unet", "full")))
    unetpp = n(build_unetpp(4, **get_preset("unetpp", "full")))
    assert 21e6 < spsr < 23e6  # two ~10.8 M EdgeConnect bodies + injections + fusion
    assert 11e6 < unet < 13e6  # one conv per block, 64..512 channels
    assert 0.4 < unetpp / unet < 0.7  # half the channels, two convs per block, dense skips
