"""Lists of random transforms written as text, parsed safely: the `transforms` option's language.

`deepvis optimize --transforms "pad(16), jitter(8), scale(0.9, 1, 1.1), rotate(-5, 0, 5), jitter(2)"`
applies these lucent transforms in order before every forward pass. Besides such lists, `none` and
`standard` (lucent's `standard_transforms`) name whole sets, and `standard` may start a longer list.

The text is parsed with `ast` and only a whitelist is read: calls of the names below with number
arguments (a unary minus allowed), bare `none`/`standard`; scale and rotate also take a single list
of numbers, as lucent's `random_scale([...])`. Nothing is passed to eval; anything else is a
ValueError naming the transform and the problem. Every parameter has an upper bound
(`deepvis_app.settings.limits`: pad and jitter 1024 pixels, scale factors up to 4, angles and the
text's length and depth bounded), checked before anything is allocated: `scale(1000)` would ask
for gigabytes. Torch-free, so the options can be validated
without torch; `transforms.transform_set` builds the closures from the parsed steps.
"""

from __future__ import annotations

import ast

from deepvis_app.settings.limits import (
    MAX_JITTER,
    MAX_PAD,
    MAX_ROTATE,
    MAX_SCALE,
    LimitError,
    finite_number,
    parse_expression,
)

# (canonical name, arguments): pad (width), jitter (d), scale (factors), rotate (degrees)
TransformStep = tuple[str, tuple[float, ...]]

ALIASES = {"pad": "pad", "jitter": "jitter", "scale": "scale", "random_scale": "scale",
           "rotate": "rotate", "random_rotate": "rotate"}
SIGNATURES = {"pad": f"pad(width): a whole number of pixels from 0 to {MAX_PAD}",
              "jitter": f"jitter(d): a whole number from 1 to {MAX_JITTER} (shifts of 0..d-1 pixels)",
              "scale": f"scale(f1, f2, ...): factors above 0 and at most {MAX_SCALE:g}, one picked per step",
              "rotate": f"rotate(a1, a2, ...): angles in degrees (at most {MAX_ROTATE:g} in magnitude), "
                        "one picked per step"}

# lucent's standard_transforms: pad 12, jitter 8, scale 0.9..1.1, rotate -10..10 degrees (0 more often), jitter 4
STANDARD: tuple[TransformStep, ...] = (
    ("pad", (12,)), ("jitter", (8,)), ("scale", tuple(1 + (i - 5) / 50.0 for i in range(11))),
    ("rotate", tuple(float(a) for a in list(range(-10, 11)) + 5 * [0])), ("jitter", (4,)))
NAMED_SETS: dict[str, tuple[TransformStep, ...]] = {"none": (), "standard": STANDARD}

EXAMPLE = "pad(16), jitter(8), scale(0.9, 1, 1.1), rotate(-5, 0, 5), jitter(2)"


def parse_transforms(spec: str) -> tuple[TransformStep, ...]:
    """The steps of `spec`, in order; ValueError ("transforms = 'spec': problem") for anything else."""
    shown = spec if len(spec) <= 80 else spec[:77] + "..."

    def fail(problem: str) -> ValueError:
        return ValueError(f"transforms = {shown!r}: {problem}")

    text = spec.strip()
    if not text:
        raise fail(f"empty; give none, standard or a list like \"{EXAMPLE}\"")
    try:
        tree = parse_expression(text, f"transforms = {shown!r}")
    except SyntaxError as exc:
        raise fail(f"syntax error at column {exc.offset or 0} ({exc.msg}); write a list like \"{EXAMPLE}\"") from None
    body = tree.body
    items = body.elts if isinstance(body, (ast.Tuple, ast.List)) else [body]
    if not items:
        raise fail(f"no transforms; give none, standard or a list like \"{EXAMPLE}\"")
    steps: list[TransformStep] = []
    for item in items:
        if isinstance(item, ast.Name) and item.id in NAMED_SETS:
            if item.id == "none" and len(items) > 1:
                raise fail("'none' cannot be combined with other transforms")
            steps.extend(NAMED_SETS[item.id])
            continue
        try:
            steps.append(_step(item))
        except ValueError as exc:
            raise fail(str(exc)) from None
    return tuple(steps)


def _step(node: ast.expr) -> TransformStep:
    names = ", ".join(list(ALIASES) + list(NAMED_SETS))
    if not isinstance(node, ast.Call):
        raise ValueError(f"'{ast.unparse(node)}' is not a transform (use {names}, e.g. jitter(8))")
    if not isinstance(node.func, ast.Name):
        raise ValueError(f"'{ast.unparse(node.func)}' cannot be called (transforms: {names})")
    given = node.func.id
    if given in NAMED_SETS:
        raise ValueError(f"{given} takes no arguments: write {given}")
    if given not in ALIASES:
        raise ValueError(f"unknown transform '{given}' (transforms: {names})")
    name, call = ALIASES[given], ast.unparse(node)
    call = call if len(call) <= 80 else call[:77] + "..."
    if node.keywords:
        raise ValueError(f"{call}: keyword arguments are not supported; {SIGNATURES[name]}")
    args: list[ast.expr] = list(node.args)
    if name in ("scale", "rotate") and len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)):
        args = list(args[0].elts)
    values = tuple(_number(arg, call) for arg in args)
    if name in ("pad", "jitter"):
        if len(values) != 1:
            raise ValueError(f"{call}: {given} takes 1 argument, got {len(values)}; {SIGNATURES[name]}")
        low, high = (0, MAX_PAD) if name == "pad" else (1, MAX_JITTER)
        if values[0] != int(values[0]) or not low <= values[0] <= high:
            raise ValueError(f"{call}: {SIGNATURES[name]}")
        return name, (int(values[0]),)
    if not values:
        raise ValueError(f"{call}: give at least one value; {SIGNATURES[name]}")
    if name == "scale" and not (min(values) > 0 and max(values) <= MAX_SCALE):
        raise ValueError(f"{call}: {SIGNATURES[name]}")
    if name == "rotate" and max(abs(v) for v in values) > MAX_ROTATE:
        raise ValueError(f"{call}: {SIGNATURES[name]}")
    return name, values


def _number(node: ast.expr, call: str) -> float:
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)):
        raise ValueError(f"{call}: arguments must be numbers, got {ast.unparse(node)}")
    try:
        return sign * finite_number(node.value, call)
    except LimitError as exc:
        raise ValueError(str(exc)) from None
