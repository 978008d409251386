"""`deepvis dream` run with cnn-vis's own commands: two of its example scripts (examples/example7.sh and
example10.sh, translated to EfficientNet-Lite0 and a small image, few steps) must make a visible dream,
the regularizer flags must act as cnn-vis says, and every cnn-vis flag (also the ones only its source
has: --gpu, --mean_image, --tv_grad_operator, the learning-rate decay, --show_width/--show_height,
and the Caffe-only --deploy_txt/--caffe_model) is accepted or refused with one clear line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from deepvis_app.cli.main import main
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.optimize.objectives import layer_amplification
from deepvis_app.io.images import load_input, read_image

# cnn-vis examples/example7.sh (scream.jpg, inception_3a/1x1) and example10.sh (lake.jpg, inception_4d/pool):
# the same optimization and regularization values; GoogLeNet's 28x28 inception_3a is our 28x28 _blocks.3,
# its 14x14 inception_4d our 14x14 _blocks.8; 8 steps per size instead of 30 and 50, and two sizes of a
# 60x90 image instead of 2 and 4 sizes of a large one, so that the test runs in seconds.
EXAMPLE7 = ["--image_type=amplify_layer", "--layer", "_blocks.3", "--gpu=0", "--num_steps=8", "--batch_size=25",
            "--output_iter=8", "--learning_rate=1.0", "--decay_rate=0.9", "--alpha=2.0", "--p_reg=5e-1",
            "--beta=2.5", "--tv_reg=5e-2", "--initial_size=x0.8", "--final_size=x1.0", "--num_sizes=2",
            "--iter_behavior=print"]
EXAMPLE10 = ["--image_type=amplify_layer", "--layer", "_blocks.8", "--gpu=0", "--num_steps=8", "--batch_size=25",
             "--output_iter=8", "--learning_rate=1.0", "--decay_rate=0.9", "--alpha=2.0", "--p_reg=5e0",
             "--beta=2.5", "--tv_reg=1e-1", "--initial_size=x0.5", "--final_size=x1.0", "--num_sizes=2",
             "--iter_behavior=print"]


@pytest.fixture(scope="module")
def small_image(tmp_path_factory):
    path = tmp_path_factory.mktemp("dream_cnnvis") / "chelsea.png"
    Image.fromarray(load_input("sample:chelsea", 10**9)).resize((90, 60), Image.BICUBIC).save(path)
    return path


def _dream(tmp_path, image, argv, name="out.png"):
    out = tmp_path / name
    assert main(["dream", str(image), *argv, "-o", str(out)]) == 0
    return read_image(out).astype(float)


def _amplification(model, image: np.ndarray, layer: str) -> float:
    x = torch.from_numpy(model.preprocessor.to_array(image.astype(np.uint8)))[None]
    with torch.no_grad():
        return float(layer_amplification(layer)(forward_until(model.module, x, [layer])))


def _unchanged(model, image: np.ndarray) -> np.ndarray:
    """The image as cnn-vis saves an unchanged one: 1.2 times the contrast about the mean colour, clipped."""
    mean = 255 * np.array(model.settings.mean)
    return np.round(np.clip(1.2 * (image - mean) + mean, 0, 255))


def _total_variation(image: np.ndarray) -> float:
    return float(np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean())


@pytest.mark.parametrize("example", [EXAMPLE7, EXAMPLE10], ids=["example7", "example10"])
def test_cnn_vis_example_commands_make_a_visible_dream(tmp_path, small_image, default_model, example):
    """Two thresholds. Mean |dream - unchanged| >= 8 grey levels, against the input as cnn-vis saves it
    unchanged (1.2 times the contrast): resampling and rounding alone stay under 1. And the dreamed layer's
    amplification (the objective) at least 1.8 times the input's, so that the change is a dream and not the
    TV blur. With the gradient with respect to the 0..255 pixels these commands gave 5.2 and 2.3 levels and
    1.34x and 1.05x; with the plain input-blob gradient 7.5 and 4.5 levels (against the input) and 2.5x and
    2.3x; with `cnn_grad_scale` 8 (see `dream.region_gradients`) 13.0 and 10.8 levels and 2.7x and 2.7x."""
    start = read_image(small_image).astype(float)
    dreamed = _dream(tmp_path, small_image, example)
    assert dreamed.shape == start.shape
    assert np.abs(dreamed - _unchanged(default_model, start)).mean() >= 8.0
    layer = example[example.index("--layer") + 1]
    assert _amplification(default_model, dreamed, layer) >= 1.8 * _amplification(default_model, start, layer)


def test_default_options_make_a_visible_dream_in_few_steps(tmp_path, small_image, default_model):
    """Issue 11: `deepvis dream IMAGE --layer _blocks.5` with every default. The reference is the input as
    cnn-vis saves an unchanged image (1.2 times the contrast about the mean colour, clipped), so the
    measured change is the dream, not the contrast. 20 steps must move the picture by >= 7.5 grey levels on
    average: twice the 3.8 that issue 11 called "almost unchanged", and above the 6.9 that the plain input
    gradient (--cnn_grad_scale 1) reaches here, where the default p-norm stops it; the default gives 8.7.
    And the layer's amplification at least 1.5 times the input's (3.6 measured), so the change is a dream."""
    unchanged = _unchanged(default_model, read_image(small_image).astype(float))
    argv = ["--layer", "_blocks.5", "--num_steps=20", "--iter_behavior="]
    dreamed = _dream(tmp_path, small_image, argv)
    assert np.abs(dreamed - unchanged).mean() >= 7.5
    plain = _dream(tmp_path, small_image, argv + ["--cnn_grad_scale=1"], "plain.png")
    assert np.abs(plain - unchanged).mean() < np.abs(dreamed - unchanged).mean()
    assert _amplification(default_model, dreamed, "_blocks.5") >= 1.5 * _amplification(default_model, unchanged,
                                                                                         "_blocks.5")


def test_stronger_tv_gives_a_smoother_dream_and_stronger_p_norm_a_closer_one(tmp_path, small_image, default_model):
    start = _unchanged(default_model, read_image(small_image).astype(float))
    quick = [a for a in EXAMPLE7 if not a.startswith(("--num_steps", "--num_sizes", "--initial_size"))]
    quick += ["--num_steps=4", "--num_sizes=1"]
    base = _dream(tmp_path, small_image, quick, "base.png")
    smooth = _dream(tmp_path, small_image, quick + ["--tv_reg=5"], "tv.png")
    assert _total_variation(smooth) < 0.9 * _total_variation(base)
    held = _dream(tmp_path, small_image, quick + ["--p_reg=50"], "p.png")
    assert np.abs(held - start).mean() < 0.7 * np.abs(base - start).mean()
    sobel = _dream(tmp_path, small_image, quick + ["--tv_reg=5", "--tv_grad_operator", "sobel"], "sobel.png")
    assert np.abs(sobel - smooth).mean() > 0.5, "the Sobel operator is another regularizer"


def test_gpu_flag(tmp_path, small_image, capsys):
    """cnn-vis passes --gpu in every example: cuda:N when there is one, else the CPU with a note."""
    quick = ["--layer", "_blocks.1", "--num_steps=1", "--iter_behavior=", "--initial_size=20x30"]
    _dream(tmp_path, small_image, quick + ["--gpu", "-1"])
    assert "--gpu -1: a negative GPU; running on the CPU" in capsys.readouterr().err
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    _dream(tmp_path, small_image, quick + ["--gpu", str(count)])
    assert f"this machine has {count} CUDA GPU(s); running on the CPU" in capsys.readouterr().err
    if count:
        _dream(tmp_path, small_image, quick + ["--gpu", "0"])
        assert "running on the CPU" not in capsys.readouterr().err
    assert main(["dream", str(small_image), *quick, "--gpu", "0", "--device", "cpu", "-o", "x.png"]) == 2
    assert "--gpu 0 and --device cpu: give one of them" in capsys.readouterr().err


def test_mean_image_sets_the_grey_of_the_noise(tmp_path, capsys):
    np.save(tmp_path / "mean.npy", np.full((3, 8, 8), 200.0))
    noise = ["--layer", "_blocks.1", "--num_steps=1", "--iter_behavior=", "--initial_size=24x24"]
    grey = read_image(_out(tmp_path, noise + ["--mean_image", str(tmp_path / "mean.npy")]))
    assert abs(grey.mean() - 200) < 10
    plain = read_image(_out(tmp_path, noise))
    assert abs(plain.mean() - 255 * np.mean([0.485, 0.456, 0.406])) < 10  # the model's mean colour


def _out(tmp_path, argv):
    out = tmp_path / "noise.png"
    assert main(["dream", *argv, "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize(("content", "problem"), [
    (None, "not a readable .npy array"),
    (b"hello", "not a readable .npy array"),
    (np.array([np.nan, 1.0]), "finite numbers"),
    (np.array([], dtype=float), "finite numbers"),
    (np.full(4, 1000.0), "outside 0..255"),
])
def test_bad_mean_image_is_one_line_naming_it(tmp_path, capsys, content, problem):
    path = tmp_path / "m.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        np.save(path, content)
    assert main(["dream", "--layer", "_blocks.1", "--mean_image", str(path), "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--mean_image '{path}'" in err and problem in err


def test_caffe_flags_are_refused_and_other_flags_are_checked(tmp_path, capsys):
    out = ["-o", str(tmp_path / "o.png")]
    assert main(["dream", "--layer", "_blocks.1", "--deploy_txt", "deploy.prototxt", *out]) == 2
    assert "--deploy_txt 'deploy.prototxt': Caffe models are not loaded here" in capsys.readouterr().err
    assert main(["dream", "--layer", "_blocks.1", "--caffe_model", "g.caffemodel", *out]) == 2
    assert "--weights" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dream", "--layer", "_blocks.1", "--tv_grad_operator", "prewitt", *out])
    assert "sobel_squish" in capsys.readouterr().err
    assert main(["dream", "--layer", "_blocks.1", "--learning_rate_decay_iter", "0", *out]) == 2
    assert "learning_rate_decay_iter" in capsys.readouterr().err


def test_every_cnn_vis_flag_is_accepted_with_its_default(capsys):
    """The flags of cnn-vis's build_parser(), and the defaults --help states for them."""
    with pytest.raises(SystemExit):
        main(["dream", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    flags = ("deploy_txt caffe_model batch_size mean_image gpu image_type target_layer target_neuron initial_image "
             "initialization_scale initialization_blur initial_size final_size num_sizes resize_type learning_rate "
             "decay_rate learning_rate_decay_iter learning_rate_decay_fraction num_steps use_pixel_learning_rates "
             "amplify_l1_weight amplify_l2_weight amplify_grad_clip alpha p_scale p_reg alpha_aux p_scale_aux "
             "p_reg_aux beta tv_reg tv_reg_scale tv_reg_step tv_reg_step_iter tv_grad_operator output_file "
             "output_iter show_width show_height rescale_image iter_behavior").split()
    for flag in flags:
        assert f"--{flag} " in text or f"--{flag}," in text, flag
    for shown in ("(default 100)", "(default 1000)", "(default 0.0001)", "(default naive)", "(default 0.5)",
                  "(default 5)", "(default save+print)"):
        assert shown in text, shown


def test_show_size_reaches_the_figure(tmp_path, small_image, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "pause", lambda *_: None)
    _dream(tmp_path, small_image, ["--layer", "_blocks.1", "--num_steps=1", "--output_iter=1",
                                   "--iter_behavior=show", "--initial_size=20x30", "--show_width=3",
                                   "--show-height=2"])
    assert tuple(plt.figure("dream").get_size_inches()) == (3.0, 2.0)
    plt.close("all")


def test_plot_pix_plots_cnn_vis_pixels_every_step(tmp_path, small_image, monkeypatch):
    """cnn-vis's plot_pix: each channel of its four fixed pixels, one point per step."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "pause", lambda *_: None)
    _dream(tmp_path, small_image, ["--layer", "_blocks.1", "--num_steps=3", "--output_iter=1",
                                   "--iter_behavior=plot_pix", "--initial_size=210x220"])
    lines = plt.figure("plot_pix").gca().get_lines()
    plt.close("all")
    assert len(lines) == 12                       # 4 pixels x 3 channels, redrawn at every output
    assert all(len(line.get_ydata()) == 3 for line in lines)
    assert any(line.get_ydata()[0] != line.get_ydata()[-1] for line in lines), "the pixels never changed"
