"""The project's own error types: the only exceptions the command line and the window report as a
user's mistake (one line, exit code 2). Anything else is a bug: logged with its traceback.

Every module raises a subclass of `DeepvisError` (directly or through its own subclass, such as
`ImageReadError` or `SettingsError`) when the input, a file or an argument is wrong. This module is a
leaf: it imports nothing from the project, so every layer may use it.
"""

from __future__ import annotations


class DeepvisError(Exception):
    """A problem with what the user gave us (a file, a setting, an argument), stated in one line."""


class OutputPathError(DeepvisError):
    """An output path that cannot be written (checked before any computation starts)."""
