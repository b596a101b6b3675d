"""Reading and writing images: every file becomes an (H, W, 3) uint8 RGB array.

One exception type, :class:`ImageReadError`, covers every bad file (missing, empty, truncated,
not an image, too large) and its message names the file and the problem. :func:`atomic_write` is
how the package writes every file (images, tables, figures, manifests, checkpoints, study files):
a reader or a later run sees the old file or the complete new one, never a partial one.
"""
from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and the problem."""


def cache_home() -> Path:
    """Where the package caches files: ``$SKINSR_TF_HOME``, default ``~/.cache/skinsr_tf``."""
    home = os.environ.get("SKINSR_TF_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "skinsr_tf"


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
# 16-bit colour PNG: Pillow reduces RGB;16 to 8 bits by truncation; OpenCV (libpng) reads all 16.


def _png_header(data: bytes):
    if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return width, height, depth, ctype, interlace


def _decode_png16_colour(data: bytes) -> np.ndarray:
    """Decode a 16-bit RGB/RGBA PNG to uint16 (H, W, 3 or 4) with OpenCV.

    The caller checks the size declared in the header first; libpng inflates only the rows the
    header declares, so surplus compressed data cannot grow memory beyond that.
    """
    try:
        import cv2
    except ImportError as e:  # pragma: no cover - opencv-python-headless is a dependency
        raise ValueError("16-bit colour PNG needs OpenCV (pip install opencv-python-headless)") from e
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError("PNG image data is truncated or corrupt (OpenCV could not decode it)")
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)


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
            if header and header[2] == 16 and header[3] in (2, 6):
                return _array_to_rgb_uint8(_decode_png16_colour(data))
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, private=False, **open_kwargs):
    """Write ``path`` atomically: a temporary file in the same folder, then ``os.replace``.

    Yields an open file (``mode``: "wb", "w", ...; ``open_kwargs`` go to :func:`open`), or with
    ``mode=None`` the temporary file's path (same extension as ``path``) for writers that insist
    on a file name. On success the data is flushed to disk and renamed over ``path``; on any error
    (a full disk, an exception in the ``with`` body) the temporary file is removed and ``path`` is
    untouched. Temporary names start with a dot and never end in an image extension, so a kill -9
    leaves nothing that looks like an output. ``private``: mode 0600 instead of the umask's default.
    Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".tmp" + ("".join(path.suffixes) if mode is None else "")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        if mode is None:
            os.close(fd)
            yield Path(tmp)
        else:
            with os.fdopen(fd, mode, **open_kwargs) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o600 if private else 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_image(path, image) -> Path:
    """Write an RGB image (uint8, or anything :func:`to_rgb_uint8` accepts) atomically; format
    from the extension; parent folders are created. JPEGs are written at quality 95."""
    from PIL import Image

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise ValueError(f"{path}: unsupported extension {ext!r}; use one of {IMAGE_EXTENSIONS}")
    arr = to_rgb_uint8(image)
    kwargs = {"quality": 95} if ext in (".jpg", ".jpeg") else {}
    Image.init()
    with atomic_write(path) as f:
        Image.fromarray(arr, "RGB").save(f, format=Image.EXTENSION[ext], **kwargs)
    return path


def list_images(folder, recursive: bool = True, errors: list | None = None) -> list[Path]:
    """Image files (by extension, case-insensitive; hidden files excluded) under ``folder``, sorted.

    A subfolder or entry that cannot be read (permissions, a symlink loop) is not skipped in
    silence: its message is appended to ``errors`` when a list is given, else it is warned about.
    An unreadable ``folder`` itself raises :class:`PermissionError` naming it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a directory")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise PermissionError(f"{folder}: folder is not readable (permission denied)")
    problems, found = [], []

    def report(err: OSError):
        problems.append(f"{err.filename}: cannot read ({err.strerror or err})")

    for top, dirs, files in os.walk(folder, onerror=report):
        dirs[:] = dirs if recursive else []
        for name in files:
            p = Path(top) / name
            if name.startswith(".") or p.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            try:
                os.stat(p)
            except OSError as err:  # a dangling link or a symlink loop
                report(err)
                continue
            if p.is_file():
                found.append(p)
    if errors is not None:
        errors.extend(problems)
    else:
        for message in problems:
            warnings.warn(message, stacklevel=2)
    return sorted(found)
