"""Input sources with real threads: sample images, folders, files, lists, videos, drag-and-drop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from deepvis_app.io.images import SAMPLE_NAMES
from deepvis_app.io.sources import Frame, InputError, InputManager
from tests.helpers.datasets import write_undecodable_video, write_video
from tests.helpers.waiting import next_frame, wait_for_message, wait_until


def solid(value: tuple[int, int, int], shape=(20, 30)) -> np.ndarray:
    return np.tile(np.array(value, dtype=np.uint8), (*shape, 1))


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    """b.png, a.png, c.png (solid colours), bad.png (not an image), notes.txt (not listed)."""
    root = tmp_path / "images"
    root.mkdir()
    write_rgb(root / "b.png", solid((0, 255, 0)))
    write_rgb(root / "a.png", solid((255, 0, 0)))
    write_rgb(root / "c.png", solid((0, 0, 255)))
    (root / "bad.png").write_bytes(b"this is not a png")
    (root / "notes.txt").write_text("not an image")
    return root


# --- sample images and static files --------------------------------------------------------------
def test_samples_are_the_default_and_wrap_both_ways(make_manager):
    manager = make_manager()
    frame = next_frame(manager, None)
    assert (frame.name, manager.mode, manager.frozen) == ("sample:chelsea", "files", False)
    assert frame.image.dtype == np.uint8 and frame.image.shape == data.chelsea().shape
    np.testing.assert_array_equal(frame.image, data.chelsea())
    assert not frame.image.flags.writeable
    names = []
    for _ in SAMPLE_NAMES:
        manager.next_file()
        frame = next_frame(manager, frame)
        names.append(frame.name)
    assert names == [f"sample:{n}" for n in SAMPLE_NAMES[1:]] + ["sample:chelsea"]
    manager.prev_file()
    assert next_frame(manager, frame).name == f"sample:{SAMPLE_NAMES[-1]}"


def test_sample_spec_starts_at_that_sample(make_manager):
    manager = make_manager("sample:coffee")
    np.testing.assert_array_equal(next_frame(manager, None).image, data.coffee())


def test_folder_sorted_skips_unreadable_and_wraps(make_manager, folder):
    manager = make_manager(str(folder))
    frame = next_frame(manager, None)
    assert frame.name == "a.png"
    np.testing.assert_array_equal(frame.image, solid((255, 0, 0)))
    manager.next_file()
    frame = next_frame(manager, frame)
    assert frame.name == "b.png"
    manager.next_file()  # bad.png: skipped, with a message naming it
    frame = next_frame(manager, frame)
    assert frame.name == "c.png"
    np.testing.assert_array_equal(frame.image, solid((0, 0, 255)))
    assert any("bad.png" in m for m in manager.pop_messages())
    assert manager.position() == (3, 4)
    manager.next_file()
    frame = next_frame(manager, frame)
    assert frame.name == "a.png"
    manager.prev_file()
    assert next_frame(manager, frame).name == "c.png"


def test_going_backwards_skips_unreadable_backwards(make_manager, folder):
    manager = make_manager(str(folder))
    frame = next_frame(manager, None)
    for expected in ("c.png", "b.png"):  # a -> (wrap) c -> (bad skipped) b
        manager.prev_file()
        frame = next_frame(manager, frame)
        assert frame.name == expected


def test_single_image_file(make_manager, folder):
    manager = make_manager(str(folder / "b.png"))
    frame = next_frame(manager, None)
    manager.next_file()
    assert next_frame(manager, frame).name == "b.png"


def test_all_unreadable_keeps_running(make_manager, tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    manager = make_manager(str(tmp_path / "x.jpg"))
    wait_for_message(manager, "x.jpg")
    assert manager.latest() is None


def settled_messages(manager: InputManager) -> list[str]:
    """Every message once the static list has finished opening its entry (the status bar shows the last)."""
    wait_until(lambda: not manager.awaiting_frame())
    return manager.pop_messages()


def test_the_only_input_unreadable_the_last_message_names_it_and_why(make_manager, tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    manager = make_manager(str(tmp_path / "x.jpg"))
    messages = settled_messages(manager)
    assert messages and "x.jpg" in messages[-1] and "empty file" in messages[-1], messages
    assert manager.latest() is None


def test_no_readable_entry_the_last_message_names_the_last_file_and_why(make_manager, tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"not a png at all")
    manager = make_manager(str(tmp_path))
    messages = settled_messages(manager)
    assert any("a.jpg" in m and "empty file" in m for m in messages), messages
    assert "b.png" in messages[-1] and "2 inputs" in messages[-1], messages


def test_video_without_a_decodable_frame_is_skipped_for_the_next_entry(make_manager, folder, tmp_path):
    broken = write_undecodable_video(tmp_path / "broken.avi")
    manager = make_manager()
    next_frame(manager, None)
    manager.open_paths([str(broken), str(folder / "c.png")])
    wait_until(lambda: manager.latest().name == "c.png")
    messages = manager.pop_messages()
    assert any("broken.avi" in m and "no frame could be decoded" in m for m in messages), messages


def test_a_video_that_cannot_be_reopened_at_its_end_moves_on(make_manager, folder, tmp_path):
    clip = write_video(tmp_path / "clip.avi", frames=12, fps=12.0)
    manager = make_manager()
    next_frame(manager, None)
    manager.open_paths([str(clip), str(folder / "a.png")])
    wait_until(lambda: manager.latest().name.startswith("clip.avi #"))
    clip.unlink()  # the capture still reads the open file; reopening it for the next loop fails
    wait_until(lambda: manager.latest().name == "a.png")
    messages = manager.pop_messages()
    assert any("clip.avi" in m and "no such file" in m for m in messages), messages


@pytest.mark.parametrize("spec", ["/nonexistent/image.png", "sample:nope", "EMPTY"])
def test_unusable_spec_raises_input_error_naming_it(input_settings, tmp_path, spec):
    spec = str(tmp_path) if spec == "EMPTY" else spec
    before = set(threading.enumerate())
    with pytest.raises(InputError, match=Path(spec).name if spec != "sample:nope" else "sample:nope"):
        InputManager(input_settings, spec)
    assert set(threading.enumerate()) == before


def test_list_file_names_entries_relative_to_itself(make_manager, folder):
    listing = folder / "list.txt"
    listing.write_text("b.png 1\n# a comment\n\n  a.png,2\nsample:coffee\nmissing.png 3\n")
    manager = make_manager(str(listing))
    frame = next_frame(manager, None)
    assert frame.name == "b.png" and manager.position() == (0, 3) and manager.ground_truth(frame) == "1"
    assert any("1 of 4" in m and "missing.png" in m for m in manager.pop_messages())
    for expected, truth in (("a.png", "2"), ("sample:coffee", None), ("b.png", "1")):   # the second column
        manager.next_file()
        frame = next_frame(manager, frame)
        assert frame.name == expected and manager.ground_truth(frame) == truth
    manager.open_paths([str(folder / "notes.txt")])  # a text file naming no image: a message only
    assert manager.position() == (0, 3)
    assert any("notes.txt" in m and "not found" in m for m in manager.pop_messages())


def test_settings_folder_used_when_no_spec(make_manager, folder):
    manager = make_manager(static_files_dir=str(folder))
    assert next_frame(manager, None).name == "a.png"


# --- video ----------------------------------------------------------------------------------------
def test_video_frames_advance_and_loop_at_eof(make_manager, tmp_path):
    manager = make_manager(str(write_video(tmp_path / "clip.avi")))
    heard: list[tuple[int, float, float]] = []  # (frame index, time, mean pixel)
    # A consumer that takes each frame at once (`latest`): the video decodes the next when it is due.
    manager.add_frame_listener(lambda f: heard.append((int(f.name.split("#")[1]), time.monotonic(), f.image.mean()))
                               or manager.latest())
    manager.latest()  # a frame published before the listener was attached is taken too
    assert manager.mode == "video"

    def restarts() -> list[int]:
        return [i for i in range(1, len(heard)) if heard[i][0] < heard[i - 1][0]]

    first, second = wait_until(lambda: restarts()[:2] if len(restarts()) >= 2 else None)
    run = heard[first:second]  # one whole pass, heard frame by frame (the listener misses none)
    assert [index for index, _, _ in run] == list(range(12))
    assert all(abs(mean - 20 * index) <= 8 for index, _, mean in run)  # MJPG is lossy
    assert run[-1][1] - run[0][1] >= 0.9 * 11 / 60.0  # paced at the file's 60 fps, not decode speed
    messages = manager.pop_messages()
    assert any("clip.avi" in m and "end of video" in m for m in messages)


def test_unpaced_video_plays_all_frames(make_manager, tmp_path):
    clip = write_video(tmp_path / "clip.avi", fps=1.0)
    capture = cv2.VideoCapture(str(clip))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))  # the container's own count, not ours
    capture.release()
    assert count == 12
    manager = make_manager(video_paced=False)
    next_frame(manager, None)  # a sample image first: the listener is attached before the video opens
    heard: list[tuple[int, float]] = []  # (frame index, mean pixel)
    manager.add_frame_listener(lambda f: (f.name.startswith("clip.avi #")   # each taken at once: the next follows
                                          and heard.append((int(f.name.split("#")[1]), f.image.mean())))
                               or manager.latest())
    manager.open_paths([str(clip)])
    wait_for_message(manager, "end of video")  # 12 frames at 1 fps would take 12 s when paced
    assert [index for index, _ in heard[:count]] == list(range(count))  # every frame, in order
    assert all(abs(mean - 20 * index) <= 8 for index, mean in heard[:count])  # each its own picture


def test_a_video_decodes_only_the_frames_taken_and_keeps_its_own_clock(make_manager, tmp_path):
    """A model slower than the video: the frames that came due while the last one waited are skipped
    (never converted nor published), and the frame taken next is the one the video's clock is at."""
    path = tmp_path / "long.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 60.0, (32, 24))
    for index in range(240):   # four seconds: no loop within the test
        writer.write(np.full((24, 32, 3), index % 256, dtype=np.uint8))
    writer.release()
    manager = make_manager(str(path))
    published: list[Frame] = []
    manager.add_frame_listener(published.append)
    first = next_frame(manager, None)                 # taken: the next frame is decoded when due
    second = next_frame(manager, first)               # taken too
    time.sleep(0.3)                                   # 18 frames come due; nobody takes one
    assert len(published) <= 3                        # the first two, and at most the one due after them
    start = time.monotonic()
    taken = manager.latest()
    time.sleep(0.25)                                  # a slow consumer: 15 more frames come due
    later = next_frame(manager, taken)
    elapsed = time.monotonic() - start
    index = int(later.name.split("#")[1])
    assert index - int(taken.name.split("#")[1]) >= 10            # on the video's clock, not the next frame
    assert index <= int(second.name.split("#")[1]) + 60 * (0.3 + elapsed + 0.5)
    assert len(published) <= 5                        # no frame that nobody took was converted and handed out


