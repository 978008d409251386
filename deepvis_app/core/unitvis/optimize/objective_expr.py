"""Objective expressions: lucent's objective vocabulary, typed on the command line, parsed safely.

`deepvis optimize --objective "channel('_blocks.10', 3) - 0.5*channel('_blocks.10', 7)"` optimizes a
batch of images for any linear combination of lucent's objectives. The text is parsed with `ast` and
only a whitelist of nodes is evaluated (numbers, strings, lists of numbers, the five functions below,
+ - * / and unary minus); nothing of the text is ever passed to `eval`, so attribute access, other
names, keyword arguments or `__import__` are one-line errors naming the column. The text's length
and nesting and every number are bounded (`deepvis_app.settings.limits`): a thousand unary minuses,
`1e309` or a 400-digit literal are ObjectiveErrors too, and a weight that comes out infinite or NaN
is refused, never written into the JSON record.

The expression is built with the objective algebra itself: each function call is the factory of
`objectives` of the same name (channel, neuron, direction, channel_interpolate, diversity) and each
operator the `Objective`'s operator, so ``"channel('L', 3) - 0.5*channel('L', 7)"`` and
``channel('L', 3) - 0.5*channel('L', 7)`` in Python are the same objective. Objectives are only
added, subtracted, and multiplied or divided by numbers here: the text stays a weighted sum.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from dataclasses import dataclass, replace
from typing import Callable

from deepvis_app.core.methods.attribution.objective import Objective
from deepvis_app.core.unitvis.optimize import objectives
from deepvis_app.core.unitvis.optimize.objectives import ObjectiveError
from deepvis_app.settings.limits import MAX_NUMBER, LimitError, cut_line, finite_number, parse_expression

ChannelsOf = Callable[[str], int]  # a layer's channel count; KeyError for a layer the model lacks


@dataclass(frozen=True)
class _Built:
    """An objective under construction, with the largest magnitude of its terms' weights (a weight
    that comes out infinite is refused, never written into the JSON record)."""

    objective: Objective
    weight: float = 1.0


def slug(text: str) -> str:
    """A file name for an expression: its characters made safe and shortened, plus a short hash (two
    expressions never share a slug)."""
    safe = re.sub(r"[^A-Za-z0-9.\-]+", "_", text).strip("_.")[:60] or "objective"
    return f"{safe}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


FUNCTIONS = ("channel", "neuron", "direction", "channel_interpolate", "diversity")
_SIGNATURES = {"channel": "channel(layer, c)", "neuron": "neuron(layer, c) or neuron(layer, c, x, y)",
               "direction": "direction(layer, [v, ...])",
               "channel_interpolate": "channel_interpolate(layer1, c1, layer2, c2)", "diversity": "diversity(layer)"}
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def parse_objective(text: str, channels_of: ChannelsOf) -> Objective:
    """The expression as an `Objective`; ObjectiveError (one line, with the column) for anything else.
    ``channels_of(layer)`` gives a layer's channel count (KeyError: no such layer)."""
    if not text.strip():
        raise ObjectiveError("objective: empty expression")
    try:
        tree = parse_expression(text.strip(), "objective")
    except SyntaxError as exc:
        raise ObjectiveError(f"objective column {exc.offset or 0}: syntax error ({cut_line(exc.msg, 200)})") from None
    except LimitError as exc:
        raise ObjectiveError(str(exc)) from None
    result = _Evaluator(channels_of).eval(tree.body)
    if not isinstance(result, _Built):
        raise ObjectiveError("objective: the expression is a number; use channel(...), neuron(...), ...")
    if not (math.isfinite(result.weight) and result.weight <= MAX_NUMBER):
        raise ObjectiveError(f"objective: a term's weight comes out as {result.weight:g}; weights must be finite "
                             f"numbers of magnitude at most {MAX_NUMBER:g}")
    return replace(result.objective, description=text.strip())


Value = float | _Built


