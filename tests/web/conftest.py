"""A live `deepvis web` server per test module (uvicorn in a thread, 127.0.0.1, ephemeral port), on the
tiny model whose class names are non-ASCII, so every label the page shows holds accents."""

from __future__ import annotations

import pytest

LABELS = [f"café Ångström {index} 猫" for index in range(10)]   # the tiny model's 10 classes


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    import cv2
    import torch

    from tests.helpers.web_server import start_live_server, tiny_loaded_with_labels

    # No worker pools of torch (OpenMP) or OpenCV that come and go with the model's work and the JPEGs:
    # the threads the tests count are the server's.
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(0)

    labels = tmp_path_factory.mktemp("labels") / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    server = start_live_server(tiny_loaded_with_labels(labels))
    yield server
    server.stop()
    torch.set_num_threads(threads)
    cv2.setNumThreads(cv_threads)