def test_peeking_at_a_video_takes_no_frame(make_manager, tmp_path):
    """A slow method asks whether newer frames wait (`peek`) many times a second: that must not make
    the video decode and publish frames nobody shows, as `latest` (a take) would."""
    path = tmp_path / "long.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 60.0, (32, 24))
    for index in range(240):
        writer.write(np.full((24, 32, 3), index % 256, dtype=np.uint8))
    writer.release()
    manager = make_manager(str(path))
    published: list[Frame] = []
    manager.add_frame_listener(published.append)
    taken = next_frame(manager, None)
    time.sleep(0.1)
    newer = manager.peek()                            # the one frame decoded after the take
    count = len(published)
    for _ in range(30):                               # half a second of peeking, 18+ frames due
        assert manager.peek() is not None
        time.sleep(1 / 60)
    assert len(published) <= count + 1                # at most the frame due when the last was taken
    assert newer is None or newer.seq >= taken.seq


def test_freeze_stops_the_video_and_unfreeze_resumes(make_manager, tmp_path):
    manager = make_manager(str(write_video(tmp_path / "clip.avi")))
    next_frame(manager, None)
    manager.toggle_freeze()
    assert manager.frozen
    frozen = manager.latest()
    time.sleep(0.1)  # six frame periods at 60 fps
    assert manager.latest() is frozen  # not even a frame read before the freeze slips in
    manager.toggle_freeze()
    assert not manager.frozen
    next_frame(manager, frozen)