class _Evaluator:
    def __init__(self, channels_of: ChannelsOf):
        self.channels_of = channels_of

    def fail(self, node: ast.AST, problem: str) -> ObjectiveError:
        return ObjectiveError(f"objective column {getattr(node, 'col_offset', 0) + 1}: {cut_line(problem, 300)}")

    def eval(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            try:
                return finite_number(node.value, "number")
            except LimitError as exc:
                raise self.fail(node, str(exc)) from None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.eval(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            return -operand if isinstance(operand, float) else _Built(-operand.objective, operand.weight)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return self.binary(node, self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{_describe(node)} is not allowed (only numbers, + - * /, and "
                              f"{', '.join(FUNCTIONS)})")

    def binary(self, node: ast.BinOp, left: Value, right: Value) -> Value:
        op = _OPS[type(node.op)]
        if isinstance(left, float) and isinstance(right, float):
            if op == "/" and right == 0:
                raise self.fail(node, "division by zero")
            value = {"+": left + right, "-": left - right, "*": left * right, "/": left / (right or 1.0)}[op]
            if not math.isfinite(value):
                raise self.fail(node, f"the number comes out as {value:g}; numbers must be finite")
            return value
        if op in "+-":
            if isinstance(left, float) or isinstance(right, float):
                raise self.fail(node, f"cannot {'add' if op == '+' else 'subtract'} a number and an objective "
                                      "(a constant does not change the image)")
            combined = left.objective + right.objective if op == "+" else left.objective - right.objective
            return _Built(combined, max(left.weight, right.weight))
        if op == "*":
            if isinstance(left, float) and isinstance(right, _Built):
                return _scaled(right, left)
            if isinstance(left, _Built) and isinstance(right, float):
                return _scaled(left, right)
            raise self.fail(node, "objectives can only be multiplied by numbers")
        if isinstance(left, _Built) and isinstance(right, float) and right != 0:
            return _Built(left.objective / right, left.weight / abs(right))
        raise self.fail(node, "an objective can only be divided by a non-zero number")

    def call(self, node: ast.Call) -> _Built:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, f"{_describe(node.func)} cannot be called (functions: {', '.join(FUNCTIONS)})")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(node, f"unknown function '{name}' (functions: {', '.join(FUNCTIONS)})")
        if node.keywords:
            raise self.fail(node, f"{name}: keyword arguments are not supported; use {_SIGNATURES[name]}")
        args = node.args
        arity = {"channel": (2,), "neuron": (2, 4), "direction": (2,), "channel_interpolate": (4,),
                 "diversity": (1,)}[name]
        if len(args) not in arity or any(isinstance(arg, ast.Starred) for arg in args):
            raise self.fail(node, f"{name} takes {' or '.join(map(str, arity))} arguments: {_SIGNATURES[name]}")
        if name == "channel":
            layer = self.layer(args[0])
            made = objectives.channel(layer, self.unit(args[1], layer))
        elif name == "neuron":
            layer = self.layer(args[0])
            x, y = (self.index(args[2], "x"), self.index(args[3], "y")) if len(args) == 4 else (None, None)
            made = objectives.neuron(layer, self.unit(args[1], layer), x, y)
        elif name == "direction":
            layer = self.layer(args[0])
            made = objectives.direction(layer, self.vector(args[1], layer))
        elif name == "channel_interpolate":
            first, second = self.layer(args[0]), self.layer(args[2])
            made = objectives.channel_interpolate(first, self.unit(args[1], first), second, self.unit(args[3], second))
        else:
            made = objectives.diversity(self.layer(args[0]))
        return _Built(made)

    def layer(self, node: ast.expr) -> str:
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            raise self.fail(node, f"a layer name must be a quoted string, got {_describe(node)}")
        try:
            self.channels_of(node.value)
        except KeyError:
            raise self.fail(node, f"unknown layer '{node.value}' (see `deepvis layers`)") from None
        return node.value

    def index(self, node: ast.expr, what: str) -> int:
        value = self.eval(node) if not isinstance(node, ast.Call) else None
        if not isinstance(value, float) or value != int(value) or value < 0:
            raise self.fail(node, f"{what} must be a whole number >= 0, got {ast.unparse(node)}")
        return int(value)

    def unit(self, node: ast.expr, layer: str) -> int:
        unit = self.index(node, "the unit")
        count = self.channels_of(layer)
        if unit >= count:
            raise self.fail(node, f"unit {unit} out of range: layer '{layer}' has {count} units (0-{count - 1})")
        return unit

    def vector(self, node: ast.expr, layer: str) -> tuple[float, ...]:
        if not isinstance(node, (ast.List, ast.Tuple)):
            raise self.fail(node, f"direction needs a list of numbers like [1, 0, -0.5], got {_describe(node)}")
        values = []
        for element in node.elts:
            value = self.eval(element) if not isinstance(element, ast.Call) else None
            if not isinstance(value, float):
                raise self.fail(element, f"direction entries must be numbers, got {ast.unparse(element)}")
            values.append(value)
        count = self.channels_of(layer)
        if len(values) != count:
            raise self.fail(node, f"direction has {len(values)} entries but layer '{layer}' has {count} channels")
        if not any(values):
            raise self.fail(node, "direction must not be all zeros")
        return tuple(values)


def _scaled(built: _Built, factor: float) -> _Built:
    return _Built(factor * built.objective, built.weight * abs(factor))


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"attribute access '{ast.unparse(node)}'"
    if isinstance(node, ast.Name):
        return f"the name '{node.id}'"
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r}"
    return f"'{ast.unparse(node)}' ({type(node).__name__})"
