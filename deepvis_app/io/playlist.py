"""The static input list: which images and videos the user gave, in which order.

A command-line `--input`, a settings folder and a drag-and-drop all end up as one ordered list
of entries that next/previous walk through (wrapping). An entry is a path string or
`sample:<name>` for the built-in skimage images, so the list needs no files on disk by default.
Building the list never reads image data; unreadable files are found (and skipped) when shown.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from deepvis_app.io.images import IMAGE_SUFFIXES, SAMPLE_NAMES, load_input

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".ogv")
SAMPLE_PREFIX = "sample:"


class InputError(ValueError):
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


def read_entry_image(entry: str) -> np.ndarray:
    """An image entry as HxWx3 uint8 RGB; raises `ImageReadError` naming the file."""
    return load_input(entry)


def list_folder(folder: str | os.PathLike, regexp: str) -> list[str]:
    """Files in `folder` whose name matches `regexp` (case-insensitive), sorted by name."""
    pattern = re.compile(regexp, re.IGNORECASE)
    names = sorted(p.name for p in Path(folder).iterdir() if p.is_file() and pattern.match(p.name))
    return [str(Path(folder) / name) for name in names]


def entries_from_paths(paths: list[str | os.PathLike], regexp: str) -> tuple[list[str], list[str]]:
    """Files (kept in the given order) and folders (expanded, sorted) as entries, plus messages.

    A path that does not exist, a file that is neither image nor video, or an empty folder gives
    a message naming it and contributes nothing; the caller decides what an empty list means.
    """
    entries: list[str] = []
    messages: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = list_folder(path, regexp)
            entries += found
            if not found:
                messages.append(f"{path}: no image files in this folder")
        elif path.is_file():
            if is_video(str(path)) or path.suffix.lower() in IMAGE_SUFFIXES or re.match(regexp, path.name, re.I):
                entries.append(str(path))
            else:
                messages.append(f"{path}: not an image or video file (skipped)")
        else:
            messages.append(f"{path}: no such file or folder")
    return entries, messages


def entries_from_spec(spec: str | None, static_files_dir: str | None, regexp: str) -> tuple[list[str], int]:
    """The start list and index for a `--input` spec (file, folder, video, `sample:<name>` or None).

    None uses the settings folder when set, else the sample images. Raises `InputError` when the
    spec names nothing usable, so the command line can report it before a window opens.
    """
    if spec is None and static_files_dir is None:
        return sample_entries(), 0
    if spec is not None and spec.startswith(SAMPLE_PREFIX):
        if spec not in sample_entries():
            raise InputError(f"{spec}: unknown sample image (known: {', '.join(SAMPLE_NAMES)})")
        return sample_entries(), sample_entries().index(spec)
    entries, messages = entries_from_paths([spec if spec is not None else static_files_dir], regexp)
    if not entries:
        raise InputError(messages[0] if messages else f"{spec}: nothing to show")
    return entries, 0
