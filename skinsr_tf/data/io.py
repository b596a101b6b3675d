"""Reading and writing images: every file becomes an (H, W, 3) uint8 RGB array.

One exception type, :class:`ImageReadError`, covers every bad file (missing, empty, truncated,
not an image, too large) and its message names the file and the problem.
"""
from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and the problem."""


# ----------------------------------------------------------------------------------------------
# in-memory normalisation


def _uint16_to_uint8(a: np.ndarray) -> np.ndarray:
    # 65535 -> 255 exactly; rounding, not truncation (v >> 8).
    return np.round(a.astype(np.float64) / 257.0).astype(np.uint8)


def _array_to_rgb_uint8(a: np.ndarray, *, is_16bit: bool | None = None) -> np.ndarray:
    """Normalise an ndarray (grey, grey+alpha, RGB, RGBA; uint8/uint16/bool/float) to RGB uint8."""
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"expected an image of shape (H,W), (H,W,1..4); got shape {a.shape}")
    # drop alpha: grey+alpha -> grey, RGBA -> RGB
    if a.shape[2] in (2, 4):
        a = a[..., :-1]
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint8:
        pass
    elif a.dtype == np.uint16 or is_16bit:
        a = _uint16_to_uint8(np.clip(a, 0, 65535))
    elif np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise ValueError("float image contains NaN or inf")
        a = np.round(np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo < 0 or hi > 65535:
            raise ValueError(f"integer image with values {lo}..{hi}: expected 0..255 or 0..65535")
        a = a.astype(np.uint8) if hi <= 255 else _uint16_to_uint8(a)
    else:
        raise ValueError(f"unsupported image dtype {a.dtype}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a)


def _pil_to_rgb_uint8(im) -> np.ndarray:
    from PIL import ImageOps

    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in ("RGB", "L"):
        return _array_to_rgb_uint8(np.asarray(im))
    if mode in ("RGBA", "LA"):
        return _array_to_rgb_uint8(np.asarray(im))
    if mode == "1":
        return _array_to_rgb_uint8(np.asarray(im.convert("L")))
    if mode.startswith("I;16") or mode == "I":
        # 16-bit grey (PNG/TIFF); mode "I" from 16-bit PNGs holds 0..65535.
        a = np.asarray(im).astype(np.int64)
        return _array_to_rgb_uint8(np.clip(a, 0, 65535).astype(np.uint16))
    if mode == "F":
        a = np.asarray(im).astype(np.float64)
        if a.size and a.max() > 1.0:  # a float image in 0..255 rather than 0..1
            a = a / 255.0
        return _array_to_rgb_uint8(a)
    if mode == "P" or mode == "PA":
        return _array_to_rgb_uint8(np.asarray(im.convert("RGBA")))
    # CMYK, YCbCr, LAB, HSV, ...
    return _array_to_rgb_uint8(np.asarray(im.convert("RGB")))


def to_rgb_uint8(image) -> np.ndarray:
    """Normalise an in-memory image to (H, W, 3) uint8 RGB.

    Accepts a PIL image (EXIF orientation applied) or an ndarray: grey (H,W)/(H,W,1), grey+alpha,
    RGB, RGBA; uint8, uint16 (scaled by 255/65535 and rounded), bool, or float in [0, 1] (clipped,
    rounded). Alpha is dropped, not composited. A path is read with :func:`read_image`.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        return _pil_to_rgb_uint8(image)
    if hasattr(image, "numpy") and not isinstance(image, np.ndarray):  # tf / torch tensors
        image = image.numpy()
    return _array_to_rgb_uint8(np.asarray(image))


# ----------------------------------------------------------------------------------------------
# 16-bit colour PNG: Pillow reduces RGB;16 to 8 bits by truncation, so decode those ourselves.


