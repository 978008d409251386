"""A small, offline image folder from skimage.data: for the shipped unit images and benchmarks.

The default model ships per-unit images computed over these (no ImageNet on a user's disk and no
download allowed), and `bench/find_max.py` scans them. What the set is: the 21 distinct photos and
drawings of `skimage.data` that load without network (`SET_NAMES`: `io.images.SAMPLE_SET_NAMES`
less `SAME_PHOTO`, loaded by `io.images.sample_image`), each written whole as ``<name>_0.jpg`` plus
``variants - 1`` random square crops (35-80 % of the short side, half of them mirrored) as
``<name>_<k>.jpg``, JPEG quality 90; the same seed gives the same files.

Distinct images only: skimage's ``cat`` is the same photo as ``chelsea``, so with both in the set a
unit's top-9 showed the same cat eye twice. ``cat`` is left out, but its crops are still drawn from
the random generator, so every other file is the same as in the sets written before (the shipped
find-max results stay valid for them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepvis_app.io.images import SAMPLE_SET_NAMES, sample_image, write_image

# Sample names whose image is another one's (skimage.data.cat() is chelsea): left out of the set.
SAME_PHOTO = {"cat": "chelsea"}
SET_NAMES = tuple(name for name in SAMPLE_SET_NAMES if name not in SAME_PHOTO)


def write_sample_set(folder: str | Path, variants: int = 4, seed: int = 0) -> list[Path]:
    """Write every distinct sample image (`SET_NAMES`) whole plus `variants - 1` random square crops;
    returns the paths."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    written = []
    for name in SAMPLE_SET_NAMES:
        image = sample_image(name)
        if name in SAME_PHOTO:   # draw its crops all the same: the other files stay as they were
            for _ in range(1, variants):
                _random_crop(image, rng)
            continue
        path = folder / f"{name}_0.jpg"
        write_image(path, image, quality=90)
        written.append(path)
        for variant in range(1, variants):
            path = folder / f"{name}_{variant}.jpg"
            write_image(path, _random_crop(image, rng), quality=90)
            written.append(path)
    return written


def _random_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    side = max(16, int(min(image.shape[:2]) * rng.uniform(0.35, 0.8)))
    top = int(rng.integers(0, image.shape[0] - side + 1))
    left = int(rng.integers(0, image.shape[1] - side + 1))
    crop = image[top:top + side, left:left + side]
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def sample_set_folder(variants: int = 4, seed: int = 0, cache: Path | None = None) -> Path:
    """The sample set for (variants, seed) in the user's cache folder, written once (into a temporary
    folder renamed into place, so a crash never leaves half a set): what a find-max record naming
    ``"sample_set": {"variants": V, "seed": S}`` was computed on, e.g. the shipped unit images."""
    import tempfile

    from deepvis_app.core.unitvis.store.unit_layout import user_cache_dir

    root = cache or user_cache_dir()
    folder = root / f"sample_set_v{variants}_s{seed}_n{len(SET_NAMES)}"   # n: a set written before SAME_PHOTO
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sample_set_", dir=root))
    write_sample_set(staging, variants, seed)
    try:
        staging.rename(folder)
    except OSError:   # another process made it first
        if not folder.is_dir():
            raise
    return folder
