"""A settings_local.py written for the original Deep Visualization Toolbox loads (settings/legacy.py)."""

from __future__ import annotations

import logging

import pytest

from deepvis_app.settings.loader import SettingsError, load_settings

# The original's models/caffenet-yos template and bvlc-googlenet window, as users copied them.
ORIGINAL_STYLE = '''
# Set this to point to your compiled checkout of caffe
caffevis_caffe_root      = '/path/to/caffe'
caffevis_deploy_prototxt = '%DVT_ROOT%/models/caffenet-yos/caffenet-yos-deploy.prototxt'
caffevis_network_weights = '%DVT_ROOT%/models/caffenet-yos/caffenet-yos-weights'
caffevis_data_mean       = '%DVT_ROOT%/models/caffenet-yos/ilsvrc_2012_mean.npy'
caffevis_labels          = '%DVT_ROOT%/models/caffenet-yos/ilsvrc_2012_labels.txt'
caffevis_label_layers    = ('fc8', 'prob')
caffevis_prob_layer      = 'prob'
caffevis_unit_jpg_dir    = '%DVT_ROOT%/models/caffenet-yos/unit_jpg_vis'
caffevis_jpgvis_layers   = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8', 'prob']
caffevis_jpgvis_remap    = {'pool1': 'conv1', 'pool2': 'conv2', 'pool5': 'conv5'}
def caffevis_layer_pretty_name_fn(name):
    return name.replace('pool','p').replace('norm','n')
caffevis_filter_layers = lambda name: '_split_' in name
caffevis_mode_gpu = False
caffevis_jpg_cache_size = 2000 * 1024 ** 2
caffevis_boost_gamma_choices = (1, .5)
caffevis_init_show_label_predictions = False
caffevis_frame_wait_sleep = 0.01
caffe_net_channel_swap = (2, 1, 0)
_control_height = 125
window_panes = (
    # (i, j, i_size, j_size)
    ('input',            (  0,    0,  300,   300)),
    ('caffevis_aux',     (300,    0,  300,   300)),
    ('caffevis_back',    (600,    0,  300,   300)),
    ('caffevis_status',  (900,    0,   30,  1500)),
    ('caffevis_control', (  0,  300,   _control_height, 1200)),
    ('caffevis_layers',  ( _control_height,  300,  900 - _control_height, 1200)),
)
caffevis_layers_aspect_ratio = float(window_panes[-1][1][3])/window_panes[-1][1][2]
caffevis_control_fsize = .85
global_scale = 0.8
global_font_size = 1.2
caffevis_jpgvis_stack_vert = False
caffevis_control_clr = (.8, .8, .8)
caffevis_control_clr_bp = (.8, .8, 1)
debug_window_panes = True
'''
NOT_APPLIED = ("caffevis_caffe_root", "caffevis_deploy_prototxt", "caffevis_network_weights", "caffevis_data_mean",
               "caffevis_unit_jpg_dir", "caffevis_frame_wait_sleep", "caffe_net_channel_swap", "window_panes",
               "caffevis_control_fsize")


@pytest.fixture
def original_file(tmp_path):
    labels = tmp_path / "models" / "caffenet-yos" / "ilsvrc_2012_labels.txt"
    labels.parent.mkdir(parents=True)
    labels.write_text("n01440764 tench\nn01443537 goldfish\n")
    local = tmp_path / "settings_local.py"
    local.write_text(ORIGINAL_STYLE)
    return local


def test_original_settings_local_maps_to_ours(original_file, caplog):
    with caplog.at_level(logging.WARNING, logger="deepvis.settings"):
        loaded = load_settings(local_file=original_file)
    s = loaded.settings
    assert s.labels == str(original_file.parent / "models" / "caffenet-yos" / "ilsvrc_2012_labels.txt")
    assert s.label_layers == ("fc8", "prob") and s.output_layer == "prob"
    assert s.jpgvis_layers == ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8", "prob")
    assert s.jpgvis_remap == {"pool1": "conv1", "pool2": "conv2", "pool5": "conv5"}
    assert s.pretty_names("pool5") == "p5" and s.pretty_names("norm1") == "n1"
    # the original's filter returns True to hide a layer; ours True to show it
    assert s.layer_filter("inception_3a/1x1_split_0") is False and s.layer_filter("conv1") is True
    assert s.device == "cpu" and s.jpg_cache_mib == 2000
    assert s.boost_gamma_choices == (1.0, 0.5) and s.init_show_label_predictions is False
    assert s.layers_aspect_ratio == pytest.approx(1200 / 775)
    # window: the panes' extent (1500 x 930) times global_scale; no caffevis_jpgvis pane -> per-unit pane off
    assert s.window_size == (1200, 744) and s.init_show_unit_jpgs is False
    assert s.unit_vis_dir is None, "a %DVT_ROOT% folder that does not exist is not applied"
    # the window's look: font factor, per-unit images side by side, layer-list colours, pane outlines
    assert s.font_scale == 1.2 and s.unit_images_stack_vertical is False and s.debug_window_panes is True
    assert s.control_clr == (0.8, 0.8, 0.8) and s.control_clr_bp == (0.8, 0.8, 1.0)
    assert loaded.origins["font_scale"] == str(original_file)
    assert loaded.origins["labels"] == str(original_file)
    for name in NOT_APPLIED:
        lines = [note for note in loaded.notes if f": {name}:" in note]
        assert len(lines) == 1, (name, loaded.notes)
        assert str(original_file) in lines[0]
    assert len(loaded.notes) == len(NOT_APPLIED), loaded.notes
    assert not any("unknown setting" in note for note in loaded.notes)
    assert "set `weights`" in next(n for n in loaded.notes if "caffevis_network_weights" in n)
    assert sorted(r.getMessage() for r in caplog.records) == sorted(loaded.notes), "each note is logged"


