"""Procedural skin photographs for tests, demos and smoke training (no real lesion images ship).

Each image: a skin tone (six Fitzpatrick-like tones), blotchy erythema and tone variation, pores and
the fine criss-cross microrelief of skin lines, an optional pigmented lesion with a fractal border
and brown / dark / blue-grey / red colour variation, hairs, wrinkles, fingerprint-like ridges on some
images (the report's hard cases were hairs, wrinkles and fingerprints), a mild illumination gradient
and sensor noise. Deterministic per seed; vectorised NumPy/SciPy.

Command line: ``skinsr-tf synth -o DIR [--n 48 --size 256 --seed 0]`` (also ``python -m skinsr_tf.data.synthetic``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

# sRGB skin tones, Fitzpatrick I..VI (approximate, from dermatology colour charts)
SKIN_TONES = np.array([
    [236, 200, 178],
    [224, 178, 148],
    [201, 150, 113],
    [168, 116, 82],
    [121, 80, 56],
    [82, 54, 40],
], dtype=np.float64) / 255.0

DEFAULT_N = 48
DEFAULT_SIZE = 256


# Seeds of the held-out set (default evaluation data); the shipped weights trained on seeds 0..159.
HELDOUT_SEED = 100_000
HELDOUT_N = 24

def _fbm(h, w, rng, beta=2.0, cutoff=1.0):
    """Fractal (1/f^beta) noise, zero mean, unit std. ``cutoff`` in cycles/px scales the lowest
    wavelengths kept (values < 1 drop the finest detail)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fy * fy + fx * fx)
    f[0, 0] = 1.0
    amp = f ** (-beta / 2.0)
    amp[0, 0] = 0.0
    if cutoff < 1.0:
        amp *= np.exp(-(f / cutoff) ** 2)
    spec = (rng.standard_normal((h, fx.shape[1])) + 1j * rng.standard_normal((h, fx.shape[1]))) * amp
    n = np.fft.irfft2(spec, s=(h, w))
    return (n - n.mean()) / (n.std() + 1e-12)


def _smooth_curves(rng, h, w, n_curves, length, wiggle, step=0.35):
    """Random smooth curves as (ys, xs, t) sample arrays (t = 0..1 position along each curve)."""
    ys, xs, ts, ids = [], [], [], []
    for i in range(n_curves):
        n = max(int(length[i] / step), 2)
        y0, x0 = rng.uniform(-0.1 * h, 1.1 * h), rng.uniform(-0.1 * w, 1.1 * w)
        theta0 = rng.uniform(0, 2 * np.pi)
        # heading = smooth random walk
        turns = ndi.gaussian_filter1d(rng.standard_normal(n), sigma=n / 6, mode="nearest")
        turns = turns / (np.abs(turns).max() + 1e-9) * wiggle[i] / n * 40
        heading = theta0 + np.cumsum(turns)
        ys.append(y0 + np.cumsum(np.sin(heading)) * step)
        xs.append(x0 + np.cumsum(np.cos(heading)) * step)
        ts.append(np.linspace(0, 1, n))
        ids.append(np.full(n, i))
    return np.concatenate(ys), np.concatenate(xs), np.concatenate(ts), np.concatenate(ids)


def _splat(h, w, ys, xs, vals):
    """Accumulate point values into an (h, w) image with bilinear weights."""
    img = np.zeros((h + 2, w + 2))
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    ok = (y0 >= -1) & (y0 < h) & (x0 >= -1) & (x0 < w)
    y0, x0, fy, fx, vals = y0[ok] + 1, x0[ok] + 1, fy[ok], fx[ok], vals[ok]
    for dy, dx, wt in ((0, 0, (1 - fy) * (1 - fx)), (1, 0, fy * (1 - fx)),
                       (0, 1, (1 - fy) * fx), (1, 1, fy * fx)):
        np.add.at(img, (y0 + dy, x0 + dx), wt * vals)
    return img[1:-1, 1:-1]


