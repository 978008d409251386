"""The static input list (`io/playlist.py`) function by function, on real files: names, pairs, list files
and their labels, folders, the messages of what is skipped, `--input` specs; written against its mutants
(`scripts/mutate.sh`, docs/testing.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepvis_app.io.decode import ImageReadError
from deepvis_app.io.images import SAMPLE_NAMES, write_image
from deepvis_app.io.playlist import (
    PAIR_SEP,
    PAIR_SIDE,
    InputError,
    entries_from_paths,
    entries_from_spec,
    entry_name,
    is_video,
    join_pair,
    list_folder,
    list_labels,
    pair_entry,
    pair_up,
    read_entry_image,
    read_input,
    read_list_file,
    sample_entries,
)

ANY_PNG = r".*\.png$"


def _png(path: Path, value: int = 0, shape=(8, 8)) -> str:
    write_image(path, np.full((*shape, 3), value, np.uint8))
    return str(path)


def test_sample_entries_and_names():
    assert sample_entries() == [f"sample:{name}" for name in SAMPLE_NAMES]
    assert entry_name("/a/b/cat.jpg") == "cat.jpg" and entry_name("sample:coffee") == "sample:coffee"
    assert entry_name(pair_entry("/x/a.png", "sample:cat")) == "a.png + sample:cat"
    assert entry_name(pair_entry("/x/my cat.png", "/y/a dog.png")) == "my cat.png + a dog.png"   # spaces kept
    assert pair_entry("a", "b") == "a" + PAIR_SEP + "b"


def test_is_video_by_suffix_only_for_single_files():
    assert is_video("/v/clip.MP4") and is_video("film.webm")
    assert not is_video("a.png") and not is_video("sample:clip.mp4")
    assert not is_video(pair_entry("a.mp4", "b.mp4"))


def test_pair_up_in_order_without_videos():
    assert pair_up(["a", "b", "c", "d"]) == [pair_entry("a", "b"), pair_entry("c", "d")]
    assert pair_up(["a", "v.mp4", "b", "c"]) == [pair_entry("a", "b"), pair_entry("c", "a")]
    assert pair_up(["a"]) == [pair_entry("a", "a")]


def test_join_pair_crops_squares_and_puts_them_side_by_side():
    wide = np.zeros((10, 20, 3), np.uint8)
    wide[:, 5:15] = 200                                    # the centre square
    tall = np.zeros((30, 10, 3), np.uint8)
    tall[10:20] = 100
    frame = join_pair(wide, tall)
    assert frame.shape == (10, 20, 3) and frame.flags["C_CONTIGUOUS"]
    assert (frame[:, :10] == 200).all() and (frame[:, 10:] == 100).all()
    big = np.arange(30 * 30 * 3, dtype=np.uint8).reshape(30, 30, 3)
    small = join_pair(big, np.zeros((10, 10, 3), np.uint8))
    area = big.reshape(10, 3, 10, 3, 3).mean(axis=(1, 3))  # 30 -> 10: the mean of each 3x3 block
    np.testing.assert_allclose(small[:, :10], area, atol=1)
    huge = join_pair(np.zeros((600, 700, 3), np.uint8), np.zeros((900, 600, 3), np.uint8))
    assert huge.shape == (PAIR_SIDE, 2 * PAIR_SIDE, 3)


def test_read_entry_image_of_a_pair_and_of_one_file(tmp_path):
    first, second = _png(tmp_path / "a.png", 10), _png(tmp_path / "b.png", 250, (16, 16))
    frame = read_entry_image(pair_entry(first, second))
    assert frame.shape == (8, 16, 3) and frame[0, 0, 0] == 10 and frame[0, 15, 0] == 250
    assert read_entry_image(first).shape == (8, 8, 3)
    for entry in (first, pair_entry(first, second), pair_entry(second, first)):   # over max_pixels: refused
        with pytest.raises(ImageReadError):
            read_entry_image(entry, max_pixels=50)
    for entry in (pair_entry(first, second), pair_entry(second, first)):   # 64 pixels pass, 256 do not
        with pytest.raises(ImageReadError):
            read_entry_image(entry, max_pixels=100)
    spaced = _png(tmp_path / "a b.png", 40)
    assert read_entry_image(pair_entry(spaced, first))[0, 0, 0] == 40


def test_list_folder_matches_files_sorted(tmp_path):
    for name in ("b.png", "A.PNG", "c.jpg"):
        _png(tmp_path / name)
    (tmp_path / "d.png").mkdir()                           # a folder is not listed, even when its name matches
    assert [Path(p).name for p in list_folder(tmp_path, ANY_PNG)] == ["A.PNG", "b.png"]
    assert [Path(p).name for p in list_folder(tmp_path, ANY_PNG, ignore_case=False)] == ["b.png"]
    assert list_folder(tmp_path, ANY_PNG)[0] == str(tmp_path / "A.PNG")


def test_list_file_tokens_comments_and_labels(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("# a comment\n\n  cat.jpg 285\ndog.jpg,207 extra\nsample:coffee\t967\nbird.jpg\n"
                       "   # indented comment\n", encoding="utf-8")
    assert read_list_file(listing) == [str(tmp_path / "cat.jpg"), str(tmp_path / "dog.jpg"), "sample:coffee",
                                       str(tmp_path / "bird.jpg")]
    assert list_labels([listing]) == {"cat.jpg": "285", "dog.jpg": "207 extra", "sample:coffee": "967"}


def test_a_list_file_with_bytes_that_are_not_utf8_is_read(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"# caf\xe9 (latin-1)\ncat.jpg 285\n")
    assert read_list_file(listing) == [str(tmp_path / "cat.jpg")]


def test_a_pair_list_file(tmp_path):
    listing = tmp_path / "pairs.TXT"
    listing.write_text("a.png b.png same pair\nc.png\nsample:cat, d.png\n", encoding="utf-8")
    assert read_list_file(listing, pairs=True) == [
        pair_entry(str(tmp_path / "a.png"), str(tmp_path / "b.png")),
        pair_entry(str(tmp_path / "c.png"), str(tmp_path / "c.png")),
        pair_entry("sample:cat", str(tmp_path / "d.png"))]
    assert list_labels([listing], pairs=True) == {"a.png + b.png": "same pair"}


def test_list_labels_reads_only_list_files_that_exist(tmp_path):
    image = _png(tmp_path / "x.png")
    other = tmp_path / "notes.md"
    other.write_text("x.png 1\n", encoding="utf-8")
    assert list_labels([image, other, tmp_path / "missing.txt"]) == {}


def test_entries_from_paths_and_their_messages(tmp_path):
    a, b = _png(tmp_path / "a.png"), _png(tmp_path / "b.png")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    odd = tmp_path / "scan.raw"                            # not an image suffix, but the regexp takes it
    odd.write_bytes(b"x")
    notes = tmp_path / "notes.doc"
    notes.write_bytes(b"x")
    empty = tmp_path / "empty"
    empty.mkdir()
    entries, messages = entries_from_paths([b, str(video), str(odd), str(notes), str(empty),
                                            str(tmp_path / "gone.png"), a], r".*\.RAW$")
    assert entries == [b, str(video), str(odd), a]
    assert messages == [f"{notes}: not an image or video file (skipped)",
                        f"{empty}: no image files in this folder",
                        f"{tmp_path / 'gone.png'}: no such file"]
    _, exact = entries_from_paths([str(odd)], r".*\.RAW$", ignore_case=False)
    assert exact == [f"{odd}: not an image or video file (skipped)"]


def test_list_file_messages(tmp_path):
    _png(tmp_path / "here.png")
    listing = tmp_path / "list.txt"
    listing.write_text("here.png\nmissing1.png\nsample:cat\nmissing2.png\n", encoding="utf-8")
    entries, messages = entries_from_paths([str(listing)], ANY_PNG)
    assert entries == [str(tmp_path / "here.png"), "sample:cat"]
    assert messages == [f"{listing}: 2 of 4 listed files not found (first: {tmp_path / 'missing1.png'})"]
    whole = tmp_path / "whole.txt"
    whole.write_text("here.png\n", encoding="utf-8")
    assert entries_from_paths([str(whole)], ANY_PNG) == ([str(tmp_path / "here.png")], [])
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    assert entries_from_paths([str(empty)], ANY_PNG) == ([], [f"{empty}: the list names no files"])


def test_pairs_from_paths(tmp_path):
    a, b, c = (_png(tmp_path / f"{n}.png") for n in "abc")
    entries, _ = entries_from_paths([a, b, c], ANY_PNG, pairs=True)
    assert entries == [pair_entry(a, b), pair_entry(c, a)]
    listing = tmp_path / "pairs.txt"
    listing.write_text("a.png b.png\n", encoding="utf-8")
    entries, _ = entries_from_paths([str(listing), c], ANY_PNG, pairs=True)
    assert entries == [pair_entry(a, b), pair_entry(c, c)]
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert entries_from_paths([str(video)], ANY_PNG, pairs=True)[0] == []
    assert entries_from_paths([str(listing)], ANY_PNG, pairs=True)[0] == [pair_entry(a, b)]


def test_entries_from_spec(tmp_path):
    assert entries_from_spec(None, None, ANY_PNG) == (sample_entries(), 0, [])
    assert entries_from_spec(None, None, ANY_PNG, pairs=True) == (pair_up(sample_entries()), 0, [])
    index = SAMPLE_NAMES.index("astronaut")
    assert entries_from_spec("sample:astronaut", None, ANY_PNG) == (sample_entries(), index, [])
    paired = entries_from_spec("sample:astronaut", None, ANY_PNG, pairs=True)
    assert paired == (pair_up(sample_entries()), index // 2, []) and isinstance(paired[1], int)
    with pytest.raises(InputError, match="sample:nope: unknown sample image \\(known: chelsea, coffee"):
        entries_from_spec("sample:nope", None, ANY_PNG)
    folder = tmp_path / "f"
    folder.mkdir()
    a = _png(folder / "a.png")
    assert entries_from_spec(None, str(folder), ANY_PNG) == ([a], 0, [])
    assert entries_from_spec(a, str(tmp_path / "elsewhere"), ANY_PNG) == ([a], 0, [])
    (tmp_path / "f2").mkdir()
    with pytest.raises(InputError, match="no image files in this folder"):
        entries_from_spec(str(tmp_path / "f2"), None, ANY_PNG)
    with pytest.raises(InputError, match="no such file"):
        entries_from_spec(str(tmp_path / "gone.png"), None, ANY_PNG)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    with pytest.raises(InputError, match="v.mp4: nothing to show"):       # a pair is two still images
        entries_from_spec(str(video), None, ANY_PNG, pairs=True)


def test_a_pair_spec(tmp_path):
    a, b = _png(tmp_path / "a.png"), _png(tmp_path / "b.png")
    assert entries_from_spec(f"{a}, sample:cat", None, ANY_PNG, pairs=True) == ([pair_entry(a, "sample:cat")], 0, [])
    assert entries_from_spec(f"{a},{b}", None, ANY_PNG, pairs=True)[0] == [pair_entry(a, b)]
    with pytest.raises(InputError, match="a pair is two images, FIRST,SECOND"):
        entries_from_spec(f"{a},{b},{a}", None, ANY_PNG, pairs=True)
    with pytest.raises(InputError, match="sample:dog: unknown sample image \\(known: chelsea, coffee"):
        entries_from_spec(f"{a},sample:dog", None, ANY_PNG, pairs=True)
    with pytest.raises(InputError, match="gone.png: no such file"):
        entries_from_spec(f"{a},{tmp_path / 'gone.png'}", None, ANY_PNG, pairs=True)
    with pytest.raises(InputError, match="is a folder"):
        entries_from_spec(f"{a},{tmp_path}", None, ANY_PNG, pairs=True)
    with pytest.raises(InputError):                        # without pairs, a comma is part of a file name
        entries_from_spec(f"{a},{b}", None, ANY_PNG)
    comma = _png(tmp_path / "x,y.png")                     # an existing file with a comma is one file
    assert entries_from_spec(comma, None, ANY_PNG, pairs=True)[0] == [pair_entry(comma, comma)]


def test_read_input(tmp_path):
    a, b = _png(tmp_path / "a.png", 30), _png(tmp_path / "b.png", 90)
    assert read_input(a, None).shape == (8, 8, 3)
    frame = read_input(f"{a},{b}", None, pairs=True)
    assert frame.shape == (8, 16, 3) and frame[0, 0, 0] == 30 and frame[0, 8, 0] == 90
    with pytest.raises(InputError, match="this is a two-input network: give two images, FIRST,SECOND"):
        read_input(a, None, pairs=True)
    with pytest.raises(ImageReadError):                    # 64 pixels, over max_pixels
        read_input(a, 50)
    with pytest.raises(ImageReadError):
        read_input(f"{a},{b}", 50, pairs=True)
    comma = _png(tmp_path / "x,y.png")
    with pytest.raises(InputError, match="two-input network"):
        read_input(comma, None, pairs=True)


def test_a_list_file_in_a_folder_with_spaces(tmp_path):
    folder = tmp_path / "my images"
    folder.mkdir()
    a = _png(folder / "a.png")
    listing = folder / "list.txt"
    listing.write_text("a.png\n", encoding="utf-8")
    assert entries_from_paths([str(listing)], ANY_PNG) == ([a], [])
    assert entries_from_paths([str(listing)], ANY_PNG, pairs=True) == ([pair_entry(a, a)], [])