def test_freeze_on_still_images_is_a_message(make_manager):
    manager = make_manager()
    manager.toggle_freeze()
    assert not manager.frozen
    assert any("freeze" in m for m in manager.pop_messages())


def test_unopenable_video_in_list_is_skipped(make_manager, folder):
    (folder / "broken.avi").write_bytes(b"garbage" * 100)
    manager = make_manager()
    manager.open_paths([str(folder / "broken.avi"), str(folder / "c.png")])
    wait_until(lambda: (f := manager.latest()) is not None and f.name == "c.png")
    assert any("broken.avi" in m for m in manager.pop_messages())


def test_mixed_list_switches_between_video_and_files(make_manager, folder, tmp_path):
    clip = write_video(tmp_path / "clip.avi")
    manager = make_manager()
    next_frame(manager, None)
    manager.open_paths([str(clip), str(folder / "a.png")])
    assert manager.mode == "video"
    wait_until(lambda: manager.latest().name.startswith("clip.avi #"))
    manager.toggle_freeze()
    manager.next_file()
    wait_until(lambda: manager.latest().name == "a.png")
    assert (manager.mode, manager.frozen) == ("files", False)
    manager.next_file()  # back to the video: it plays again, not frozen
    frame = wait_until(lambda: (f := manager.latest()).name.startswith("clip.avi") and f)
    assert manager.mode == "video" and not manager.frozen
    next_frame(manager, frame)


