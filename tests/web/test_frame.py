"""The browser's picture: every pane image at the rect the window gives it, and no text burnt in (the page
shows the text as HTML)."""

from __future__ import annotations

import numpy as np

from deepvis_app.core.app.session import Session
from deepvis_app.io.sources import InputManager
from deepvis_app.web.frame import compose, layout

SIZE = (900, 600)


def test_compose_places_every_pane_image_at_its_rect_and_nothing_else(tiny_loaded):
    loaded = tiny_loaded
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"), sync=True)
    rects = layout(*SIZE, None)
    session.set_pane_sizes({name: (r.w, r.h) for name, r in rects.items() if name != "control"})
    session.start()
    session.process_pending()
    session.handle_key("h")                       # the help is on: the window would draw it over the panes
    result = session.latest_result()
    assert result.help_lines and result.text and result.status
    background = np.rint(np.asarray(loaded.settings.window_background) * 255).astype(np.uint8)
    frame = compose(result, SIZE, loaded.settings.window_background)
    assert frame.shape == (SIZE[1], SIZE[0], 3) and "input" in result.images and "layers" in result.images
    covered = np.zeros(frame.shape[:2], bool)
    for name, image in result.images.items():
        rect = layout(*SIZE, result)[name]
        rows, cols = min(image.shape[0], rect.h), min(image.shape[1], rect.w)
        np.testing.assert_array_equal(frame[rect.y:rect.y + rows, rect.x:rect.x + cols], image[:rows, :cols])
        covered[rect.y:rect.y + rows, rect.x:rect.x + cols] = True
    assert (frame[~covered] == background).all()     # no status line, labels or help drawn into the picture
    session.stop()
