"""Objective expressions: lucent's objective vocabulary, typed on the command line, parsed safely.

`deepvis optimize --objective "channel('_blocks.10', 3) - 0.5*channel('_blocks.10', 7)"` optimizes a
batch of images for any linear combination of lucent's objectives. The text is parsed with `ast` and
only a whitelist of nodes is evaluated (numbers, strings, lists of numbers, the five functions below,
+ - * / and unary minus); nothing of the text is ever passed to `eval`, so attribute access, other
names, keyword arguments or `__import__` are one-line errors naming the column. The text's length
and nesting and every number are bounded (`deepvis_app.settings.limits`): a thousand unary minuses,
`1e309` or a 400-digit literal are ObjectiveErrors too, and a weight that comes out infinite or NaN
is refused, never written into the JSON record.

Values are what is *maximized* (lucent minimizes the negation): for each objective, the batch mean of
the per-image values returned here is exactly minus lucent's loss, so weights keep lucent's meaning
(lucent's `channel - 1e2*diversity` loss is `channel(...) + 100*diversity(...)` here, since lucent's
`diversity` returns minus the similarity: here too it is the value, higher = more diverse).

* channel(L, c): mean of channel c of layer L (the unit itself for a 2-D layer);
* neuron(L, c) / neuron(L, c, x, y): channel c at column x, row y (default: the centre, as lucent);
* direction(L, [v...]): cosine similarity of each position's activation vector with v, averaged;
* channel_interpolate(L1, c1, L2, c2): image n of N is weighted (1 - n/(N-1)) * channel(L1, c1) +
  n/(N-1) * channel(L2, c2), a batch sweeping from one objective to the other (N >= 2);
* diversity(L): per image i, -sum over j != i of the cosine similarity of the L2-normalized Gram
  matrices of images i and j at L (lucent's penalty of "style" similarity; couples the batch).
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch

from deepvis_app.errors import DeepvisError
from deepvis_app.settings.limits import MAX_NUMBER, LimitError, cut_line, finite_number, parse_expression

ChannelsOf = Callable[[str], int]  # a layer's channel count; KeyError for a layer the model lacks


class ObjectiveError(DeepvisError, ValueError):
    """A bad objective expression, or one that does not fit the model (one line)."""


def _mean_map(activation: torch.Tensor, channel: int) -> torch.Tensor:
    return activation[:, channel].reshape(activation.shape[0], -1).mean(1)


class Term:
    """One of lucent's objectives on named layers; `values(acts)` is per image (N,)."""

    layers: tuple[str, ...] = ()
    coupled = False  # True when an image's value depends on the other images of the batch
    min_batch = 1

    def values(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class Channel(Term):
    layer: str
    channel: int

    @property
    def layers(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.layer,)

    def values(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return _mean_map(acts[self.layer], self.channel)


@dataclass(frozen=True)
class Neuron(Term):
    layer: str
    channel: int
    x: int | None = None
    y: int | None = None

    @property
    def layers(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.layer,)

    def values(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        activation = acts[self.layer]
        if activation.dim() == 2 and self.x is None and self.y is None:
            return activation[:, self.channel]
        if activation.dim() != 4:
            raise ObjectiveError(f"neuron('{self.layer}', ...): a position needs a layer with a spatial map")
        x, y = self.position(activation.shape)
        return activation[:, self.channel, y, x]

    def position(self, shape: Sequence[int]) -> tuple[int, int]:
        """(x, y): the given column and row, else the centre; ObjectiveError outside the map."""
        height, width = shape[-2], shape[-1]
        x = width // 2 if self.x is None else self.x
        y = height // 2 if self.y is None else self.y
        if not (0 <= x < width and 0 <= y < height):
            raise ObjectiveError(f"neuron('{self.layer}', {self.channel}, {x}, {y}): position outside the "
                                 f"{width}x{height} (width x height) map of the layer at this image size")
        return x, y


@dataclass(frozen=True)
class Direction(Term):
    layer: str
    vector: tuple[float, ...]

    @property
    def layers(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.layer,)

    def values(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        activation = acts[self.layer]
        vector = torch.tensor(self.vector, dtype=activation.dtype, device=activation.device)
        shape = (1, -1) + (1,) * (activation.dim() - 2)
        cosine = torch.nn.functional.cosine_similarity(vector.view(shape), activation, dim=1)
        return cosine.reshape(activation.shape[0], -1).mean(1)


@dataclass(frozen=True)
class ChannelInterpolate(Term):
    layer1: str
    channel1: int
    layer2: str
    channel2: int
    min_batch = 2

    @property
    def layers(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.layer1, self.layer2)

    def values(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        first, second = acts[self.layer1], acts[self.layer2]
        count = first.shape[0]
        if count < 2:
            raise ObjectiveError("channel_interpolate needs a batch of at least 2 images (--batch)")
        weights = torch.arange(count, dtype=first.dtype, device=first.device) / (count - 1)
        return (1 - weights) * _mean_map(first, self.channel1) + weights * _mean_map(second, self.channel2)


@dataclass(frozen=True)
class Diversity(Term):
    layer: str
    coupled = True
    min_batch = 2

    @property
    def layers(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.layer,)

    def values(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return diversity_values(acts[self.layer])


def diversity_values(activation: torch.Tensor, group: int | None = None) -> torch.Tensor:
    """lucent's diversity per image within consecutive groups of ``group`` rows (default: the whole
    batch): -sum_{j != i} <G_i, G_j> with G the Gram matrix (channels x channels) of an image's
    activation normalized to unit Frobenius norm. Its batch mean is lucent's `diversity` value."""
    count, channels = activation.shape[:2]
    group = group or count
    if count % group:
        raise ValueError(f"a batch of {count} does not split into groups of {group}")
    flat = activation.reshape(count, channels, -1)
    grams = flat @ flat.transpose(1, 2)
    grams = grams / grams.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    vectors = grams.reshape(count // group, group, -1)
    similarity = vectors @ vectors.transpose(1, 2)
    others = similarity.sum(-1) - similarity.diagonal(dim1=1, dim2=2)
    return -others.reshape(count)


@dataclass(frozen=True)
class Objective:
    """A weighted sum of terms: what an expression parses to."""

    terms: tuple[tuple[float, Term], ...]
    text: str = ""

    @property
    def layers(self) -> list[str]:
        """Every layer the terms read, in order of first use (one forward taps them all)."""
        return list(dict.fromkeys(layer for _, term in self.terms for layer in term.layers))

    @property
    def coupled(self) -> bool:
        return any(term.coupled for _, term in self.terms)

    @property
    def min_batch(self) -> int:
        return max(term.min_batch for _, term in self.terms)

    def values(self, acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-image value (N,): the weighted sum of the terms' values."""
        total = None
        for weight, term in self.terms:
            part = weight * term.values(acts)
            total = part if total is None else total + part
        assert total is not None
        return total

    def scaled(self, factor: float) -> "Objective":
        return Objective(tuple((factor * weight, term) for weight, term in self.terms), self.text)

    def plus(self, other: "Objective") -> "Objective":
        return Objective(self.terms + other.terms, self.text)


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
    if not isinstance(result, Objective):
        raise ObjectiveError("objective: the expression is a number; use channel(...), neuron(...), ...")
    for weight, _term in result.terms:
        if not (math.isfinite(weight) and abs(weight) <= MAX_NUMBER):
            raise ObjectiveError(f"objective: a term's weight comes out as {weight:g}; weights must be finite "
                                 f"numbers of magnitude at most {MAX_NUMBER:g}")
    return Objective(result.terms, text.strip())


Value = float | Objective


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
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return sign * operand if isinstance(operand, float) else operand.scaled(sign)
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
            return left.plus(right if op == "+" else right.scaled(-1.0))
        if op == "*":
            if isinstance(left, float) and isinstance(right, Objective):
                return right.scaled(left)
            if isinstance(left, Objective) and isinstance(right, float):
                return left.scaled(right)
            raise self.fail(node, "objectives can only be multiplied by numbers")
        if isinstance(left, Objective) and isinstance(right, float) and right != 0:
            return left.scaled(1.0 / right)
        raise self.fail(node, "an objective can only be divided by a non-zero number")

    def call(self, node: ast.Call) -> Objective:
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
        term: Term
        if name == "channel":
            layer = self.layer(args[0])
            term = Channel(layer, self.unit(args[1], layer))
        elif name == "neuron":
            layer = self.layer(args[0])
            x, y = (self.index(args[2], "x"), self.index(args[3], "y")) if len(args) == 4 else (None, None)
            term = Neuron(layer, self.unit(args[1], layer), x, y)
        elif name == "direction":
            layer = self.layer(args[0])
            term = Direction(layer, self.vector(args[1], layer))
        elif name == "channel_interpolate":
            first, second = self.layer(args[0]), self.layer(args[2])
            term = ChannelInterpolate(first, self.unit(args[1], first), second, self.unit(args[3], second))
        else:
            term = Diversity(self.layer(args[0]))
        return Objective(((1.0, term),))

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


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"attribute access '{ast.unparse(node)}'"
    if isinstance(node, ast.Name):
        return f"the name '{node.id}'"
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r}"
    return f"'{ast.unparse(node)}' ({type(node).__name__})"
