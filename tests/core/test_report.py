"""The static report: pages per layer, images copied and linked relatively, every text escaped."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from deepvis_app.core.unitvis.report.build import ReportRequest, write_report
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
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


def test_report_shows_every_backprop_kind_and_explains_black_padding(tmp_path):
    loaded = find_max_model()
    loaded.settings = loaded.settings.__class__(input_size=(16, 16), output_layer="fc")
    layout = UnitVisLayout(tmp_path / "uv")
    tile = np.full((10, 10, 3), 90, dtype=np.uint8)
    kinds = ("max_im", "max_backprop", "max_deconvnorm", "max_backpropnorm", "regularized_opt")
    for kind in kinds:
        layout.write_unit_image(kind, "pool", 2, tile)
    site = tmp_path / "site"
    write_report(loaded, ReportRequest(layout.root, site))
    page = _parse(site / "layer_pool.html")
    for kind in kinds:
        assert any(link.startswith(f"img/{kind}/pool/") for link in page.links), kind
    text = "".join(page.text)
    assert "zero-padded" in text and "receptive field" in text
    assert "zero-padded" in "".join(_parse(site / "index.html").text)


def test_report_details_are_conv_net_viz_pictures_of_the_top_image(tmp_path):
    """--details: the top image with its receptive field boxed in red, the full-size backprop, the
    activation map and the all-channels reconstruction, each equal to what it is computed from."""
    from deepvis_app.core.imaging.display import back_view
    from deepvis_app.core.methods.backprop import backprop_from_unit
    from deepvis_app.core.unitvis.findmax.crops import crop_window, layer_receptive_field
    from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
    from deepvis_app.io.images import read_image
    from tests.helpers.datasets import make_dataset

    loaded = find_max_model()
    loaded.settings = loaded.settings.__class__(input_size=(16, 16), output_layer="fc")
    dataset, out = make_dataset(tmp_path / "data", count=6), tmp_path / "uv"
    find_max(loaded, FindMaxRequest(dataset, ("conv",), out, top=3, batch_size=3))
    site = tmp_path / "site"
    write_report(loaded, ReportRequest(out, site, ("conv",), detail_units=(2,), dataset=dataset))
    links = _parse(site / "layer_conv.html").links
    details = sorted(link for link in links if link.startswith("img/details/"))
    assert [Path(link).stem for link in details] == [f"unit_0002_{kind}" for kind in
                                                     ("activation", "all_channels", "backprop", "boxed")]
    top = json.loads(layout_json(out, "conv").read_text())["units"][2][0]
    image = loaded.preprocessor.fit_frame(read_image(dataset / top["path"]))
    x = loaded.preprocessor.to_tensor(image)
    shown = {Path(link).stem.split("_", 2)[2]: read_image(site / link) for link in details}
    box = crop_window(layer_receptive_field(loaded, "conv"), top["pos"])
    red = (shown["boxed"] == (255, 0, 0)).all(axis=2)
    top_row, left = max(box[0], 0), max(box[1], 0)
    assert red[top_row, left] and red.sum() < red.size / 2, "the box outline is red, the inside is the image"
    np.testing.assert_array_equal(shown["boxed"][~red], image[~red])
    for kind, seed in (("backprop", "activation"), ("all_channels", "layer")):
        signal = backprop_from_unit(loaded.module, x, "conv", 2, method="guided", seed=seed).input_grad[0]
        np.testing.assert_array_equal(shown[kind], back_view(signal.numpy(), "raw"))   # PNG: lossless
    assert not np.array_equal(shown["backprop"], shown["all_channels"])


def layout_json(root: Path, layer: str) -> Path:
    return UnitVisLayout(root).find_max_json(layer)


def test_report_methods_add_each_methods_map_of_the_top_image(tmp_path):
    """--methods: each registered method's map for the detail unit on its top image, as `attribute`
    computes it (Grad-CAM family at the spatial layer below), in the method's own view."""
    from deepvis_app.core.imaging.display import ViewScale, back_view
    from deepvis_app.core.methods.registry import attribute, get_method
    from deepvis_app.core.nn.layers import discover_layers
    from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
    from deepvis_app.io.images import read_image
    from tests.helpers.datasets import make_dataset

    loaded = find_max_model()
    loaded.settings = loaded.settings.__class__(input_size=(16, 16), output_layer="fc")
    loaded.layers = discover_layers(loaded.module, loaded.settings)
    dataset, out = make_dataset(tmp_path / "data", count=6), tmp_path / "uv"
    find_max(loaded, FindMaxRequest(dataset, ("pool",), out, top=3, batch_size=3))
    site = tmp_path / "site"
    methods = ("gradcam", "scorecam", "input_x_gradient", "guided")
    write_report(loaded, ReportRequest(out, site, ("pool",), detail_units=(2,), dataset=dataset, methods=methods))
    links = [link for link in _parse(site / "layer_pool.html").links if link.startswith("img/methods/")]
    assert sorted(Path(link).stem for link in links) == sorted(f"unit_0002_{name}" for name in methods)
    top = json.loads(layout_json(out, "pool").read_text())["units"][2][0]
    image = loaded.preprocessor.fit_frame(read_image(dataset / top["path"]))
    x = loaded.preprocessor.to_tensor(image)
    for name in methods:
        expected = attribute(loaded.module, x, name, layer="pool", unit=2, cam_layer="conv")[0].detach().numpy()
        shown = read_image(site / f"img/methods/pool/unit_0002_{name}.png")
        method = get_method(name)   # its default view and clip, as `deepvis attribute -o` shows it
        np.testing.assert_array_equal(shown, back_view(expected, method.view, image=image,
                                                       scale=ViewScale(clip_percent=method.clip)))
