"""The error every model loader raises, in a module of its own so that the loaders (`core.model`,
`core.checkpoint`, the builders under `core.zoo`) share it without importing each other in a circle.
"""

from __future__ import annotations

from deepvis_app.errors import DeepvisError


class ModelError(DeepvisError):
    """A model that cannot be built or loaded; the message says which file and why."""


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The gist of an exception's message: its first line, cut to its first sentence when long."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if len(line) > limit and ". " in line:
        line = line.split(". ", 1)[0]
    return line if len(line) <= limit else line[:limit - 3] + "..."
