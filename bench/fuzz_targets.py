"""The fuzz targets besides images (issue 21): find-max records, output templates and the text parsers.

Each target draws one random input from a numpy generator and feeds it to the code under test; the
only outcomes allowed are "ok" (accepted) and "refused" (the documented one-line error). Anything
else (another exception type, a MemoryError from a template width, a RecursionError from nesting)
is a failure that `bench/fuzz_images.py` reports and saves. Inputs are built to reach the limits:
field widths in the billions, nesting in the thousands, 400-digit numbers, paths that leave the
dataset, JSON nested 100,000 deep, values of every JSON type in every record field.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

# (outcome, input bytes for the saved copy); outcome is "ok" or "refused"; any other exception escapes
Result = tuple[str, bytes]

_WEIRD_VALUES: tuple[Any, ...] = (None, True, -1, 0, 2**70, 1e308, -1e308, "abc", "9", "", "../../etc/passwd",
                                  "/etc/passwd", "a\0b", "two\nlines.png", [], [1], [1, 2, 3], ["a", "b"],
                                  {}, {"path": 1}, [[[[[]]]]], 0.5, "ab")
_GOOD = {"layer": "conv", "top": 3, "units": [[{"path": "a.png", "value": 1.5, "pos": [1, 2], "index": 0},
                                               {"path": "sub/b.png", "value": -0.5, "pos": [0, 0]}], []],
         "dataset": "/data", "rank_by": "max", "unit_min": [0.0, None], "unit_max": [2.0, None]}
_SPOTS = ("layer", "top", "units", "units.0", "units.0.0", "units.0.0.path", "units.0.0.value",
          "units.0.0.pos", "units.0.0.pos.0", "units.0.0.index", "units.0.0.label", "dataset", "unit_min",
          "sample_set", "rank_by")


def _set(doc: Any, spot: str, value: Any) -> None:
    *parents, last = spot.split(".")
    for key in parents:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    if isinstance(doc, list):
        doc[int(last)] = value
    else:
        doc[last] = value


def record_input(rng: np.random.Generator) -> bytes:
    """A find-max record: the good one with fields replaced by odd values, or its bytes mutated, or deep."""
    import copy

    from tests.helpers.image_seeds import apply, random_ops

    kind = rng.integers(4)
    if kind == 0:
        depth = int(rng.integers(30, 200_000))
        return b"[" * depth + b"]" * depth if rng.random() < 0.5 else b'{"a":' * depth + b"1" + b"}" * depth
    doc = copy.deepcopy(_GOOD)
    for _ in range(int(rng.integers(1, 4))):
        try:   # a spot whose parent an earlier change replaced is skipped
            _set(doc, _SPOTS[int(rng.integers(len(_SPOTS)))],
                 copy.deepcopy(_WEIRD_VALUES[int(rng.integers(len(_WEIRD_VALUES)))]))
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    data = json.dumps(doc).encode()
    if kind == 1:
        data = apply(data, random_ops(rng, len(data), int(rng.integers(1, 6))))
    return data


def fuzz_record(rng: np.random.Generator, folder: Path) -> Result:
    from deepvis_app.core.unitvis.store.records import RecordError, dataset_image, read_find_max_record

    data = record_input(rng)
    path = folder / "find_max" / "conv.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        doc = read_find_max_record(path, "conv" if rng.random() < 0.5 else None)
        for entries in doc["units"]:
            for entry in entries:
                try:
                    dataset_image(folder, entry["path"])
                except RecordError:
                    pass
                float(entry["value"])   # what crops and report do with every entry
                if entry.get("pos") is not None:
                    tuple(int(v) for v in entry["pos"])
        return "ok", data
    except RecordError:
        return "refused", data


_TEMPLATE_PIECES = ("%(", "unit", "layer", "seed", "p.push_channel", "lr", "nope", ")", "0", "9", "99999999999",
                    "d", "s", "f", "x", "%", ".", "*", "-", "#", "/", "x" * 100, "_", "%%", "(")
_FIELDS = {"layer": "conv", "seed": 0, "steps": 2, "preset": "yosinski3", "objective": "neuron", "render": "clip",
           "lr": 1.0}


def fuzz_template(rng: np.random.Generator, folder: Path) -> Result:
    from deepvis_app.core.unitvis.optimize.output import TemplatedOutput

    if rng.random() < 0.5:   # well-formed fields with odd widths, names and conversions
        widths = ['', '4', '255', '256', '9' * int(rng.integers(1, 30))]
        fields = [f"%({rng.choice(['unit', 'layer', 'seed', 'lr', 'p.push_channel', 'nope'])})"
                  f"{rng.choice(['', '0', '-', '#'])}{rng.choice(widths)}"
                  f"{rng.choice(['d', 's', 'f', 'x', 'q'])}" for _ in range(int(rng.integers(1, 4)))]
        template = "_".join(fields)
    else:
        pieces = [_TEMPLATE_PIECES[int(i)]
                  for i in rng.integers(len(_TEMPLATE_PIECES), size=int(rng.integers(1, 12)))]
        template = "".join(pieces)
    try:
        named = TemplatedOutput(str(folder / "named" / "opt"), template, _FIELDS)
        named.check_distinct([0, 1, 99])
        named.paths(5)
        return "ok", template.encode()
    except ValueError:
        return "refused", template.encode()


_PARSER_PIECES = ("-", "+", "(", ")", "[", "]", "{", "}", ":", ",", "*", "/", " ", "1", "0.5", "9" * 400, "1e309",
                  "e", ".", "channel", "neuron", "diversity", "pad", "jitter", "scale", "rotate", "'conv'", "'lr'",
                  "none", "standard", "__import__", "'x'*9**9")


def fuzz_parsers(rng: np.random.Generator, folder: Path) -> Result:
    from deepvis_app.core.unitvis.optimize.objective_expr import parse_objective
    from deepvis_app.core.unitvis.optimize.transform_spec import parse_transforms
    from deepvis_app.settings.limits import literal

    if rng.random() < 0.4:   # well-formed calls with odd numbers, signs and nesting
        number = str(rng.choice(["0", "1", "3", "0.5", "1e309", "9" * 400, "1e-400", "4.0", "1024", "1025"]))
        signs = "-" * int(rng.choice([0, 1, 2, 70, 1000]))
        text = str(rng.choice([f"{signs}channel('conv', {number})", f"{number}*channel('conv', 1)",
                               f"pad({signs}{number}), jitter({number})", f"scale({number}, 1.1)",
                               f"rotate([{number}, {signs}5])", f"{{'lr': {signs}{number}}}"]))
    else:
        pieces = [_PARSER_PIECES[int(i)] for i in rng.integers(len(_PARSER_PIECES), size=int(rng.integers(1, 30)))]
        text = "".join(pieces) * (int(rng.integers(1, 3000)) if rng.random() < 0.3 else 1)
    outcomes = []
    for parse in (lambda t: parse_objective(t, lambda name: {"conv": 8}[name]), parse_transforms):
        try:
            parse(text)
            outcomes.append("ok")
        except ValueError:
            outcomes.append("refused")
    try:
        literal(text, "--set x")
        outcomes.append("ok")
    except (ValueError, SyntaxError):
        outcomes.append("refused")
    return ("ok" if "ok" in outcomes else "refused"), text.encode()


TARGETS: dict[str, Callable[[np.random.Generator, Path], Result]] = {
    "records": fuzz_record, "templates": fuzz_template, "parsers": fuzz_parsers}


def scratch_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="deepvis-fuzz-"))