def _lesion(rng, h, w, yy, xx):
    """Pigmented lesion: (alpha mask, RGB colour field)."""
    size = min(h, w)
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    radius = rng.uniform(0.12, 0.3) * size
    ang = np.arctan2(yy - cy, xx - cx)
    aspect = rng.uniform(0.7, 1.3)
    rot = rng.uniform(0, np.pi)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(rot) + dy * np.sin(rot)
    v = (-dx * np.sin(rot) + dy * np.cos(rot)) * aspect
    dist = np.sqrt(u * u + v * v)
    # asymmetric lobes + fractal border
    harm = sum(rng.uniform(0, 0.18) / k * np.cos(k * ang + rng.uniform(0, 2 * np.pi))
               for k in range(2, 7))
    border = _fbm(h, w, rng, beta=3.0) * rng.uniform(0.06, 0.14)
    border += _fbm(h, w, rng, beta=2.2, cutoff=0.15) * rng.uniform(0.0, 0.03)
    field = dist / (radius * (1 + harm)) + border
    soft = rng.uniform(0.04, 0.15)
    alpha = np.clip((1.0 - field) / soft, 0, 1)
    alpha = ndi.gaussian_filter(alpha, 1.0)

    # colours: light to dark brown body, darker centre / network, optional blue-grey and red areas
    light = np.array([0.62, 0.42, 0.28]) * rng.uniform(0.8, 1.1)
    dark = np.array([0.25, 0.14, 0.09]) * rng.uniform(0.6, 1.2)
    inner = np.clip(1.0 - field, 0, 1) ** rng.uniform(0.4, 1.0)
    var = 0.5 + 0.5 * np.tanh(1.0 * _fbm(h, w, rng, beta=3.2) + 0.2 * _fbm(h, w, rng, beta=1.8)
                              + 2.0 * (inner - 0.45) + rng.uniform(-0.6, 0.6))
    col = light[None, None] * (1 - var[..., None]) + dark[None, None] * var[..., None]
    # pigment network: a warped honeycomb-like grid of darker lines
    if rng.random() < 0.6:
        cell = rng.uniform(1.2, 2.2)
        noise = rng.standard_normal((h, w))
        band = ndi.gaussian_filter(noise, cell) - ndi.gaussian_filter(noise, 2 * cell)
        band /= band.std() + 1e-12
        net = np.exp(-(band / 0.35) ** 2)  # zero-crossings of band-passed noise: a mesh
        col *= (1 - rng.uniform(0.2, 0.4) * net * inner)[..., None]
    # dots / globules
    n_dots = int(rng.integers(5, 40))
    dots = np.zeros((h, w))
    dy_ = rng.normal(cy, radius * 0.5, n_dots).clip(0, h - 1).astype(int)
    dx_ = rng.normal(cx, radius * 0.5, n_dots).clip(0, w - 1).astype(int)
    dots[dy_, dx_] = rng.uniform(0.5, 1.0, n_dots)
    dots = ndi.gaussian_filter(dots, rng.uniform(0.8, 2.0))
    dots = np.clip(dots / (dots.max() + 1e-9), 0, 1) * alpha
    col = col * (1 - 0.6 * dots[..., None]) + np.array([0.12, 0.07, 0.06]) * 0.6 * dots[..., None]
    # blue-grey veil (melanoma-like) and red (vascular / inflamed) regions
    if rng.random() < 0.4:
        veil = np.clip(_fbm(h, w, rng, beta=3.0) - 0.3, 0, 1) * inner
        col = col * (1 - 0.5 * veil[..., None]) + np.array([0.40, 0.43, 0.48]) * 0.5 * veil[..., None]
    if rng.random() < 0.35:
        red = np.clip(_fbm(h, w, rng, beta=3.0) - 0.5, 0, 1) * alpha
        col = col * (1 - 0.4 * red[..., None]) + np.array([0.58, 0.25, 0.22]) * 0.4 * red[..., None]
    return alpha * rng.uniform(0.85, 1.0), col