def test_window_panes_with_the_unit_pane_keep_it(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("window_panes = (('input', (0, 0, 300, 300)), ('caffevis_layers', (30, 300, 870, 900)),\n"
                     "    ('caffevis_jpgvis', (0, 1200, 900, 300)), ('caffevis_status', (900, 0, 30, 1500)))\n"
                     "caffevis_jpgvis_stack_vert = True\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.window_size == (1500, 930) and loaded.settings.init_show_unit_jpgs is True
    assert len(loaded.notes) == 1 and "window_panes" in loaded.notes[0]


def test_global_scale_alone_scales_the_window(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("window_size = (1000, 600)\nglobal_scale = 1.5\n")
    assert load_settings(local_file=local).settings.window_size == (1500, 900)


def test_our_own_typos_stay_errors(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("caffevis_something_new = 3\nwindow_panes = 'wide'\nboost_gama_choices = (1,)\n")
    with pytest.raises(SettingsError) as err:
        load_settings(local_file=local)
    assert err.value.problems == [f"{local}: unknown setting 'boost_gama_choices' (did you mean "
                                  "'boost_gamma_choices'?)"]


@pytest.mark.parametrize("stack", [True, False])
def test_jpgvis_stack_vert_maps_without_a_note(tmp_path, stack):
    local = tmp_path / "settings_local.py"
    local.write_text(f"caffevis_jpgvis_stack_vert = {stack}\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.unit_images_stack_vertical is stack and not loaded.notes


def test_control_colours_and_font_size_map_without_notes(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("caffevis_control_clr = (.1, .2, .3)\ncaffevis_control_clr_selected = (.4, .5, .6)\n"
                     "caffevis_control_clr_cursor = (.7, .8, .9)\ncaffevis_control_clr_bp = (1, 0, 0)\n"
                     "global_font_size = 2\n")
    loaded = load_settings(local_file=local)
    s = loaded.settings
    assert (s.control_clr, s.control_clr_selected, s.control_clr_cursor, s.control_clr_bp) == (
        (0.1, 0.2, 0.3), (0.4, 0.5, 0.6), (0.7, 0.8, 0.9), (1.0, 0.0, 0.0))
    assert s.font_scale == 2.0 and not loaded.notes


def test_a_font_size_of_the_wrong_type_names_the_file(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("global_font_size = 'big'\n")
    with pytest.raises(SettingsError) as err:
        load_settings(local_file=local)
    assert any(str(local) in p and "font_scale" in p for p in err.value.problems), err.value.problems


ARIK_PANES = ("window_panes = (('input', (0, 0, 300, 300)), ('caffevis_layers', (30, 300, 870, 900)),\n"
              "    ('caffevis_jpgvis', (0, 1200, 900, 300)), ('caffevis_buttons', (0, 1500, 900, 300)),\n"
              "    ('caffevis_status', (900, 0, 30, 1800)))\n")


def test_arik_buttons_pane_in_window_panes_shows_our_buttons_pane(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text(ARIK_PANES)
    loaded = load_settings(local_file=local)
    assert loaded.settings.buttons_pane is True and loaded.settings.window_size == (1800, 930)
    assert loaded.origins["buttons_pane"] == str(local)
    assert len(loaded.notes) == 1 and "buttons pane shown" in loaded.notes[0]


def test_window_panes_without_buttons_leave_the_pane_off(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text(ARIK_PANES.replace("('caffevis_buttons', (0, 1500, 900, 300)),", ""))
    loaded = load_settings(local_file=local)
    assert loaded.settings.buttons_pane is False and "buttons" not in loaded.notes[0]


def test_our_buttons_pane_setting_wins_over_window_panes(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text(ARIK_PANES + "buttons_pane = False\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.buttons_pane is False and "buttons pane shown" not in loaded.notes[0]
