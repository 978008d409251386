"""No function in deepvis_app takes more than 8 positional parameters, so long parameter lists cannot
regrow: past that, callers pass a dozen values by position and a swapped pair goes unnoticed. Make the
options keyword-only (``*``) after what identifies the call (``model, x, objective``), or pass the
method's options dataclass, or group what belongs together in a small frozen dataclass.

`DEBT` lists the functions over the limit today (owned by other work in progress), with their count:
an entry may only shrink, and goes when its function is fixed."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "deepvis_app"
MAX_POSITIONAL = 8

# (module path under deepvis_app, qualified name): positional parameters today; fix, then delete the line
DEBT: dict[tuple[str, str], int] = {}


def positional_counts(source: str) -> dict[str, int]:
    """{qualified name: positional parameters (positional-only + positional-or-keyword, self included)}
    of every function, method, nested function and lambda in ``source``."""
    counts: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                name = f"{prefix}{getattr(child, 'name', '<lambda>')}"
                counts[name] = max(counts.get(name, 0), len(child.args.posonlyargs) + len(child.args.args))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return counts


def over_the_limit() -> dict[tuple[str, str], int]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name, count in positional_counts(path.read_text(encoding="utf-8")).items():
            if count > MAX_POSITIONAL:
                found[(path.relative_to(PACKAGE).as_posix(), name)] = count
    return found


def test_no_function_takes_more_than_eight_positional_parameters():
    found = over_the_limit()
    new = {key: count for key, count in found.items() if count > DEBT.get(key, MAX_POSITIONAL)}
    assert not new, f"more than {MAX_POSITIONAL} positional parameters (make the rest keyword-only with *): {new}"
    fixed = sorted(key for key in DEBT if key not in found or found[key] < DEBT[key])
    assert not fixed, f"fixed or shortened, so shrink or delete their DEBT lines: {fixed}"


def test_the_count_sees_methods_nested_functions_and_positional_only_parameters():
    source = ("class A:\n    def m(self, a, b, /, c, *, d): pass\n"
              "def f(a, b=1, *args, c, **kw):\n    g = lambda x, y: x\n    def h(p, /): pass\n")
    assert positional_counts(source) == {"A.m": 4, "f": 2, "f.<lambda>": 2, "f.h": 1}
