import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from skinsr_tf.data.io import (IMAGE_EXTENSIONS, ImageReadError, list_images, read_image,
                               to_rgb_uint8, write_image)


def _rgb(h=12, w=10, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png16_rgb(path, arr16, filters=(0,)):
    """Minimal 16-bit RGB PNG writer (rows use the given filter types cyclically)."""
    h, w, c = arr16.shape
    raw = arr16.astype(">u2").tobytes()
    stride = w * c * 2
    bpp = c * 2
    rows, prev = [], np.zeros(stride, np.int32)
    for y in range(h):
        line = np.frombuffer(raw[y * stride:(y + 1) * stride], np.uint8).astype(np.int32)
        f = filters[y % len(filters)]
        left = np.concatenate([np.zeros(bpp, np.int32), line[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        if f == 0:
            enc = line
        elif f == 1:
            enc = line - left
        elif f == 2:
            enc = line - prev
        elif f == 3:
            enc = line - ((left + prev) >> 1)
        else:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            enc = line - pred
        rows.append(bytes([f]) + (enc & 255).astype(np.uint8).tobytes())
        prev = line

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2 if c == 3 else 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".tiff"])
def test_lossless_roundtrip(tmp_path, ext):
    img = _rgb()
    p = write_image(tmp_path / "sub" / f"a{ext}", img)
    out = read_image(p)
    assert out.dtype == np.uint8 and out.shape == (12, 10, 3)
    np.testing.assert_array_equal(out, img)


def test_jpeg(tmp_path):
    img = np.full((16, 16, 3), (200, 120, 90), np.uint8)
    out = read_image(write_image(tmp_path / "a.jpg", img))
    assert out.shape == (16, 16, 3) and np.abs(out.astype(int) - img).max() <= 3


def test_exif_orientation_applied(tmp_path):
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, :5] = 255  # white band on the left
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6  # rotate 90 CW to display
    pil.save(tmp_path / "o.jpg", exif=exif, quality=95)
    out = read_image(tmp_path / "o.jpg")
    assert out.shape == (20, 10, 3)
    assert out[:5].mean() > 200 and out[-5:].mean() < 50  # the band is now on top


def test_grey_alpha_palette(tmp_path):
    g = np.arange(60, dtype=np.uint8).reshape(6, 10)
    Image.fromarray(g, "L").save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), np.repeat(g[..., None], 3, 2))
    rgba = np.dstack([_rgb(6, 10), np.full((6, 10), 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgba[..., :3])  # dropped
    Image.fromarray(_rgb(6, 10)).convert("P").save(tmp_path / "p.bmp")
    assert read_image(tmp_path / "p.bmp").shape == (6, 10, 3)


def test_16bit_grey_png_and_tiff_scaled_not_truncated(tmp_path):
    v = np.array([[0, 200, 3000, 32896, 65535, 65279]], np.uint16)
    expected = np.round(v / 257.0).astype(np.uint8)  # 0, 1, 12, 128, 255, 254
    assert not np.array_equal(expected, (v >> 8).astype(np.uint8))
    Image.fromarray(v).save(tmp_path / "g16.png")
    np.testing.assert_array_equal(read_image(tmp_path / "g16.png")[..., 0], expected)
    import tifffile

    rgb16 = np.stack([v, v[:, ::-1], v], -1)
    tifffile.imwrite(tmp_path / "c16.tif", rgb16)
    np.testing.assert_array_equal(read_image(tmp_path / "c16.tif"),
                                  np.round(rgb16 / 257.0).astype(np.uint8))


@pytest.mark.parametrize("filters", [(0,), (1, 2, 3, 4)])
def test_16bit_rgb_png(tmp_path, filters):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    _png16_rgb(tmp_path / "c.png", a, filters)
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), np.round(a / 257.0).astype(np.uint8))


@pytest.mark.parametrize("filter_type", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_png_every_filter_matches_the_data_and_pillow(tmp_path, filter_type, channels):
    a = np.random.default_rng(filter_type).integers(0, 65536, (9, 11, channels)).astype(np.uint16)
    _png16_rgb(tmp_path / "c.png", a, (filter_type,))
    from skinsr_tf.data.io import _decode_png16_colour

    decoded = _decode_png16_colour((tmp_path / "c.png").read_bytes())
    np.testing.assert_array_equal(decoded, a)  # all 16 bits, every pixel
    with Image.open(tmp_path / "c.png") as im:  # Pillow keeps the high byte of each sample
        np.testing.assert_array_equal(np.asarray(im.convert("RGBA" if channels == 4 else "RGB")), a >> 8)
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), np.round(a[..., :3] / 257.0).astype(np.uint8))


