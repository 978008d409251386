"""`deepvis gui` and `deepvis web` make one thread torch's default before they load the model, so that only
the session's compute thread keeps a pool of OpenMP threads (core.nn.threads: two pools on two cores
throttle each other and doubled the live forward), and fix malloc's thresholds (core.nn.allocator: the
compute thread's forwards mapped fresh pages each time)."""

from __future__ import annotations

import pytest
import torch

from deepvis_app.cli import gui_command, web_command
from deepvis_app.cli.common import UserError
from deepvis_app.cli.main import main
from deepvis_app.core.nn import allocator


@pytest.mark.parametrize(("command", "module"), [("gui", gui_command), ("web", web_command)])
def test_the_live_commands_load_the_model_with_one_thread_as_torch_default(command, module, monkeypatch):
    seen: list[object] = []

    def load_instead(_args):
        seen.append(torch.get_num_threads())
        raise UserError("stopped where the model would load")

    monkeypatch.setattr(module, "model_from_args", load_instead)
    # recorded, not run: malloc's settings would stay for the rest of this test process
    monkeypatch.setattr(allocator, "reuse_freed_memory", lambda: seen.append("malloc thresholds"))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)   # torch's default on the 2-core machine, whatever this process has
        assert main([command]) != 0
    finally:
        torch.set_num_threads(before)
    assert seen == ["malloc thresholds", 1]
