"""The offline sample set holds distinct images only (issue 20: skimage's `cat` is `chelsea`, so a
unit's top-9 showed the same cat eye twice), and leaving the duplicate out keeps every other file
as it was (the shipped find-max results name those files)."""

from __future__ import annotations

import hashlib

import numpy as np

from deepvis_app.core.unitvis.store import sample_set
from deepvis_app.io.images import SAMPLE_SET_NAMES, read_image, sample_image


def _digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def test_no_two_images_of_the_set_are_the_same_photo():
    digests = {}
    for name in sample_set.SET_NAMES:
        digests.setdefault(_digest(sample_image(name)), []).append(name)
    assert [names for names in digests.values() if len(names) > 1] == []


def test_the_written_set_has_one_whole_image_per_distinct_photo(tmp_path):
    paths = sample_set.write_sample_set(tmp_path, variants=2)
    whole = sorted(p.name for p in paths if p.stem.endswith("_0"))
    assert whole == sorted(f"{name}_0.jpg" for name in sample_set.SET_NAMES)
    assert "cat_0.jpg" not in whole and "chelsea_0.jpg" in whole
    pictures = [read_image(p) for p in paths if p.stem.endswith("_0")]
    digests = {_digest(picture) for picture in pictures}
    assert len(digests) == len(pictures)


def test_the_other_files_are_the_ones_the_set_had_with_the_duplicate(tmp_path, monkeypatch):
    """The same seed draws the same crops for every other image as when `cat` was written too."""
    kept = sample_set.write_sample_set(tmp_path / "now", variants=3)
    monkeypatch.setattr(sample_set, "SAME_PHOTO", {})
    before = sample_set.write_sample_set(tmp_path / "before", variants=3)
    assert {p.name for p in before} - {p.name for p in kept} == {"cat_0.jpg", "cat_1.jpg", "cat_2.jpg"}
    for path in kept:
        assert (tmp_path / "before" / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_names_left_out_are_in_the_skimage_list():
    assert set(sample_set.SAME_PHOTO) <= set(SAMPLE_SET_NAMES)
    for duplicate, original in sample_set.SAME_PHOTO.items():
        assert _digest(sample_image(duplicate)) == _digest(sample_image(original))


def test_the_shipped_top_images_name_only_files_of_the_set():
    """The default model's shipped find-max results were found in this set: every image they name is one
    it writes (none of the left-out duplicate), so a unit's top-9 never shows the same photo twice."""
    import json
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "models" / "efficientnet_lite0" / "unit_vis" / "find_max"
    files = {f"{name}_{k}.jpg" for name in sample_set.SET_NAMES for k in range(5)}
    for path in sorted(shipped.glob("_*.json")):
        doc = json.loads(path.read_text())
        assert doc["sample_set"] == {"variants": 5, "seed": 0}
        named = {entry["path"] for unit in doc["units"] for entry in unit}
        assert named <= files, (path.name, sorted(named - files)[:5])