def test_16bit_colour_png_is_fast(tmp_path):
    import time

    a = np.random.default_rng(0).integers(0, 65536, (512, 512, 3)).astype(np.uint16)
    _png16_rgb(tmp_path / "c.png", a, (3, 4))  # average and Paeth rows: per-pixel loops before
    t0 = time.perf_counter()
    read_image(tmp_path / "c.png")
    assert time.perf_counter() - t0 < 1.0


def test_16bit_colour_png_with_oversized_idat_stays_bounded(tmp_path):
    """1000x1000 declared, 512 MiB of compressed zeros carried: memory stays near the declared size."""
    comp = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    idat = b"".join(comp.compress(zeros) for _ in range(512)) + comp.flush()

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1000, 1000, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    # VmHWM: this process's peak resident memory (ru_maxrss would include the forking parent's).
    code = ("import re, sys\n"
            "from skinsr_tf.data.io import ImageReadError, read_image\n"
            "try:\n    read_image(sys.argv[1])\nexcept ImageReadError as e:\n    print(e)\n"
            "hwm = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "print('peak_mb', int(hwm) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    peak = int(out.stdout.split("peak_mb")[1])
    assert peak < 400, out.stdout  # the whole stream inflated is 512 MiB


@pytest.mark.parametrize("kind, problem", [
    ("missing", "not found"), ("empty", "empty"), ("text", "not a recognised image"),
    ("truncated", "truncated"), ("dir", "directory")])
def test_bad_files_raise_named_error(tmp_path, kind, problem):
    p = tmp_path / "bad.png"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("this is not an image\n")
    elif kind == "truncated":
        Image.fromarray(_rgb(64, 64)).save(p)
        p.write_bytes(p.read_bytes()[:200])
    elif kind == "dir":
        p.mkdir()
    with pytest.raises(ImageReadError, match=problem) as ei:
        read_image(p)
    assert str(p) in str(ei.value)
    assert isinstance(ei.value, ValueError)


def test_truncated_jpeg(tmp_path):
    p = tmp_path / "t.jpg"
    Image.fromarray(_rgb(64, 64)).save(p, quality=90)
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(ImageReadError, match="t.jpg"):
        read_image(p)


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    p = write_image(tmp_path / "big.png", _rgb(40, 40))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageReadError, match="decompression bomb") as ei:
        read_image(p)
    assert "big.png" in str(ei.value)


def test_to_rgb_uint8_inputs():
    rgb = _rgb(4, 5)
    np.testing.assert_array_equal(to_rgb_uint8(rgb), rgb)
    np.testing.assert_array_equal(to_rgb_uint8(Image.fromarray(rgb)), rgb)
    grey = rgb[..., 0]
    np.testing.assert_array_equal(to_rgb_uint8(grey), np.repeat(grey[..., None], 3, 2))
    np.testing.assert_array_equal(to_rgb_uint8(grey[..., None]), np.repeat(grey[..., None], 3, 2))
    rgba = np.dstack([rgb, np.zeros((4, 5), np.uint8)])
    np.testing.assert_array_equal(to_rgb_uint8(rgba), rgb)
    np.testing.assert_array_equal(to_rgb_uint8(rgb.astype(np.uint16) * 257), rgb)
    f = np.array([[0.0, 0.5, 1.0, 1.7, -0.2]])
    np.testing.assert_array_equal(to_rgb_uint8(f)[0, :, 0], [0, 128, 255, 255, 0])
    assert to_rgb_uint8(Image.fromarray(grey, "L")).shape == (4, 5, 3)
    with pytest.raises(ValueError):
        to_rgb_uint8(np.zeros((4, 5, 7)))
    with pytest.raises(ValueError):
        to_rgb_uint8(np.full((2, 2), np.nan))


def test_list_images(tmp_path):
    for rel in ["b.png", "a.JPG", "sub/c.tif", "sub/deeper/d.bmp", "notes.txt", "e.gif"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    names = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert names == sorted(names) == ["a.JPG", "b.png", "sub/c.tif", "sub/deeper/d.bmp"]
    assert [p.name for p in list_images(tmp_path, recursive=False)] == ["a.JPG", "b.png"]
    assert ".png" in IMAGE_EXTENSIONS


def test_write_image_rejects_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        write_image(tmp_path / "a.gif", _rgb())


def test_no_tensorflow_at_import():
    code = ("import sys, skinsr_tf.data, skinsr_tf.data.io, skinsr_tf.data.resize,"
            " skinsr_tf.data.synthetic, skinsr_tf.data.dataset;"
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
