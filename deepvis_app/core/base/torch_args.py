"""Reading the arguments of an intercepted torch call, as torch itself interprets them.

`TorchFunctionMode`s (receptive fields, ReLU rules) and autograd Functions that stand in for a torch
op see a call's raw ``(args, kwargs)``; these helpers read one argument by position or name, and
widen an int-or-pair argument (``kernel_size=3`` or ``(3, 5)``) to a pair, so each does it one way.
"""

from __future__ import annotations

from typing import Any


def call_arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    """The argument at ``index`` of a call, else the keyword ``name``, else ``default``."""
    return args[index] if len(args) > index else kwargs.get(name, default)


def pair(value: Any) -> tuple[int, int]:
    """An int, or a 1- or 2-element sequence, as (rows, cols): 3 -> (3, 3), [3] -> (3, 3), (3, 5) -> (3, 5)."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[-1])
    return int(value), int(value)
