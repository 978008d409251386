"""The size limits of deepvis, in one place: every input that could make it allocate without bound.

A hostile or careless value (a template field 10 billion characters wide, `labels=/dev/zero`, a
transform that scales the image 1000 times, an expression nested 100,000 deep, a 400-digit number)
must end in one line naming the input and the limit, checked *before* anything is allocated, so that
a 4 GB address space (`ulimit -v 4000000`) is enough for every refusal. The limits are generous for
real use; each constant says what it bounds. The helpers turn every way Python's own parsers fail
(RecursionError, MemoryError, OverflowError, non-finite floats) into a `LimitError`, which is both a
`DeepvisError` (one line, exit 2) and a `ValueError` (what the parsers' callers already catch).

This module sits in the settings layer, the lowest one that io, core and the command line all import.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from deepvis_app.errors import DeepvisError

MAX_ERROR_LINE_CHARS = 2000           # one error line on stderr; the rest is cut (the log file keeps it)
MAX_LABELS_BYTES = 16 * 2**20         # a labels file (ImageNet-21k's names are about 1 MB)
MAX_RECORD_BYTES = 512 * 2**20        # one find-max / crop record file (a 1280-unit layer's is a few MB)
MAX_JSON_DEPTH = 32                   # nesting of a records file (find-max's is 4 deep)
MAX_NAME_BYTES = 255                  # one file-name component (NAME_MAX of Linux, macOS and Windows)
MAX_TEMPLATE_WIDTH = MAX_NAME_BYTES   # width or precision of one --output-template field
MAX_EXPRESSION_CHARS = 20_000         # --objective, --transforms, --lr-params, a --set value
MAX_EXPRESSION_DEPTH = 64             # nesting of such an expression (parentheses, unary minus, lists)
MAX_NUMBER = 1e12                     # the magnitude of any number written in such an expression
MAX_PAD = 1024                        # transforms: pad(width), pixels on each side
MAX_JITTER = 1024                     # transforms: jitter(d), pixels
MAX_SCALE = 4.0                       # transforms: scale(f, ...), each factor in (0, MAX_SCALE]
MAX_ROTATE = 3600.0                   # transforms: rotate(a, ...), degrees


class LimitError(DeepvisError, ValueError):
    """An input over one of the limits above, or a value no parser can take (one line)."""


def cut_line(text: str, limit: int = MAX_ERROR_LINE_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters cut)"


def parse_expression(text: str, what: str) -> ast.Expression:
    """`text` parsed as one Python expression with `ast`, within MAX_EXPRESSION_CHARS and
    MAX_EXPRESSION_DEPTH; SyntaxError is left to the caller (it knows how to word it), every other
    failure of the parser is a LimitError naming `what`."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise LimitError(f"{what}: {len(text)} characters, over the limit of {MAX_EXPRESSION_CHARS}")
    try:
        tree = ast.parse(text, mode="eval")
    except (MemoryError, RecursionError):
        raise LimitError(f"{what}: nested too deeply (the limit is {MAX_EXPRESSION_DEPTH} levels)") from None
    except ValueError as exc:  # a NUL byte, an integer literal over Python's digit limit
        raise LimitError(f"{what}: {cut_line(str(exc), 200)}") from None
    depth = expression_depth(tree)
    if depth > MAX_EXPRESSION_DEPTH:
        raise LimitError(f"{what}: nested {depth} levels deep, over the limit of {MAX_EXPRESSION_DEPTH}")
    return tree


def expression_depth(tree: ast.AST) -> int:
    """The nesting depth of `tree`, measured without recursion (a deep tree cannot overflow the stack)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop)))
    return deepest - 1  # the Expression wrapper is no level


def literal(text: str, what: str, limit: float = MAX_NUMBER) -> Any:
    """`ast.literal_eval` of `text` within the expression limits; ValueError/SyntaxError for text that
    is no literal (as literal_eval), LimitError for one too long, too deep, or with a number out of range."""
    tree = parse_expression(text.strip(), what)
    try:
        value = ast.literal_eval(tree)
    except (MemoryError, RecursionError, OverflowError):
        raise LimitError(f"{what}: a value out of range") from None
    except TypeError as exc:  # e.g. an unhashable set element
        raise ValueError(str(exc)) from None
    _check_numbers(value, what, limit)
    return value


def _check_numbers(value: Any, what: str, limit: float) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (int, float, complex)) and not isinstance(item, bool):
            parts = (item.real, item.imag) if isinstance(item, complex) else (item,)
            for part in parts:
                finite_number(part, what, limit)


def finite_number(value: Any, what: str, limit: float = MAX_NUMBER) -> float:
    """`value` as a float whose magnitude is at most `limit`; LimitError for an infinite, NaN or
    too large number (a 400-digit integer included: no OverflowError escapes)."""
    try:
        number = float(value)
    except OverflowError:
        raise LimitError(f"{what}: {_show(value)} is out of range (the limit is {limit:g} in magnitude)") from None
    if not math.isfinite(number):
        raise LimitError(f"{what}: {_show(value)} is not a finite number")
    if abs(number) > limit:
        raise LimitError(f"{what}: {_show(value)} is out of range (the limit is {limit:g} in magnitude)")
    return number


def _show(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() >= 200:  # str() of a huge int is slow, or refused
        return f"a {int(value.bit_length() * math.log10(2)) + 1}-digit number"
    return cut_line(repr(value), 60)


def check_template_widths(template: str, what: str) -> None:
    """LimitError when a %-format field of `template` asks for a width or precision over
    MAX_TEMPLATE_WIDTH (formatting `%(unit)09999999999d` would allocate 10 GB)."""
    for match in re.finditer(r"%(?:\([^)]*\))?[-#0 +]*(\d*)(?:\.(\d*))?", template):
        for number in match.groups():
            if number and (len(number) > 6 or int(number) > MAX_TEMPLATE_WIDTH):
                raise LimitError(f"{what}: field width {cut_line(number, 30)} in {cut_line(match.group(0), 60)!r} is "
                                 f"over the limit of {MAX_TEMPLATE_WIDTH} characters (a file name's length)")