def generate_skin_image(height: int = 256, width: int = 256, seed: int = 0) -> np.ndarray:
    """A procedural skin photograph as (height, width, 3) uint8 RGB, deterministic per ``seed``."""
    h, w = int(height), int(width)
    if h < 8 or w < 8:
        raise ValueError(f"image too small: {h}x{w} (minimum 8x8)")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    size = min(h, w)
    zoom = rng.uniform(0.7, 1.4)  # texture scale: px per "micro-unit"

    # base tone, with tone variation and blotchy erythema
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    lo = int(np.floor(t))
    tone = SKIN_TONES[lo] * (1 - (t - lo)) + SKIN_TONES[min(lo + 1, 5)] * (t - lo)
    img = np.broadcast_to(tone, (h, w, 3)).copy()
    low = _fbm(h, w, rng, beta=3.2)
    img *= (1 + 0.05 * low)[..., None]
    ery = np.clip(_fbm(h, w, rng, beta=3.2), 0, None) * rng.uniform(0.01, 0.05) * tone[0]
    img += ery[..., None] * np.array([0.4, -0.35, -0.3])
    # freckles / melanin speckle
    freck = np.clip(_fbm(h, w, rng, beta=1.6) - 2.0, 0, None)
    img *= (1 - 0.15 * ndi.gaussian_filter(freck, 0.8))[..., None] ** np.array([0.6, 1.0, 1.2])

    # microrelief: criss-cross skin lines (two or three warped line families)
    relief = np.zeros((h, w))
    warp = _fbm(h, w, rng, beta=2.8) * 4.0
    for _ in range(int(rng.integers(2, 4))):
        th = rng.uniform(0, np.pi)
        period = rng.uniform(9, 18) * zoom
        ph = (xx * np.cos(th) + yy * np.sin(th) + warp) * 2 * np.pi / period
        relief += np.exp(-((1 - np.cos(ph)) * rng.uniform(2.5, 5.0)))
    relief *= np.clip(0.6 + 0.4 * _fbm(h, w, rng, beta=2.0), 0, 1)
    shade = -0.06 * relief
    # pores: small dark pits with a slight rim
    n_pores = int(h * w / (140 * zoom ** 2))
    pores = np.zeros((h, w))
    pores[rng.integers(0, h, n_pores), rng.integers(0, w, n_pores)] = rng.uniform(0.5, 1, n_pores)
    pores = ndi.gaussian_filter(pores, 0.9 * zoom) * (2 * np.pi * (0.9 * zoom) ** 2)
    shade -= 0.12 * np.clip(pores, 0, 1.5)
    # fine texture
    shade += 0.025 * _fbm(h, w, rng, beta=0.8, cutoff=0.3)

    # wrinkles: long gently curved creases, dark valley with a light shoulder
    if rng.random() < 0.6:
        n_w = int(rng.integers(1, 5))
        wys, wxs, wts, _ = _smooth_curves(rng, h, w, n_w, rng.uniform(0.8, 1.6, n_w) * size,
                                          rng.uniform(0.2, 0.8, n_w))
        depth = np.sin(np.pi * wts) ** 0.5
        crease = _splat(h, w, wys, wxs, depth * 0.35)
        crease = ndi.gaussian_filter(crease, rng.uniform(0.8, 1.6))
        shoulder = ndi.gaussian_filter(crease, 3.0)
        shade += -1.6 * crease + 0.9 * shoulder

    # fingerprint-like ridges (dermatoglyphics), on about a third of the images
    if rng.random() < 0.33:
        cy, cx = rng.uniform(-0.2, 1.2) * h, rng.uniform(-0.2, 1.2) * w
        r = np.sqrt(((yy - cy) * rng.uniform(0.6, 1.0)) ** 2 + (xx - cx) ** 2)
        ang = np.arctan2(yy - cy, xx - cx)
        period = rng.uniform(6.0, 9.0)
        phase = 2 * np.pi * (r + 6 * _fbm(h, w, rng, beta=3.5) + 3 * np.sin(2 * ang)) / period
        ridges = 0.5 + 0.5 * np.cos(phase)
        region = np.clip(0.5 + 0.6 * _fbm(h, w, rng, beta=3.5), 0, 1)
        shade += (-0.12 * ridges + 0.04) * region
        relief_scale = 1 - 0.7 * region  # ridged skin has little criss-cross relief
        shade = shade * (1 - 0.5 * (1 - relief_scale))
    img *= (1 + shade)[..., None]

    # pigmented lesion (most images)
    if rng.random() < 0.85:
        alpha, col = _lesion(rng, h, w, yy, xx)
        texture = (1 + 0.6 * shade)[..., None]  # skin relief still shows through pigment
        img = img * (1 - alpha[..., None]) + col * texture * alpha[..., None]

    # hairs: thin dark curved strands
    if rng.random() < 0.65:
        n_h = int(rng.integers(2, 12))
        hys, hxs, hts, hid = _smooth_curves(rng, h, w, n_h, rng.uniform(0.3, 0.9, n_h) * size,
                                            rng.uniform(0.02, 0.25, n_h), step=0.3)
        thick = rng.uniform(0.25, 0.7, n_h)[hid] * (0.6 + 0.4 * np.sin(np.pi * hts) ** 0.3)
        cov = _splat(h, w, hys, hxs, thick * 0.3)
        cov = np.clip(ndi.gaussian_filter(cov, 0.5) * 3.2, 0, 1)
        hair_col = np.array([0.10, 0.07, 0.05]) * rng.uniform(0.4, 2.5)
        opacity = rng.uniform(0.6, 0.9)
        img = img * (1 - opacity * cov[..., None]) + hair_col * opacity * cov[..., None]

    # illumination: gradient + vignette, a slight colour cast, sensor noise
    gy, gx = rng.normal(0, 1, 2)
    ramp = (gy * (yy / h - 0.5) + gx * (xx / w - 0.5)) * rng.uniform(0.06, 0.18)
    vig = ((yy / h - 0.5) ** 2 + (xx / w - 0.5) ** 2) * rng.uniform(0.0, 0.35)
    img *= (1 + ramp - vig)[..., None] * rng.uniform(0.96, 1.04, 3)
    img += rng.normal(0, 0.006, img.shape)
    img = ndi.gaussian_filter(img, (0.45, 0.45, 0))  # optics
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def write_synthetic_set(out_dir, n: int = DEFAULT_N, size: int = DEFAULT_SIZE, seed: int = 0) -> list[Path]:
    """Write ``n`` PNGs ``skin_{i:04d}.png`` (size x size) to ``out_dir``; image i uses seed+i."""
    from .io import write_image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(int(n)):
        p = out / f"skin_{i:04d}.png"
        write_image(p, generate_skin_image(size, size, seed=seed + i))
        paths.append(p)
    return paths