def _png_header(data: bytes):
    if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return width, height, depth, ctype, interlace


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _decode_png16_colour(data: bytes, width: int, height: int, channels: int) -> np.ndarray:
    """Decode a non-interlaced 16-bit RGB/RGBA PNG to uint16 (H, W, C)."""
    idat, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + length])
        elif kind == b"IEND":
            break
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    bpp = 2 * channels
    stride = width * bpp
    if raw.size < height * (stride + 1):
        raise ValueError("PNG image data is truncated")
    rows = raw[: height * (stride + 1)].reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        ftype, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 255
        elif ftype == 1:
            # running sum per byte lane of a pixel (mod 256)
            cur = (np.cumsum(line.reshape(width, bpp), axis=0) & 255).reshape(-1)
        elif ftype in (3, 4):
            cur = line.copy()
            for x in range(0, stride, bpp):  # sequential along the row, vectorised over a pixel
                left = cur[x - bpp:x] if x else np.zeros(bpp, np.int32)
                up = prev[x:x + bpp]
                if ftype == 3:
                    pred = (left + up) >> 1
                else:
                    upleft = prev[x - bpp:x] if x else np.zeros(bpp, np.int32)
                    pred = _paeth(left, up, upleft)
                cur[x:x + bpp] = (cur[x:x + bpp] + pred) & 255
        else:
            raise ValueError(f"bad PNG filter type {ftype}")
        out[y] = cur
        prev = cur
    b = out.astype(np.uint16).reshape(height, width, channels, 2)
    return (b[..., 0] << 8) | b[..., 1]


# ----------------------------------------------------------------------------------------------
# files


def read_image(path) -> np.ndarray:
    """Read PNG/JPEG/TIFF/BMP as (H, W, 3) uint8 RGB.

    EXIF orientation is applied, grey becomes RGB, alpha is dropped, 16-bit data is scaled to 8-bit
    (round(v / 257)). Images over PIL's ``Image.MAX_IMAGE_PIXELS`` are refused as decompression
    bombs. Raises :class:`ImageReadError` naming the file and the problem.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path}: file not found")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a directory, not an image file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImageReadError(f"{path}: cannot read file ({e.strerror or e})") from e
    if len(data) == 0:
        raise ImageReadError(f"{path}: file is empty (0 bytes)")

    import io as _io

    limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(_io.BytesIO(data))
            w, h = im.size
            if limit is not None and w * h > limit:
                raise Image.DecompressionBombError(f"{w}x{h}")
            header = _png_header(data)
            if (header and header[2] == 16 and header[3] in (2, 6) and header[4] == 0):
                arr = _decode_png16_colour(data, header[0], header[1], 3 if header[3] == 2 else 4)
                return _array_to_rgb_uint8(arr)
            if im.format == "TIFF" and _tiff_needs_tifffile(im):
                return _read_tiff16(data, path)
            im.load()
            return _pil_to_rgb_uint8(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageReadError(
            f"{path}: image too large ({e}); refused as a possible decompression bomb "
            f"(limit PIL.Image.MAX_IMAGE_PIXELS = {limit} pixels; raise it if you trust the file)"
        ) from e
    except UnidentifiedImageError as e:
        raise ImageReadError(f"{path}: not a recognised image file (PNG, JPEG, TIFF, BMP)") from e
    except ImageReadError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error) as e:
        msg = str(e)
        if "truncated" in msg.lower() or isinstance(e, (EOFError, zlib.error)):
            raise ImageReadError(f"{path}: image file is truncated or corrupt ({msg})") from e
        raise ImageReadError(f"{path}: cannot decode image ({msg})") from e


def _tiff_needs_tifffile(im) -> bool:
    # Pillow cannot decode multi-channel 16-bit TIFFs (or reduces them by truncation).
    bits = im.tag_v2.get(258) if hasattr(im, "tag_v2") else None
    if bits is None:
        return False
    bits = bits if isinstance(bits, tuple) else (bits,)
    spp = im.tag_v2.get(277, 1)
    return max(bits) == 16 and spp >= 3


def _read_tiff16(data: bytes, path: Path) -> np.ndarray:
    import io as _io

    try:
        import tifffile
    except ImportError as e:
        raise ImageReadError(
            f"{path}: 16-bit colour TIFF needs the 'tifffile' package (pip install tifffile)"
        ) from e
    arr = tifffile.imread(_io.BytesIO(data))
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar config
    return _array_to_rgb_uint8(arr)


def write_image(path, image) -> Path:
    """Write an RGB image (uint8, or anything :func:`to_rgb_uint8` accepts); format from the
    extension; parent folders are created. JPEGs are written at quality 95."""
    from PIL import Image

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise ValueError(f"{path}: unsupported extension {ext!r}; use one of {IMAGE_EXTENSIONS}")
    arr = to_rgb_uint8(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"quality": 95} if ext in (".jpg", ".jpeg") else {}
    Image.fromarray(arr, "RGB").save(path, **kwargs)
    return path


def list_images(folder, recursive: bool = True) -> list[Path]:
    """Image files (by extension, case-insensitive) under ``folder``, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a directory")
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
