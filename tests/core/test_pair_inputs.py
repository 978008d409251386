"""Two-input (siamese) networks' inputs: pair lists, "first,second", folders paired in order, and the
original's is_siamese / siamese_input_mode / siamese_image_list settings."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from skimage.io import imsave

from deepvis_app.io.playlist import PAIR_SEP, entries_from_spec, entry_name, read_entry_image
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.loader import load_settings


@pytest.fixture
def images(tmp_path):
    imsave(tmp_path / "a.png", data.chelsea())              # 300 x 451
    imsave(tmp_path / "b.png", data.coffee())               # 400 x 600
    imsave(tmp_path / "c.png", data.astronaut())            # 512 x 512
    return tmp_path


def test_a_pair_list_names_two_images_a_line_and_a_label(images):
    listing = images / "pairs.txt"
    listing.write_text("# first second label\na.png b.png same\nc.png a.png\n")
    entries, index, messages = entries_from_spec(str(listing), None, r".*\.png$", pairs=True)
    assert index == 0 and not messages
    assert [entry_name(e) for e in entries] == ["a.png + b.png", "c.png + a.png"]
    frame = read_entry_image(entries[0])
    assert frame.shape == (300, 600, 3)                      # both squares at the smaller side
    left, right = frame[:, :300], frame[:, 300:]
    assert abs(float(left.mean()) - float(data.chelsea()[:, 75:375].mean())) < 2
    assert abs(float(right.mean()) - float(data.coffee()[:, 100:500].mean())) < 6


def test_first_comma_second_is_one_pair_and_a_folder_is_paired_in_order(images):
    entries, _, _ = entries_from_spec(f"{images / 'c.png'},sample:coffee", None, r".*\.png$", pairs=True)
    assert entries == [str(images / "c.png") + PAIR_SEP + "sample:coffee"]
    entries, _, _ = entries_from_spec(str(images), None, r".*\.png$", pairs=True)
    assert [entry_name(e) for e in entries] == ["a.png + b.png", "c.png + a.png"]
    with pytest.raises(ValueError, match="nope.png"):
        entries_from_spec(f"{images / 'a.png'},{images / 'nope.png'}", None, r".*\.png$", pairs=True)


def test_without_pairs_a_list_line_is_one_image_and_its_label(images):
    listing = images / "list.txt"
    listing.write_text("a.png 285\n")
    entries, _, _ = entries_from_spec(str(listing), None, r".*\.png$")
    assert entries == [str(images / "a.png")]


def test_the_input_manager_serves_pair_frames(images):
    settings = load_settings().settings.replace(two_inputs="arguments")
    with InputManager(settings, str(images)) as inputs:
        frame = inputs.wait_for_frame(timeout=10.0)
        assert frame is not None and frame.name == "a.png + b.png"
        assert frame.image.shape[1] == 2 * frame.image.shape[0]


@pytest.mark.parametrize("mode, ours", [("concat_channelwise", "channels"), ("concat_along_width", "width")])
def test_the_originals_siamese_settings_load(tmp_path, mode, ours):
    local = tmp_path / "settings_local.py"
    local.write_text(f"is_siamese = True\nsiamese_input_mode = {mode!r}\n"
                     "static_files_input_mode = 'siamese_image_list'\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.two_inputs == ours
    assert any("siamese_image_list" in note for note in loaded.notes)


def test_is_siamese_false_changes_nothing(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("is_siamese = False\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.two_inputs is None


def test_a_pair_frame_feeds_both_images(images):
    from deepvis_app.core.nn.preprocess import Preprocessor

    settings = load_settings().settings.replace(two_inputs="channels", input_size=(32, 32))
    pre = Preprocessor(settings)
    frame = read_entry_image(str(images / "a.png") + PAIR_SEP + str(images / "b.png"))
    x = pre.to_array(pre.fit_frame(frame))
    assert x.shape == (6, 32, 32)
    assert not np.allclose(x[:3], x[3:])
