"""The status line's layer size and receptive field (the arikpoz fork's second status line).

The size must be the layer's output shape, the receptive field the extent of the input pixels one
position depends on, measured here independently as the support of the input gradient; it is composed
once per layer of the model, not per frame, and left out where it cannot be composed.
"""

from __future__ import annotations

import re

from deepvis_app.core.app import pane_source
from deepvis_app.core.unitvis.findmax.receptive_field import measure_receptive_field
from tests.helpers.sessions import press

GEOMETRY = re.compile(r" \| size (\d+(?:x\d+)*)(?:, RF (\d+)x(\d+))? \| ")


def _geometry(status: str) -> tuple[str, tuple[int, int] | None]:
    found = GEOMETRY.search(status)
    assert found, status
    size, height, width = found.groups()
    return size, None if height is None else (int(height), int(width))


def test_every_layer_shows_its_shape_and_measured_receptive_field(tiny_session, tiny_loaded):
    session = tiny_session()
    result = press(session, "Esc")
    channels, *input_size = (tiny_loaded.settings.input_channels, *tiny_loaded.settings.input_size)
    for index, layer in enumerate(tiny_loaded.layers):
        assert session.state.layer_idx == index
        size, rf = _geometry(result.status)
        assert size == "x".join(str(n) for n in layer.shape), result.status
        position = (layer.shape[1] // 2, layer.shape[2] // 2) if layer.is_spatial else None
        top, left, bottom, right = measure_receptive_field(tiny_loaded.module, (channels, *input_size),
                                                           layer.name, position, trials=4)
        assert rf == (bottom - top, right - left), (layer.name, result.status)
        result = press(session, "o")
    assert session.state.layer_idx == len(tiny_loaded.layers) - 1


def test_the_receptive_field_is_composed_once_per_layer(tiny_session, monkeypatch):
    calls: list[str] = []
    real = pane_source.receptive_field

    def counting(model, shape, layer, device="cpu"):
        calls.append(layer)
        return real(model, shape, layer, device)

    monkeypatch.setattr(pane_source, "receptive_field", counting)
    session = tiny_session()
    for keys in (("k",), ("l", "l"), ("b",), ("o",), ("u",), ("t", "o", "u")):
        press(session, *keys)
        session.process_pending()
    assert sorted(calls) == ["0", "1"]


def test_a_layer_whose_receptive_field_cannot_be_composed_shows_only_its_size(tiny_session, monkeypatch,
                                                                               tiny_loaded):
    monkeypatch.setattr(pane_source, "receptive_field", lambda *args, **kwargs: None)
    result = press(tiny_session(), "Esc")
    assert _geometry(result.status) == ("x".join(map(str, tiny_loaded.layers[0].shape)), None)
