"""Issue 21, hostile and careless inputs (round two), below the command line: bounded parsers, output
templates checked before any compute, validated find-max records, bounded labels files, large .npy
inputs fitted, settings files that cannot end or hang deepvis silently, file names in any bytes."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepvis_app.core.unitvis.optimize.objective_expr import ObjectiveError, parse_objective
from deepvis_app.core.unitvis.optimize.output import TemplatedOutput
from deepvis_app.core.unitvis.optimize.transform_spec import parse_transforms
from deepvis_app.core.unitvis.store.records import RecordError, dataset_image, read_find_max_record
from deepvis_app.settings.limits import MAX_LABELS_BYTES, MAX_TEMPLATE_WIDTH, LimitError, literal

CHANNELS = {"conv": 8, "fc": 4}


def channels_of(name: str) -> int:
    return CHANNELS[name]


# --- parsers: every failure a ValueError, numbers bounded and finite --------------------------------
@pytest.mark.parametrize("text", [
    "-" * 1000 + "channel('conv', 1)",                # RecursionError before
    "channel('conv', 1e309)",                         # OverflowError before
    "channel('conv', " + "9" * 400 + ")",
    "1e309*channel('conv', 1)",                       # exited 0 with Infinity in the JSON before
    "1e300*1e300*channel('conv', 1)",
    "channel('conv', 1) / 1e-320",
    "[" * 100_000,
    "x" * 100_000,
])
def test_objective_failures_are_objective_errors(text):
    with pytest.raises(ObjectiveError):
        parse_objective(text, channels_of)


@pytest.mark.parametrize("spec", ["scale(1000)", "pad(100000)", "jitter(1e9)", "rotate(1e309)",
                                  "pad(" + "9" * 400 + ")", "pad(" + "-" * 1000 + "1)", "scale(1e-400)",
                                  "pad(1)," * 20_000])
def test_transforms_failures_are_value_errors_with_bounds(spec):
    with pytest.raises(ValueError, match="transforms"):
        parse_transforms(spec)


def test_transform_bounds_allow_real_use():
    assert parse_transforms("pad(16), jitter(8), scale(0.9, 1.1), rotate(-45, 45)") == (
        ("pad", (16,)), ("jitter", (8,)), ("scale", (0.9, 1.1)), ("rotate", (-45.0, 45.0)))


PIECES = st.sampled_from(["-", "+", "(", ")", "[", "]", "1", "9" * 50, "1e309", "e", ".", ",", "*", "/",
                          " ", "channel", "pad", "scale", "'conv'", "{", "}", ":", "'lr'"])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(PIECES, max_size=400), repeat=st.integers(1, 300))
def test_parsers_raise_only_value_errors(pieces, repeat):
    """Random token soups, some repeated hundreds of times (deep nesting): each parser either parses
    or raises a ValueError (SyntaxError for the bare literal reader); nothing else escapes."""
    text = "".join(pieces) * (repeat if len(pieces) < 4 else 1)
    for parse in (lambda t: parse_objective(t, channels_of), parse_transforms):
        try:
            parse(text)
        except ValueError:
            pass
    try:
        literal(text, "--set x")
    except (ValueError, SyntaxError):
        pass


@pytest.mark.parametrize("text", ["1e309", "9" * 400, "[" * 200 + "]" * 200, "(" + "1," * 30_000 + ")"])
def test_set_values_are_bounded(text):
    from deepvis_app.settings.loader import SettingsError, load_settings

    with pytest.raises(SettingsError, match="--set labels"):
        load_settings(overrides=[f"labels={text}"], local_file=Path("/nonexistent/settings_local.py"))
    with pytest.raises(LimitError):
        literal(text, "--set labels", limit=2.0**63)


# --- output templates: checked by formatting a sample, before any compute ----------------------------
FIELDS = {"layer": "conv", "seed": 0, "steps": 2, "preset": "yosinski3", "objective": "neuron", "render": "clip",
          "lr": 1.0}


@pytest.fixture
def bounded_memory():
    """The address space capped 2 GiB above what the process holds while the test runs: a template
    that would format a 10 GB name fails with MemoryError instead of swapping the machine."""
    import resource

    held = int([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmSize")][0]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = held + 2**31 if hard == resource.RLIM_INFINITY else min(hard, held + 2**31)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize(("template", "problem"), [
    ("%(unit)09999999999d", f"over the limit of {MAX_TEMPLATE_WIDTH}"),     # 22.6 GB before
    ("%(unit).99999999999999999999d", f"over the limit of {MAX_TEMPLATE_WIDTH}"),
    ("%(unit)0" + "9" * 5000 + "d", f"over the limit of {MAX_TEMPLATE_WIDTH}"),
    ("%s", "every field needs a name"),                                      # wrote the dict's repr before
    ("x" * 300 + "%(unit)04d", "over the limit of 255"),                     # failed after computing before
])
def test_bad_templates_are_refused_before_formatting(tmp_path, bounded_memory, template, problem):
    with pytest.raises(ValueError, match=problem):
        TemplatedOutput(str(tmp_path / "opt"), template, FIELDS)


def test_template_prefix_under_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        TemplatedOutput(str(tmp_path / "afile" / "sub" / "opt"), "%(unit)04d", FIELDS)


def test_template_names_are_checked_for_every_unit_range(tmp_path):
    """opt_<239 x><unit>_best_X.png is 255 bytes for unit 0 and 256 for unit 10."""
    named = TemplatedOutput(str(tmp_path / "opt"), "x" * 239 + "%(unit)d", FIELDS)
    named.check_distinct([0, 9])
    with pytest.raises(ValueError, match="256 bytes long"):
        named.check_distinct([0, 10])


# --- find-max records: one schema, one line naming the file and the field ----------------------------
GOOD_ENTRY = {"path": "a.png", "value": 1.5, "pos": [1, 2]}


def _record(tmp_path: Path, units=None, **fields) -> Path:
    doc = {"layer": "conv", "top": 2, "units": units if units is not None else [[GOOD_ENTRY]], **fields}
    path = tmp_path / "find_max" / "conv.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(("change", "field"), [
    ({"top": "9"}, "top"),
    ({"top": 0}, "top"),
    ({"units": [[{**GOOD_ENTRY, "value": "abc"}]]}, "units[0][0].value"),
    ({"units": [[{"value": 1.0}]]}, "units[0][0].path"),
    ({"units": [[{**GOOD_ENTRY, "pos": "ab"}]]}, "units[0][0].pos"),
    ({"units": [[{**GOOD_ENTRY, "pos": [1.5, 2]}]]}, "units[0][0].pos[0]"),
    ({"units": [[{**GOOD_ENTRY, "path": "../../etc/passwd"}]]}, "units[0][0].path"),
    ({"units": [[{**GOOD_ENTRY, "path": 7}]]}, "units[0][0].path"),
    ({"units": [[GOOD_ENTRY] * 3]}, "units[0]"),
    ({"units": {"0": []}}, "units"),
    ({"units": [[{**GOOD_ENTRY, "index": -1}]]}, "units[0][0].index"),
    ({"dataset": 5}, "dataset"),
    ({"layer": "fc"}, "layer"),
])
def test_bad_records_name_the_file_and_the_field(tmp_path, change, field):
    path = _record(tmp_path, **change)
    with pytest.raises(RecordError) as caught:
        read_find_max_record(path, "conv")
    message = str(caught.value)
    assert message.startswith(f"{path}: field {field}:"), message
    assert "\n" not in message


def test_deeply_nested_and_damaged_json_is_one_line(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RecordError, match="nested too deeply"):
        read_find_max_record(deep)
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps({"layer": "conv", "top": 1, "units": []})[:-5])
    with pytest.raises(RecordError, match="not valid JSON"):
        read_find_max_record(cut)


def test_good_record_is_returned_as_written(tmp_path):
    units = [[GOOD_ENTRY, {"path": "sub/b.jpg", "value": -2, "index": 3, "label": 1}], []]
    assert read_find_max_record(_record(tmp_path, units=units), "conv")["units"] == units


@pytest.mark.parametrize("name", ["../outside.png", "/etc/passwd", "a/../../x.png", "a\0b"])
def test_record_image_paths_stay_in_the_dataset(tmp_path, name):
    with pytest.raises(RecordError, match="outside the dataset folder"):
        dataset_image(tmp_path / "data", name)
    assert dataset_image(tmp_path / "data", "sub/a.png") == tmp_path / "data" / "sub" / "a.png"
    assert dataset_image(tmp_path / "data", str(tmp_path / "data" / "b.png")) == tmp_path / "data" / "b.png"


def test_crops_and_report_refuse_a_bad_record_in_one_line(tmp_path):
    from deepvis_app.core.unitvis.findmax.crop_pipeline import CropRequest, make_crops
    from deepvis_app.core.unitvis.report.build import ReportRequest, write_report
    from tests.helpers.models import find_max_model

    loaded = find_max_model()
    out = tmp_path / "uv"
    path = out / "find_max" / "fc.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"layer": "fc", "top": 1, "units": [[{"path": "a.png", "value": "abc"}]]}))
    with pytest.raises(RecordError, match=r"fc.json: field units\[0\]\[0\].value"):
        make_crops(loaded, CropRequest(out, ("fc",), tile=20))
    with pytest.raises(RecordError, match=r"fc.json: field units\[0\]\[0\].value"):
        write_report(loaded, ReportRequest(out, tmp_path / "site"))


def test_crops_do_not_read_images_outside_the_dataset(tmp_path):
    from deepvis_app.core.unitvis.findmax.crop_pipeline import CropRequest, make_crops
    from deepvis_app.io.images import write_image
    from tests.helpers.models import find_max_model

    outside = tmp_path / "secret.png"
    write_image(outside, np.full((16, 16, 3), 200, dtype=np.uint8))
    (tmp_path / "data").mkdir()
    out = tmp_path / "uv"
    path = out / "find_max" / "fc.json"
    path.parent.mkdir(parents=True)
    entry = {"path": str(outside), "value": 1.0}
    path.write_text(json.dumps({"layer": "fc", "top": 1, "units": [[entry]] * 4, "dataset": str(tmp_path / "data")}))
    result = make_crops(find_max_model(), CropRequest(out, ("fc",), tile=20))
    assert result.missing_images and all("outside the dataset folder" in p for p in result.problems.values())


# --- labels files, .npy inputs -------------------------------------------------------------------------
def _labels(path: str) -> list[str]:
    from deepvis_app.core.nn.model import load_labels
    from deepvis_app.settings.defaults import Settings

    return load_labels(Settings(labels=path), None, None)


def test_labels_file_is_bounded(tmp_path):
    from deepvis_app.core.nn.model import ModelError

    with pytest.raises(ModelError, match=f"/dev/zero: larger than the limit of {MAX_LABELS_BYTES // 2**20} MiB"):
        _labels("/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="a pipe"):   # before: blocked forever on open
        _labels(str(fifo))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"cat\n\xff\xfe\n")
    with pytest.raises(ModelError, match="not UTF-8"):
        _labels(str(binary))
    good = tmp_path / "labels.txt"
    good.write_text("cat\n\n dog \n")
    assert _labels(str(good)) == ["cat", "dog"]


def test_large_npy_input_is_fitted_like_a_large_image(tmp_path):
    """A 3x40x80 array whose centre 40x40 is 5 and whose sides are 100: fitted to 10x10 it is the
    centre crop, area-resized (all 5); a small array is fed as it is."""
    from deepvis_app.io.npy_input import read_npy_input

    array = np.full((3, 40, 80), 100.0, dtype=np.float32)
    array[:, :, 20:60] = 5.0
    np.save(tmp_path / "wide.npy", array)
    fitted = read_npy_input(tmp_path / "wide.npy", 3, size=(10, 10))
    assert fitted.shape == (3, 10, 10) and fitted.dtype == np.float32
    np.testing.assert_allclose(fitted, 5.0)
    small = np.random.default_rng(0).random((3, 8, 8), dtype=np.float32)
    np.save(tmp_path / "small.npy", small)
    np.testing.assert_array_equal(read_npy_input(tmp_path / "small.npy", 3, size=(10, 10)), small)


# --- settings files ---------------------------------------------------------------------------------------
def _load_with(tmp_path: Path, body: str):
    from deepvis_app.settings.loader import load_settings

    path = tmp_path / "settings_local.py"
    path.write_text(body)
    return path, lambda: load_settings(local_file=path)


@pytest.mark.parametrize(("body", "fragment"), [
    ("class Boom(BaseException):\n    pass\nraise Boom('x\\n' * 30)\n", ":3: running it failed: Boom: x x x"),
    ("import os\nos._exit(0)\n", ":2: calls os._exit(0)"),
    ("import sys\nsys.exit(3)\n", ":2: calls sys.exit(3)"),
    ("raise GeneratorExit('odd')\n", ":1: running it failed: GeneratorExit"),
    ("max_image_pixels = 0\n", "setting 'max_image_pixels' = 0: must be at least 1"),
])
def test_settings_file_problems_are_one_line_naming_the_file(tmp_path, body, fragment):
    from deepvis_app.settings.loader import SettingsError

    real_exit = os._exit
    path, load = _load_with(tmp_path, body)
    with pytest.raises(SettingsError) as caught:
        load()
    assert os._exit is real_exit
    message = str(caught.value)
    assert message.startswith(str(path)) and fragment in message and "\n" not in message, message


def test_a_slow_settings_file_is_announced(tmp_path, monkeypatch, caplog):
    """The file waits (deadline 60 s) until the notice has been logged, so the test needs no timing."""
    from deepvis_app.settings import file_runner

    monkeypatch.setattr(file_runner, "SLOW_NOTICE_S", 0.05)
    noticed = threading.Event()

    class Notice(logging.Handler):
        def emit(self, record):
            if "still running settings file" in record.getMessage():
                noticed.set()

    handler = Notice()
    logging.getLogger("deepvis.settings").addHandler(handler)
    monkeypatch.setitem(sys.modules, "h21_probe", types.SimpleNamespace(noticed=noticed))
    try:
        path, load = _load_with(tmp_path, "import sys\nassert sys.modules['h21_probe'].noticed.wait(60)\n"
                                          "font_scale = 2.0\n")
        assert load().settings.font_scale == 2.0
    finally:
        logging.getLogger("deepvis.settings").removeHandler(handler)
    assert noticed.is_set()


# --- file names in any bytes -------------------------------------------------------------------------
def test_names_that_are_not_utf8_are_fingerprinted(tmp_path):
    from deepvis_app.core.unitvis.findmax.scan_data import files_signature, scan_source
    from deepvis_app.io.images import write_image

    write_image(tmp_path / "plain.png", np.zeros((8, 8, 3), dtype=np.uint8))
    odd = os.fsdecode(b"caf\xe9.png")   # Latin-1 bytes: a lone surrogate in Python's str
    (tmp_path / "plain.png").rename(tmp_path / odd)
    source = scan_source(tmp_path)
    first = files_signature(source.files, source.names)
    (tmp_path / odd).write_bytes((tmp_path / odd).read_bytes() + b"\0")
    assert files_signature(source.files, source.names) != first


def test_nul_byte_in_a_file_list_is_one_line(tmp_path):
    from deepvis_app.core.unitvis.findmax.scan_data import ScanError, read_file_list

    listing = tmp_path / "list.txt"
    listing.write_bytes(b"a\0b.png 1\n")
    with pytest.raises(ScanError, match=r"list.txt:1: the path contains a NUL byte"):
        read_file_list(listing)


def test_info_txt_keeps_one_line_per_image_whatever_the_name():
    from deepvis_app.core.unitvis.findmax.crop_pipeline import crop_info_text

    names = ["two\nlines.png", os.fsdecode(b"caf\xe9.png"), "plain name.png"]
    rows = [({"path": name, "value": 1.0, "pos": [0, 1]}, (0, 0, 4, 4)) for name in names]
    lines = crop_info_text("conv", 0, "max", rows).splitlines()
    assert len(lines) == 2 + len(names)
    assert json.loads(lines[2].split(" ", 10)[-1]) == names[0]
    assert lines[4].endswith(" plain name.png")
    lines[3].encode("utf-8")   # writable as UTF-8


def test_layer_named_with_a_slash_is_found(tmp_path):
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout

    layout = UnitVisLayout(tmp_path)
    for layer in ("a/b", "conv"):
        layout.find_max_json(layer).parent.mkdir(parents=True, exist_ok=True)
        layout.find_max_json(layer).write_text("{}")
    layout.find_max_skipped().write_text("{}")
    assert layout.find_max_layers() == ["a/b", "conv"]


def test_report_and_crops_include_a_layer_named_with_a_slash(tmp_path):
    """Its images live in max_im/odd/name/odd/name_0000.jpg; its record in find_max/odd/name.json (crops
    take their layers from `find_max_layers`)."""
    from deepvis_app.core.unitvis.report.build import ReportRequest, write_report
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
    from deepvis_app.io.images import write_image
    from tests.helpers.models import find_max_model

    loaded = find_max_model()
    loaded.settings = loaded.settings.__class__(input_size=(16, 16), output_layer="fc")
    layout = UnitVisLayout(tmp_path / "uv")
    tile = np.full((10, 10, 3), 128, dtype=np.uint8)
    for unit in range(2):
        layout.write_unit_image("max_im", "odd/name", unit, tile)
    assert layout.layers_on_disk() == ["odd/name"]
    site = tmp_path / "site"
    write_report(loaded, ReportRequest(layout.root, site))
    assert (site / "layer_odd_name.html").is_file()
    (tmp_path / "data").mkdir()
    write_image(tmp_path / "data" / "a.png", np.full((16, 16, 3), 90, dtype=np.uint8))
    record = {"layer": "fc", "top": 1, "units": [[{"path": "a.png", "value": 1.0}]] * 4,
              "dataset": str(tmp_path / "data")}
    layout.find_max_json("fc").parent.mkdir(parents=True, exist_ok=True)
    layout.find_max_json("fc").write_text(json.dumps(record))
    layout.find_max_json("odd/name").parent.mkdir(parents=True, exist_ok=True)
    layout.find_max_json("odd/name").write_text(json.dumps({**record, "layer": "odd/name"}))
    assert layout.find_max_layers() == ["fc", "odd/name"]


def test_find_max_and_crops_take_file_names_in_any_bytes(tmp_path):
    """A Latin-1 name (not UTF-8) and a name with a newline: before, the first aborted the whole scan
    (UnicodeEncodeError in the fingerprint) and the second broke info.txt."""
    from deepvis_app.core.unitvis.findmax.crop_pipeline import CropRequest, make_crops
    from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
    from deepvis_app.io.images import write_image
    from tests.helpers.models import find_max_model

    data = tmp_path / "data"
    data.mkdir()
    names = [os.fsdecode(b"caf\xe9.png"), "two\nlines.png", "plain.png"]
    for shade, name in enumerate(names):
        write_image(data / name, np.full((16, 16, 3), 60 * (shade + 1), dtype=np.uint8))
    out = tmp_path / "uv"
    loaded = find_max_model()
    find_max(loaded, FindMaxRequest(data, ("fc",), out, top=3, batch_size=2))
    record = read_find_max_record(UnitVisLayout(out).find_max_json("fc"), "fc")
    assert {entry["path"] for entry in record["units"][0]} == set(names)
    result = make_crops(loaded, CropRequest(out, ("fc",), tile=20))
    assert not result.missing_images
    info = UnitVisLayout(out).crop_info("fc", 0).read_text(encoding="utf-8", errors="surrogateescape")
    assert len(info.splitlines()) == 2 + len(names)
