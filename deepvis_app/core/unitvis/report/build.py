"""`deepvis report`: a static HTML site of a model's per-unit images, that opens from disk.

An index lists the layers; a page per layer shows every unit with its label, the top-k montage,
the deconv / guided montages, the optimized image, and the find-max entries (image, value,
position). The images are copied into the site, so it keeps working when moved or zipped; all
links are relative and every text (labels, layer names, file names) goes through html.escape.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.findmax.crop_pipeline import fitted_reader
from deepvis_app.core.unitvis.report.unit_details import DETAIL_KINDS, method_map_images, unit_detail_images
from deepvis_app.core.unitvis.store.records import read_find_max_record
from deepvis_app.core.unitvis.store.sample_set import sample_set_folder
from deepvis_app.core.unitvis.store.unit_layout import (
    EXTRA_IMAGE_KINDS,
    NORM_IMAGE_KINDS,
    UNIT_IMAGE_KINDS,
    UnitVisLayout,
)
from deepvis_app.io.images import write_bytes_atomic, write_image

KIND_TITLES = {"max_im": "top images", "max_deconv": "deconv", "max_guided": "guided backprop",
               "max_backprop": "backprop", "max_deconvnorm": "deconv norm", "max_guidednorm": "guided backprop norm",
               "max_backpropnorm": "backprop norm", "regularized_opt": "optimized"}
SHOWN_KINDS = ("max_im", "max_deconv", "max_guided", "max_backprop", "max_deconvnorm", "max_guidednorm",
               "max_backpropnorm", "regularized_opt")
# Shown on every page: what the black borders of some crops are.
PADDING_NOTE = ("Black borders in a top image or its backprop: the unit's receptive field reaches past the "
                "image there; that part is zero-padded (as in the original toolbox) so that the unit's "
                "position stays at the centre of every crop. It is not image content.")
_STYLE = """body{font-family:sans-serif;background:#222;color:#ddd;margin:1em}a{color:#9cf}
.unit{display:inline-block;vertical-align:top;margin:6px;padding:6px;background:#333;border-radius:4px}
.unit img{width:160px;height:auto;margin:2px;image-rendering:auto}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #444;text-align:left}details{font-size:small;max-width:340px}"""


@dataclass(frozen=True)
class ReportRequest:
    """``detail_units``: units whose top image also gets conv-net-viz's pictures (`unit_details`),
    computed from the image in ``dataset`` (default: the folder find-max recorded)."""

    unit_vis: Path
    site: Path
    layers: tuple[str, ...] | None = None
    detail_units: tuple[int, ...] = ()
    dataset: Path | None = None
    methods: tuple[str, ...] = ()   # back-pane methods whose map of the top image each detail unit also gets
    problems: list[str] = field(default_factory=list, compare=False)   # filled: each detail not drawn, one line
    bar: Any = None   # a progress bar (tqdm's): its total set to the detail units to draw, update() after each


def write_report(loaded: LoadedModel, request: ReportRequest) -> Path:
    """Write the site; returns the path of its index.html."""
    layout = UnitVisLayout(request.unit_vis)
    found = set(layout.layers_on_disk()) | set(layout.find_max_layers())
    found |= {p.name for kind in EXTRA_IMAGE_KINDS + NORM_IMAGE_KINDS for p in (layout.root / kind).glob("*")
              if p.is_dir()}
    order = {info.name: index for index, info in enumerate(loaded.layers)}
    layers = list(request.layers) if request.layers else sorted(found, key=lambda n: (order.get(n, len(order)), n))
    rows = []
    if request.bar is not None:
        request.bar.total = len(layers) * len(request.detail_units)
    for layer in layers:
        units = _unit_count(loaded, layout, layer)
        page = f"layer_{_safe(layer)}.html"
        _write_page(request.site / page, _layer_page(loaded, layout, layer, units, request))
        pretty = _pretty(loaded, layer)
        rows.append(f"<tr><td><a href=\"{quote(page)}\">{html.escape(pretty)}</a></td>"
                    f"<td>{html.escape(layer)}</td><td>{units}</td></tr>")
    title = f"deepvis report: {loaded.settings.model}"
    body = (f"<h1>{html.escape(title)}</h1><table><tr><th>layer</th><th>module</th><th>units</th></tr>"
            + "".join(rows) + f"</table><p>{html.escape(PADDING_NOTE)}</p>")
    index = request.site / "index.html"
    _write_page(index, _document(title, body))
    return index


def _unit_count(loaded: LoadedModel, layout: UnitVisLayout, layer: str) -> int:
    try:
        return loaded.layer(layer).channels
    except KeyError:
        pass
    if layout.find_max_json(layer).is_file():
        return len(_find_max_doc(layout, layer)["units"])
    return max((int(m.group(1)) + 1 for kind in UNIT_IMAGE_KINDS + EXTRA_IMAGE_KINDS
                for p in (layout.root / kind / layer).glob("*.*")
                if (m := re.search(r"_(\d{4})\.(jpg|png)$", p.name))), default=0)


def _layer_page(loaded: LoadedModel, layout: UnitVisLayout, layer: str, units: int, request: ReportRequest) -> str:
    site = request.site
    entries = _find_max_units(layout, layer)
    details = _Details(loaded, layout, layer, request) if request.detail_units else None
    is_output = layer == loaded.output_layer
    cards = []
    for unit in range(units):
        label = loaded.label(unit) if is_output else ""
        images = "".join(_image(layout, kind, layer, unit, site) for kind in SHOWN_KINDS)
        if details is not None and unit in request.detail_units:
            images += details.html(unit, entries)
            details.done()
        cards.append(f"<div class=\"unit\" id=\"unit{unit}\"><b>unit {unit}</b> {html.escape(label)}<br>"
                     f"{images}{_entries(entries, unit)}</div>")
    title = f"{_pretty(loaded, layer)} ({layer})"
    body = (f"<p><a href=\"index.html\">&larr; layers</a></p><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(PADDING_NOTE)}</p>" + "".join(cards))
    return _document(title, body)


class _Details:
    """conv-net-viz's pictures of a unit's top image (`unit_details`), written into the site."""

    def __init__(self, loaded: LoadedModel, layout: UnitVisLayout, layer: str, request: ReportRequest):
        self.loaded, self.layer, self.site, self.methods = loaded, layer, request.site, request.methods
        self.problems = request.problems
        self.bar = request.bar
        self.fitted = fitted_reader(loaded, request.dataset or _recorded_dataset(_find_max_doc(layout, layer)))

    def done(self) -> None:
        """One detail unit drawn (or failed): move the bar."""
        if self.bar is not None:
            self.bar.update()

    def html(self, unit: int, entries: list[list[dict]]) -> str:
        if unit >= len(entries) or not entries[unit]:
            if entries:   # a layer without find-max results (only optimized images) has no top images to detail
                self.problems.append(f"{self.layer} unit {unit}: no find-max entry, no details")
            return "<p>no find-max entry for this unit: no details</p>"
        top = entries[unit][0]
        image = self.fitted(str(top["path"]))
        if isinstance(image, str):
            self.problems.append(f"{self.layer} unit {unit}: {top['path']}: {image}")
            return f"<p>{html.escape(str(top['path']))}: {html.escape(image)}</p>"
        position = tuple(top["pos"]) if top.get("pos") is not None else None
        pictures = unit_detail_images(self.loaded, self.layer, unit, image, position)
        titles = dict(DETAIL_KINDS)
        maps = method_map_images(self.loaded, self.layer, unit, image, self.methods) if self.methods else {}
        parts, failed = [], []
        for kind, picture in [*pictures.items(), *maps.items()]:
            if isinstance(picture, str):
                self.problems.append(f"{self.layer} unit {unit}: {picture}")
                failed.append(f"<p>{html.escape(picture)}</p>")
                continue
            folder = "details" if kind in titles else "methods"
            relative = Path("img") / folder / _safe(self.layer) / f"unit_{unit:04d}_{kind}.png"
            write_image(self.site / relative, picture)
            alt = html.escape(f"{titles.get(kind, kind + ' map')} (unit {unit}, {top['path']})")
            parts.append(f"<img src=\"{quote(relative.as_posix())}\" alt=\"{alt}\" title=\"{alt}\">")
        return "<br>" + "".join(parts) + "".join(failed)


def _image(layout: UnitVisLayout, kind: str, layer: str, unit: int, site: Path) -> str:
    source = layout.unit_image(kind, layer, unit)
    if not source.is_file():
        return ""
    relative = Path("img") / kind / _safe(layer) / source.name
    target = site / relative
    data = source.read_bytes()   # a rerun compares contents (a killed run's truncated copy is newer than its
    if not (target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data):  # source)
        write_bytes_atomic(target, data)   # temp file, then rename: a killed run leaves no half image
    alt = html.escape(f"{KIND_TITLES[kind]} of unit {unit}")
    return f"<img src=\"{quote(relative.as_posix())}\" alt=\"{alt}\" title=\"{alt}\">"


def _find_max_doc(layout: UnitVisLayout, layer: str) -> dict:
    """The layer's find-max record, validated (`records.RecordError` naming the field), or {} when absent."""
    path = layout.find_max_json(layer)
    return read_find_max_record(path, layer) if path.is_file() else {}


def _recorded_dataset(doc: dict) -> Path:
    """The image folder find-max recorded; when it is not on this disk and the record names the sample
    set it was computed on (the shipped unit images do), that set, rewritten into the cache."""
    recorded = Path(str(doc.get("dataset", ".")))
    spec = doc.get("sample_set")
    if recorded.is_dir() or not isinstance(spec, dict):
        return recorded
    return sample_set_folder(int(spec.get("variants", 4)), int(spec.get("seed", 0)))


def _find_max_units(layout: UnitVisLayout, layer: str) -> list[list[dict]]:
    units = _find_max_doc(layout, layer).get("units", [])
    return units if isinstance(units, list) else []


def _entries(units: list[list[dict]], unit: int) -> str:
    if unit >= len(units) or not units[unit]:
        return ""
    rows = "".join(f"<li>{html.escape(str(e.get('path')))}: {float(e.get('value', 0.0)):.3g}"
                   f"{html.escape(' at ' + str(e['pos'])) if 'pos' in e else ''}</li>" for e in units[unit])
    return f"<details><summary>top {len(units[unit])}</summary><ol>{rows}</ol></details>"


def _pretty(loaded: LoadedModel, layer: str) -> str:
    try:
        return loaded.layer(layer).pretty
    except KeyError:
        return layer


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _document(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def _write_page(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
