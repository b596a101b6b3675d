"""Study inputs: match SR outputs across method folders, verify them, re-encode them blind."""

import io
from pathlib import Path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class StudyInputError(ValueError):
    """Bad study input; the message names every offending file or folder."""


def _folder_images(folder):
    """Map file stem -> path for the images directly inside ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StudyInputError(f"{folder}: not a folder")
    by_stem, problems = {}, []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            if path.stem in by_stem:
                problems.append(f"{path} and {by_stem[path.stem]}: two files with the same name {path.stem!r}")
            by_stem[path.stem] = path
    if not by_stem:
        problems.append(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    return by_stem, problems


def load_rgb(path):
    """Decode an image fully as an 8-bit RGB PIL image (EXIF orientation applied)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            im = im.point(lambda v: v / 257).convert("L")
        return im.convert("RGB")


def _check_image(path):
    """Return (width, height) or raise with the file name and PIL's reason."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
        im = load_rgb(path)
        return im.size
    except Exception as exc:  # PIL raises many types for broken files
        raise StudyInputError(f"{path}: unreadable image ({type(exc).__name__}: {exc})") from None


def scan_study_inputs(methods, hr=None):
    """Check the folders of a study and return ``{stem: {method: path}}`` and ``{stem: hr_path}``.

    ``methods`` maps method name -> folder. Every folder (and ``hr`` if given) must hold exactly the
    same image stems; every file must decode; the methods' outputs of one image must have the same
    size. All problems are collected and raised together as one StudyInputError.
    """
    if len(methods) < 2:
        raise StudyInputError("a study needs at least two methods (--method NAME=FOLDER twice or more)")
    folders = {name: Path(folder) for name, folder in methods.items()}
    if hr is not None:
        folders = {**folders, None: Path(hr)}
    problems, found = [], {}
    for name, folder in folders.items():
        try:
            found[name], errs = _folder_images(folder)
            problems += errs
        except StudyInputError as exc:
            problems.append(str(exc))
    if problems:
        raise StudyInputError("bad study input:\n  " + "\n  ".join(problems))
    all_stems = set().union(*(set(v) for v in found.values()))
    for name, by_stem in found.items():
        missing = sorted(all_stems - set(by_stem))
        if missing:
            others = {s: next(str(f[s]) for f in found.values() if s in f) for s in missing}
            label = "HR folder" if name is None else f"method {name!r}"
            problems += [f"{folders[name]}: no image named {s!r} for {label} (present as {others[s]})" for s in missing]
    sizes = {}
    for name, by_stem in found.items():
        for stem, path in by_stem.items():
            try:
                size = _check_image(path)
            except StudyInputError as exc:
                problems.append(str(exc))
                continue
            if name is not None:
                sizes.setdefault(stem, {})[path] = size
    for stem, by_path in sorted(sizes.items()):
        if len(set(by_path.values())) > 1:
            detail = ", ".join(f"{p} {w}x{h}" for p, (w, h) in by_path.items())
            problems.append(f"image {stem!r} has different sizes across methods: {detail}")
    if problems:
        raise StudyInputError("bad study input:\n  " + "\n  ".join(problems))
    table = {s: {m: found[m][s] for m in methods} for s in sorted(all_stems)}
    hr_paths = {s: found[None][s] for s in table} if hr is not None else {}
    return table, hr_paths


def blind_png(path):
    """Re-encode an image as PNG with no metadata (no text, EXIF, ICC, time chunks)."""
    from PIL import Image
    import numpy as np

    pixels = np.asarray(load_rgb(path))
    clean = Image.fromarray(pixels, "RGB")  # fresh image: empty .info, nothing to carry over
    buf = io.BytesIO()
    clean.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def cached_blind_png(path, cache_dir, key):
    """``blind_png`` with an on-disk cache under an opaque ``key`` (atomic writes, thread-safe;
    the folder and its files are private to the study's owner, like the study files)."""
    from skinsr_tf.data.io import atomic_write

    cache_dir = Path(cache_dir)
    target = cache_dir / f"{key}.png"
    try:
        return target.read_bytes()
    except FileNotFoundError:
        pass
    data = blind_png(path)
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with atomic_write(target, private=True) as f:
        f.write(data)
    return data
