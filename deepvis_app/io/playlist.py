"""The static input list: which images and videos the user gave, in which order.

A command-line `--input`, a settings folder, a list file and a drag-and-drop all end up as one
ordered list of entries that next/previous walk through (wrapping). An entry is a path string or
`sample:<name>` for the built-in skimage images, so the list needs no files on disk by default.
Building the list never reads image data; unreadable files are found (and skipped) when shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deepvis_app.errors import DeepvisError
from deepvis_app.io.images import IMAGE_SUFFIXES, SAMPLE_NAMES, load_input, path_problem

LIST_SUFFIX = ".txt"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".ogv")
SAMPLE_PREFIX = "sample:"
# Joins the two entries of a pair (a two-input network's frame: both images side by side). A list file's
# line names a pair with two paths (the original's siamese_image_list), `--input` with "first,second";
# a folder or the samples are paired in order (1st with 2nd, 3rd with 4th, ...).
PAIR_SEP = "\x1f"
PAIR_SIDE = 512     # pixels of each (square) image of a pair frame at most


class InputError(DeepvisError, ValueError):
    """An input the user named that cannot be used at all; the message names it."""


def sample_entries() -> list[str]:
    """The built-in sample images as entries (`sample:chelsea`, ...)."""
    return [SAMPLE_PREFIX + name for name in SAMPLE_NAMES]


def is_video(entry: str) -> bool:
    """Whether an entry is played as a video (by its file suffix)."""
    return (not entry.startswith(SAMPLE_PREFIX) and PAIR_SEP not in entry
            and Path(entry).suffix.lower() in VIDEO_SUFFIXES)


def entry_name(entry: str) -> str:
    """The short name shown to the user: the file name, or `sample:<name>` (a pair: "first + second")."""
    if PAIR_SEP in entry:
        return " + ".join(entry_name(part) for part in entry.split(PAIR_SEP))
    return entry if entry.startswith(SAMPLE_PREFIX) else Path(entry).name


def pair_entry(first: str, second: str) -> str:
    """The entry of a pair of images (see `PAIR_SEP`)."""
    return first + PAIR_SEP + second


def pair_up(entries: Sequence[str]) -> list[str]:
    """Entries paired in order (1st with 2nd, ...); an odd last one is paired with the first; videos are
    left out (a pair is two still images)."""
    stills = [e for e in entries if not is_video(e)]
    if len(stills) % 2:
        stills.append(stills[0])
    return [pair_entry(stills[i], stills[i + 1]) for i in range(0, len(stills), 2)]


def join_pair(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two RGB images as one frame: each centre-cropped square, both at one size, side by side."""
    import cv2

    def square(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        return image[top:top + side, left:left + side]

    a, b = square(first), square(second)
    side = min(a.shape[0], b.shape[0], PAIR_SIDE)
    a, b = (cv2.resize(np.ascontiguousarray(x), (side, side), interpolation=cv2.INTER_AREA) for x in (a, b))
    return np.ascontiguousarray(np.concatenate([a, b], axis=1))


def read_entry_image(entry: str, max_pixels: int | None = None) -> np.ndarray:
    """An image entry as HxWx3 uint8 RGB; raises `ImageReadError` naming the file. `max_pixels`: the
    `max_image_pixels` setting (None: its default). A pair entry: both images side by side (`join_pair`)."""
    if PAIR_SEP in entry:
        first, second = entry.split(PAIR_SEP, 1)
        return join_pair(load_input(first, max_pixels), load_input(second, max_pixels))
    return load_input(entry, max_pixels)


def list_folder(folder: str | os.PathLike, regexp: str, ignore_case: bool = True) -> list[str]:
    """Files in `folder` whose name matches `regexp` (case-insensitive unless `ignore_case` is False:
    the `static_files_ignore_case` setting), sorted by name."""
    pattern = re.compile(regexp, re.IGNORECASE if ignore_case else 0)
    names = sorted(p.name for p in Path(folder).iterdir() if p.is_file() and pattern.match(p.name))
    return [str(Path(folder) / name) for name in names]


def read_list_file(path: str | os.PathLike, pairs: bool = False) -> list[str]:
    """Entries named by a list file, as the original's image-list mode read them.

    The first token of each line (split on spaces, tabs or commas; `# comments` and blank lines
    skipped) is a path, relative to the list file's folder, or `sample:<name>`. Names are
    checked when shown, so a missing file is skipped then with a message. With ``pairs`` (a two-input
    network), the first two tokens are a pair's images (the original's siamese_image_list).
    """
    return [entry for entry, _label in _list_lines(Path(path), pairs)]


def list_labels(paths: Sequence[str | os.PathLike], pairs: bool = False) -> dict[str, str]:
    """{shown name (`entry_name`): ground-truth label} from the list files among ``paths``: the rest of
    a line after its path (the original's image-list and find-max `filelist` format, ``cat.jpg 285``)."""
    labels: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() == LIST_SUFFIX and path.is_file():
            labels.update((entry_name(entry), label) for entry, label in _list_lines(path, pairs) if label)
    return labels


def _list_lines(path: Path, pairs: bool = False) -> list[tuple[str, str]]:
    """(entry, label or "") per line of a list file (a pair entry from two paths with ``pairs``)."""
    def entry(token: str) -> str:
        return token if token.startswith(SAMPLE_PREFIX) else str(path.parent / token)

    lines = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        tokens = re.split(r"[\s,]+", line.strip(), maxsplit=2 if pairs else 1)
        token = tokens[0]
        if not token or token.startswith("#"):
            continue
        if pairs:
            second = entry(tokens[1]) if len(tokens) > 1 else entry(token)
            lines.append((pair_entry(entry(token), second), tokens[2].strip() if len(tokens) > 2 else ""))
        else:
            lines.append((entry(token), tokens[1].strip() if len(tokens) > 1 else ""))
    return lines


def entries_from_paths(paths: Sequence[str | os.PathLike], regexp: str, ignore_case: bool = True,
                       pairs: bool = False) -> tuple[list[str], list[str]]:
    """Files (kept in the given order), folders (expanded, sorted) and list files (`.txt`, see
    `read_list_file`) as entries, plus messages.

    A path that does not exist, a file that is neither image nor video, an empty folder or a
    list file's missing names give a message naming them and contribute nothing; the caller
    decides what an empty list means. With ``pairs`` (a two-input network) every entry is a pair: a list
    file's lines name pairs, other images are paired in order (`pair_up`).
    """
    entries: list[str] = []
    messages: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, message = _folder_entries(path, regexp, ignore_case)
        elif path.is_file() and path.suffix.lower() == LIST_SUFFIX:
            found, message = _listed_entries(path, pairs)
        elif path.is_file():
            usable = (is_video(str(path)) or path.suffix.lower() in IMAGE_SUFFIXES
                      or re.match(regexp, path.name, re.IGNORECASE if ignore_case else 0))
            found, message = ([str(path)], None) if usable else ([], f"{path}: not an image or video file (skipped)")
        else:
            found, message = [], f"{path}: {path_problem(path) or 'no such file or folder'}"
        entries += found
        messages += [message] if message else []
    if pairs and any(PAIR_SEP not in e for e in entries):
        singles = [e for e in entries if PAIR_SEP not in e]
        entries = [e for e in entries if PAIR_SEP in e] + (pair_up(singles) if any(not is_video(e) for e in singles)
                                                            else [])
    return entries, messages


def _folder_entries(folder: Path, regexp: str, ignore_case: bool) -> tuple[list[str], str | None]:
    found = list_folder(folder, regexp, ignore_case)
    return found, None if found else f"{folder}: no image files in this folder"


def _listed_entries(list_file: Path, pairs: bool = False) -> tuple[list[str], str | None]:
    listed = read_list_file(list_file, pairs)
    found = [e for e in listed if all(part.startswith(SAMPLE_PREFIX) or Path(part).is_file()
                                      for part in e.split(PAIR_SEP))]
    if not listed:
        return found, f"{list_file}: the list names no files"
    if len(found) == len(listed):
        return found, None
    found_set = set(found)
    missing = next(e for e in listed if e not in found_set)
    return found, f"{list_file}: {len(listed) - len(found)} of {len(listed)} listed files not found (first: {missing})"


def entries_from_spec(spec: str | None, static_files_dir: str | None, regexp: str, ignore_case: bool = True,
                      pairs: bool = False) -> tuple[list[str], int, list[str]]:
    """The start list, index and messages for a `--input` spec (file, folder, video, list file,
    `sample:<name>` or None; with ``pairs``, also "first,second": one pair).

    None uses the settings folder when set, else the sample images. Raises `InputError` when the
    spec names nothing usable, so the command line can report it before a window opens.
    """
    target = spec if spec is not None else static_files_dir
    samples = pair_up(sample_entries()) if pairs else sample_entries()
    if target is None:
        return samples, 0, []
    if pairs and spec is not None and "," in spec and not Path(spec).exists():
        return [_spec_pair(spec)], 0, []
    if spec is not None and spec.startswith(SAMPLE_PREFIX):
        if spec not in sample_entries():
            raise InputError(f"{spec}: unknown sample image (known: {', '.join(SAMPLE_NAMES)})")
        index = sample_entries().index(spec)
        return samples, index // 2 if pairs else index, []
    entries, messages = entries_from_paths([target], regexp, ignore_case, pairs)
    if not entries:
        raise InputError(messages[0] if messages else f"{spec}: nothing to show")
    return entries, 0, messages


def _spec_pair(spec: str) -> str:
    """The pair entry of a "first,second" `--input` (each a file or `sample:<name>`)."""
    parts = [part.strip() for part in spec.split(",")]
    if len(parts) != 2:
        raise InputError(f"{spec}: a pair is two images, FIRST,SECOND")
    for part in parts:
        if part.startswith(SAMPLE_PREFIX):
            if part not in sample_entries():
                raise InputError(f"{part}: unknown sample image (known: {', '.join(SAMPLE_NAMES)})")
        elif not Path(part).is_file():
            raise InputError(f"{part}: {path_problem(Path(part)) or 'no such file'}")
    return pair_entry(*parts)


def read_input(spec: str, max_pixels: int | None, pairs: bool = False) -> np.ndarray:
    """One command-line input image (a file or `sample:<name>`); with ``pairs`` (a two-input network)
    "first,second", read as the pair's frame."""
    if not pairs:
        return load_input(spec, max_pixels)
    if "," not in spec or Path(spec).exists():
        raise InputError(f"{spec}: this is a two-input network: give two images, FIRST,SECOND")
    return read_entry_image(_spec_pair(spec), max_pixels)