def default_data_dir() -> Path:
    """``$SKINSR_TF_HOME/synthetic_skin`` (default ``~/.cache/skinsr_tf/synthetic_skin``)."""
    from .io import cache_home

    return cache_home() / "synthetic_skin"


def ensure_synthetic_set(n: int = DEFAULT_N, size: int = DEFAULT_SIZE, seed: int = 0,
                         out_dir=None) -> Path:
    """Generate the synthetic set once (idempotent) and return its folder.

    The folder is ``default_data_dir()/n{n}_s{size}_seed{seed}`` unless ``out_dir`` is given; a
    ``.complete`` marker is written last so an interrupted run is regenerated.
    """
    from .io import atomic_write

    folder = Path(out_dir) if out_dir is not None else default_data_dir() / f"n{n}_s{size}_seed{seed}"
    marker = folder / ".complete"
    if marker.exists() and len(list(folder.glob("skin_*.png"))) >= n:
        return folder
    write_synthetic_set(folder, n=n, size=size, seed=seed)
    with atomic_write(marker, "w") as f:
        f.write(f"n={n} size={size} seed={seed}\n")
    return folder


def main(argv=None) -> int:
    """``python -m skinsr_tf.data.synthetic ...`` is ``skinsr-tf synth ...`` (one command, one set of defaults)."""
    import sys

    from skinsr_tf.cli import main as cli_main

    return cli_main(["synth", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
