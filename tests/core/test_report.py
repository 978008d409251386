"""The static report: pages per layer, images copied and linked relatively, every text escaped."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from deepvis_app.core.unitvis.layout import UnitVisLayout
from deepvis_app.core.unitvis.report import ReportRequest, write_report
from tests.helpers.models import find_max_model

EVIL = "<script>alert('x')</script>"


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("href", "src") and v]

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Collect:
    parser = _Collect()
    parser.feed(path.read_text())
    return parser


def test_report_escapes_labels_and_links_relatively(tmp_path):
    loaded = find_max_model()
    loaded.labels = ["zero", EVIL, "two", "three"]
    layout = UnitVisLayout(tmp_path / "uv")
    tile = np.full((10, 10, 3), 128, dtype=np.uint8)
    for unit in range(4):
        layout.write_unit_image("max_im", "fc", unit, tile)
    layout.write_unit_image("max_deconv", "pool", 1, tile)
    doc = {"layer": "fc", "top": 1, "units": [[{"path": f"{EVIL}.png", "value": 1.5}]] * 4}
    layout.find_max_json("fc").parent.mkdir(parents=True)
    layout.find_max_json("fc").write_text(json.dumps(doc))
    loaded.settings = loaded.settings.__class__(input_size=(16, 16), output_layer="fc", model=EVIL)

    site = tmp_path / "site"
    index = write_report(loaded, ReportRequest(layout.root, site))
    pages = [index, *sorted(site.glob("layer_*.html"))]
    assert {p.name for p in pages} == {"index.html", "layer_fc.html", "layer_pool.html"}
    for page in pages:
        parsed = _parse(page)
        assert "script" not in parsed.tags, page
        assert "<script>" not in page.read_text()
        for link in parsed.links:
            assert not link.startswith(("/", "http:", "https:", "file:")), link
            assert (site / link).is_file(), link
    fc = _parse(site / "layer_fc.html")
    assert EVIL in "".join(fc.text)          # shown as text, not run
    assert len([link for link in fc.links if link.startswith("img/max_im/fc/")]) == 4
