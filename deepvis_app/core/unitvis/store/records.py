"""The one reader of find-max records (find_max/<layer>.json, find_min/<layer>.json): sizes, types,
ranges and image paths checked before any command uses them.

`deepvis crops`, `deepvis report` and the window's score captions all read these files; a record
edited by hand, truncated, or written by someone else must not crash them with an internal error
(`"top": "9"`, `"value": "abc"`, a missing `path`, `"pos": "ab"`, JSON nested 100,000 deep) nor make
them read images outside the dataset (an absolute or `../` path). `read_find_max_record` returns the
document only when every field has its type and range; otherwise a `RecordError` names the file and
the field, in one line. `dataset_image` is the only way from a record's path to a file: a path that
leaves the dataset folder is a problem, not a read. Bounds: `limits.MAX_RECORD_BYTES` per file,
`limits.MAX_JSON_DEPTH` nesting.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from deepvis_app.errors import DeepvisError
from deepvis_app.io.text_files import TextFileError, read_text_bounded
from deepvis_app.settings.limits import MAX_JSON_DEPTH, MAX_RECORD_BYTES, cut_line

MAX_TOP = 100_000          # images kept per unit
MAX_UNITS = 10_000_000     # units of one layer


class RecordError(DeepvisError, ValueError):
    """A record file that is missing, too large, or has a field of the wrong type or range (one line)."""


def load_json_bounded(path: Path) -> Any:
    """The JSON document in `path`, within MAX_RECORD_BYTES and MAX_JSON_DEPTH; `RecordError` otherwise."""
    try:
        text = read_text_bounded(path, MAX_RECORD_BYTES, "record file")
    except TextFileError as exc:
        raise RecordError(str(exc)) from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise RecordError(f"{path}: JSON nested too deeply (the limit is {MAX_JSON_DEPTH} levels)") from None
    except ValueError as exc:
        raise RecordError(f"{path}: not valid JSON ({cut_line(str(exc), 120)})") from None
    if _depth(doc) > MAX_JSON_DEPTH:
        raise RecordError(f"{path}: JSON nested too deeply (the limit is {MAX_JSON_DEPTH} levels)")
    return doc


def _depth(doc: Any) -> int:
    deepest, stack = 0, [(doc, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
    return deepest


class _Checker:
    """Field checks that raise `RecordError("<file>: field <where>: problem")`."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str) -> RecordError:
        return RecordError(f"{self.path}: field {where}: {problem}")

    def shown(self, value: Any) -> str:
        return cut_line(repr(value), 40)

    def integer(self, value: Any, where: str, low: int = 0, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"{self.shown(value)} is not a whole number")
        if value < low or (high is not None and value > high):
            raise self.fail(where, f"{value} is out of range ({low} to {high if high is not None else 'any'})")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"{self.shown(value)} is not a number")
        return value

    def text(self, value: Any, where: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"{self.shown(value)} is not a string")
        return value

    def pair(self, value: Any, where: str, item: Callable[[Any, str], Any]) -> None:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(where, f"{self.shown(value)} is not a pair like [3, 4]")
        for index, part in enumerate(value):
            item(part, f"{where}[{index}]")

    def image_path(self, value: Any, where: str) -> None:
        name = self.text(value, where)
        assert name is not None
        if not name or "\0" in name:
            raise self.fail(where, f"{self.shown(value)} is not an image path")
        if ".." in Path(name).parts:
            raise self.fail(where, f"{self.shown(value)} leaves the dataset folder ('..')")

    def entry(self, entry: Any, where: str) -> None:
        if not isinstance(entry, dict):
            raise self.fail(where, f"{self.shown(entry)} is not an entry like {{\"path\": ..., \"value\": ...}}")
        if "path" not in entry:
            raise self.fail(f"{where}.path", "missing")
        self.image_path(entry["path"], f"{where}.path")
        if "value" not in entry:
            raise self.fail(f"{where}.value", "missing")
        self.number(entry["value"], f"{where}.value")
        if entry.get("pos") is not None:
            self.pair(entry["pos"], f"{where}.pos", self.integer)
        if entry.get("image_pos") is not None:
            self.pair(entry["image_pos"], f"{where}.image_pos", self.number)
        if "index" in entry:
            self.integer(entry["index"], f"{where}.index")
        if entry.get("label") is not None and not isinstance(entry["label"], (int, str)):
            raise self.fail(f"{where}.label", f"{self.shown(entry['label'])} is not a class index or name")


def check_find_max_record(doc: Any, path: Path, layer: str | None = None) -> dict:
    """`doc` when it is a find-max record (of `layer`, when given); `RecordError` naming the field."""
    check = _Checker(path)
    if not isinstance(doc, dict):
        raise RecordError(f"{path}: not a find-max result (a JSON object with layer, top and units)")
    for name in ("layer", "top", "units"):
        if name not in doc:
            raise check.fail(name, "missing")
    check.text(doc["layer"], "layer")
    if layer is not None and doc["layer"] != layer:
        raise check.fail("layer", f"{check.shown(doc['layer'])}, but the file is for layer '{layer}'")
    top = check.integer(doc["top"], "top", 1, MAX_TOP)
    units = doc["units"]
    if not isinstance(units, list) or len(units) > MAX_UNITS:
        raise check.fail("units", "not a list of units (each a list of entries)")
    for unit, entries in enumerate(units):
        if not isinstance(entries, list) or len(entries) > top:
            raise check.fail(f"units[{unit}]", f"not a list of at most top={top} entries")
        for rank, entry in enumerate(entries):
            check.entry(entry, f"units[{unit}][{rank}]")
    for name in ("dataset", "file_list", "rank_by", "order"):
        check.text(doc.get(name), name, optional=True)
    for name in ("unit_min", "unit_max"):
        values = doc.get(name)
        if values is not None:
            if not isinstance(values, list):
                raise check.fail(name, "not a list of numbers")
            for index, value in enumerate(values):
                if value is not None:
                    check.number(value, f"{name}[{index}]")
    spec = doc.get("sample_set")
    if spec is not None:
        if not isinstance(spec, dict):
            raise check.fail("sample_set", "not an object like {\"variants\": 4, \"seed\": 0}")
        for name in ("variants", "seed"):
            if name in spec:
                check.integer(spec[name], f"sample_set.{name}", 0, 1000)
    return doc


def read_find_max_record(path: Path, layer: str | None = None) -> dict:
    """The validated find-max (or find-min) record in `path`; `RecordError` for anything else."""
    return check_find_max_record(load_json_bounded(path), path, layer)


def dataset_image(root: str | Path, name: str) -> Path:
    """The file a record's image path names under the dataset folder `root`; `RecordError` when it
    lies outside (absolute elsewhere, or `..`). An absolute path inside `root` is accepted (a file
    list may name images that way)."""
    base = os.path.normpath(os.path.abspath(root))
    candidate = os.path.normpath(os.path.join(base, name))
    if "\0" in name or os.path.commonpath([base, candidate]) != base:
        raise RecordError(f"{cut_line(name, 80)}: outside the dataset folder {base}; a record's image paths "
                          "must lie inside it")
    return Path(candidate)
