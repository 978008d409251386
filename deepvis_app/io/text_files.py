"""Small text files the user names (a labels file, an image list), read with a size bound.

`Path.read_text` reads until the end: `--set labels=/dev/zero` grew to gigabytes, and a FIFO with no
writer blocks forever. `read_text_bounded` refuses a pipe before opening it, reads at most `limit`
bytes plus one, and says which file is over which limit, or which byte is not UTF-8, in one line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deepvis_app.errors import DeepvisError


class TextFileError(DeepvisError):
    """A text file that cannot be read as asked (missing, a pipe, too large, not UTF-8); one line."""


def read_text_bounded(path: str | os.PathLike, limit: int, what: str) -> str:
    """The UTF-8 text of `path`, at most `limit` bytes; `TextFileError` ("<what> <path>: problem")."""
    path = Path(path)
    try:
        if stat.S_ISFIFO(path.stat().st_mode):
            raise TextFileError(f"{what} {path}: a pipe, not a file")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise TextFileError(f"{what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise TextFileError(f"{what} {path}: larger than the limit of {_size(limit)} for a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextFileError(f"{what} {path}: not UTF-8 text (byte {exc.start})") from None


def _size(count: int) -> str:
    return f"{count // 2**20} MiB" if count >= 2**20 else f"{count} bytes"