def test_frame_listener_sees_every_new_frame(make_manager, tmp_path):
    manager = make_manager(str(write_video(tmp_path / "clip.avi")))
    heard: list[Frame] = []
    manager.add_frame_listener(lambda frame: heard.append(frame) or manager.latest())   # taken: the next one comes
    manager.latest()  # a frame published before the listener was attached is taken too
    wait_until(lambda: len(heard) >= 5)
    seqs = [frame.seq for frame in heard]
    assert seqs == sorted(set(seqs))
    assert all(frame.name.startswith("clip.avi #") for frame in heard)


# --- drag and drop --------------------------------------------------------------------------------
def test_drop_folder_then_files_then_nothing_usable(make_manager, folder, tmp_path):
    manager = make_manager(camera=99)
    manager.open_paths([str(folder)])
    assert manager.mode == "files"
    frame = next_frame(manager, None)
    assert frame.name == "a.png" and manager.position() == (0, 4)
    manager.open_paths([str(folder / "c.png"), str(folder / "a.png")])
    frame = next_frame(manager, frame)
    assert frame.name == "c.png" and manager.position() == (0, 2)
    manager.next_file()
    frame = next_frame(manager, frame)
    assert frame.name == "a.png"
    manager.open_paths([str(tmp_path / "missing.png"), str(folder / "notes.txt")])
    messages = manager.pop_messages()
    assert any("missing.png" in m for m in messages) and any("notes.txt" in m for m in messages)
    assert manager.position() == (1, 2)


def test_close_is_idempotent_and_stops_everything(input_settings):
    before = set(threading.enumerate())
    with InputManager(input_settings, camera=99) as manager:
        assert len(set(threading.enumerate()) - before) == 2  # files thread and camera thread
    manager.close()
    assert {t for t in set(threading.enumerate()) - before if t.is_alive()} == set()
    manager.toggle_camera()  # after close: no new thread
    assert {t for t in set(threading.enumerate()) - before if t.is_alive()} == set()


def test_awaiting_frame_ends_with_the_frame_or_with_the_failure(make_manager, folder):
    manager = make_manager(str(folder / "a.png"))
    next_frame(manager, None)
    wait_until(lambda: not manager.awaiting_frame())
    manager = make_manager(camera=99)
    wait_for_message(manager, "camera 99")
    assert not manager.awaiting_frame() and manager.latest() is None


def test_an_mjpg_video_skips_frames_through_opencvs_own_reader(tmp_path):
    """MJPG frames stand alone: OpenCV's MJPEG reader moves past one without decoding it (FFmpeg's
    grab decodes). Skipped frames are skipped, not shown: after skipping 3, the next frame is frame 4."""
    from deepvis_app.io.static_player import _Video

    video = _Video.open(str(write_video(tmp_path / "clip.avi")))
    try:
        assert video.capture.getBackendName() == "CV_MJPEG"
        assert abs(video.read().mean() - 0) <= 8                   # frame 0, decoded when opened
        assert all(video.skip() for _ in range(3))                # frames 1, 2, 3
        assert abs(video.read().mean() - 20 * 4) <= 8             # frame 4
        assert video.period == pytest.approx(1 / 60.0)
    finally:
        video.release()
