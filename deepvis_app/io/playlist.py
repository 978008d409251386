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


class InputError(DeepvisError, ValueError):
    """An input the user named that cannot be used at all; the message names it."""


def sample_entries() -> list[str]:
    """The built-in sample images as entries (`sample:chelsea`, ...)."""
    return [SAMPLE_PREFIX + name for name in SAMPLE_NAMES]


def is_video(entry: str) -> bool:
    """Whether an entry is played as a video (by its file suffix)."""
    return not entry.startswith(SAMPLE_PREFIX) and Path(entry).suffix.lower() in VIDEO_SUFFIXES


def entry_name(entry: str) -> str:
    """The short name shown to the user: the file name, or `sample:<name>`."""
    return entry if entry.startswith(SAMPLE_PREFIX) else Path(entry).name


def read_entry_image(entry: str, max_pixels: int | None = None) -> np.ndarray:
    """An image entry as HxWx3 uint8 RGB; raises `ImageReadError` naming the file. `max_pixels`: the
    `max_image_pixels` setting (None: its default)."""
    return load_input(entry, max_pixels)


def list_folder(folder: str | os.PathLike, regexp: str, ignore_case: bool = True) -> list[str]:
    """Files in `folder` whose name matches `regexp` (case-insensitive unless `ignore_case` is False:
    the `static_files_ignore_case` setting), sorted by name."""
    pattern = re.compile(regexp, re.IGNORECASE if ignore_case else 0)
    names = sorted(p.name for p in Path(folder).iterdir() if p.is_file() and pattern.match(p.name))
    return [str(Path(folder) / name) for name in names]


def read_list_file(path: str | os.PathLike) -> list[str]:
    """Entries named by a list file, as the original's image-list mode read them.

    The first token of each line (split on spaces, tabs or commas; `# comments` and blank lines
    skipped) is a path, relative to the list file's folder, or `sample:<name>`. Names are
    checked when shown, so a missing file is skipped then with a message.
    """
    return [entry for entry, _label in _list_lines(Path(path))]


def list_labels(paths: Sequence[str | os.PathLike]) -> dict[str, str]:
    """{shown name (`entry_name`): ground-truth label} from the list files among ``paths``: the rest of
    a line after its path (the original's image-list and find-max `filelist` format, ``cat.jpg 285``)."""
    labels: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() == LIST_SUFFIX and path.is_file():
            labels.update((entry_name(entry), label) for entry, label in _list_lines(path) if label)
    return labels


def _list_lines(path: Path) -> list[tuple[str, str]]:
    """(entry, label or "") per line of a list file."""
    lines = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        tokens = re.split(r"[\s,]+", line.strip(), maxsplit=1)
        token = tokens[0]
        if token and not token.startswith("#"):
            entry = token if token.startswith(SAMPLE_PREFIX) else str(path.parent / token)
            lines.append((entry, tokens[1].strip() if len(tokens) > 1 else ""))
    return lines


def entries_from_paths(paths: Sequence[str | os.PathLike], regexp: str,
                       ignore_case: bool = True) -> tuple[list[str], list[str]]:
    """Files (kept in the given order), folders (expanded, sorted) and list files (`.txt`, see
    `read_list_file`) as entries, plus messages.

    A path that does not exist, a file that is neither image nor video, an empty folder or a
    list file's missing names give a message naming them and contribute nothing; the caller
    decides what an empty list means.
    """
    entries: list[str] = []
    messages: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, message = _folder_entries(path, regexp, ignore_case)
        elif path.is_file() and path.suffix.lower() == LIST_SUFFIX:
            found, message = _listed_entries(path)
        elif path.is_file():
            usable = (is_video(str(path)) or path.suffix.lower() in IMAGE_SUFFIXES
                      or re.match(regexp, path.name, re.IGNORECASE if ignore_case else 0))
            found, message = ([str(path)], None) if usable else ([], f"{path}: not an image or video file (skipped)")
        else:
            found, message = [], f"{path}: {path_problem(path) or 'no such file or folder'}"
        entries += found
        messages += [message] if message else []
    return entries, messages


def _folder_entries(folder: Path, regexp: str, ignore_case: bool) -> tuple[list[str], str | None]:
    found = list_folder(folder, regexp, ignore_case)
    return found, None if found else f"{folder}: no image files in this folder"


def _listed_entries(list_file: Path) -> tuple[list[str], str | None]:
    listed = read_list_file(list_file)
    found = [e for e in listed if e.startswith(SAMPLE_PREFIX) or Path(e).is_file()]
    if not listed:
        return found, f"{list_file}: the list names no files"
    if len(found) == len(listed):
        return found, None
    found_set = set(found)
    missing = next(e for e in listed if e not in found_set)
    return found, f"{list_file}: {len(listed) - len(found)} of {len(listed)} listed files not found (first: {missing})"


def entries_from_spec(spec: str | None, static_files_dir: str | None,
                      regexp: str, ignore_case: bool = True) -> tuple[list[str], int, list[str]]:
    """The start list, index and messages for a `--input` spec (file, folder, video, list file,
    `sample:<name>` or None).

    None uses the settings folder when set, else the sample images. Raises `InputError` when the
    spec names nothing usable, so the command line can report it before a window opens.
    """
    target = spec if spec is not None else static_files_dir
    if target is None:
        return sample_entries(), 0, []
    if spec is not None and spec.startswith(SAMPLE_PREFIX):
        if spec not in sample_entries():
            raise InputError(f"{spec}: unknown sample image (known: {', '.join(SAMPLE_NAMES)})")
        return sample_entries(), sample_entries().index(spec), []
    entries, messages = entries_from_paths([target], regexp, ignore_case)
    if not entries:
        raise InputError(messages[0] if messages else f"{spec}: nothing to show")
    return entries, 0, messages
