"""static_files_ignore_case (the original's setting of that name): with it False, static_files_regexp
matches file names case-sensitively, in the start folder, in dropped folders, and from an old settings file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepvis_app.io.images import write_image
from deepvis_app.io.playlist import entries_from_spec
from deepvis_app.settings.loader import load_settings
from tests.helpers.waiting import next_frame, wait_until

REGEXP = r".*\.png$"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("A.PNG", "b.png", "c.Png"):
        write_image(folder / name, np.zeros((8, 8, 3), np.uint8))
    return folder


def test_the_regexp_matches_case_sensitively_only_when_asked(tmp_path):
    folder = _folder(tmp_path)
    ignoring, _, _ = entries_from_spec(None, str(folder), REGEXP)
    exact, _, _ = entries_from_spec(None, str(folder), REGEXP, ignore_case=False)
    assert [Path(e).name for e in ignoring] == ["A.PNG", "b.png", "c.Png"]
    assert [Path(e).name for e in exact] == ["b.png"]


def test_a_dropped_folder_follows_the_setting(make_manager, tmp_path):
    folder = _folder(tmp_path)
    manager = make_manager(static_files_ignore_case=False, static_files_regexp=REGEXP)
    first = next_frame(manager, None)
    manager.open_paths([str(folder)])
    assert next_frame(manager, first).name == "b.png"
    manager.next_file()
    wait_until(lambda: manager.latest() is not None and manager.latest().seq > first.seq + 1)
    assert manager.latest().name == "b.png"           # the only entry: case-sensitive matching


def test_the_originals_setting_name_loads(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("static_files_ignore_case = False\n", encoding="utf-8")
    assert load_settings(local_file=local).settings.static_files_ignore_case is False
    assert load_settings(local_file=tmp_path / "none.py").settings.static_files_ignore_case is True
