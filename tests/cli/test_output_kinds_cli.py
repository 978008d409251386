"""`deepvis attribute`, `classify` and `layers` on segmentation, embedding and two-input models.

The maps are checked against autograd on a bare copy of the network (same seeded weights) through the
written ``--npy``; what cannot be explained is one line on stderr with exit 2.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepvis_app.cli.main import main
from deepvis_app.io.images import load_input
from tests.helpers import output_models

SEG = ["--model", "tests.helpers.output_models:segmentation", "--set", "input_size=(64,64)"]
EMB = ["--model", "tests.helpers.output_models:embedding", "--set", "input_size=(32,32)"]


def _x(loaded_like_size: int, name: str = "sample:chelsea") -> torch.Tensor:
    """The sample as the CLI feeds it (ImageNet mean/std, centre crop)."""
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.settings.loader import load_settings

    settings = load_settings().settings.replace(input_size=(loaded_like_size, loaded_like_size))
    return Preprocessor(settings).to_tensor(load_input(name, 50_000_000))


def test_segmentation_region_map_equals_autograd(tmp_path, capsys):
    out = tmp_path / "m.npy"
    assert main(["attribute", "sample:chelsea", *SEG, "--method", "gradient", "--target", "2",
                 "--region", "8,8,40,56", "--seed", "one", "--npy", str(out)]) == 0
    bare = output_models.segmentation().eval()
    x = _x(64).requires_grad_(True)
    score = bare(x)["out"][0, 2, 8:56, 8:40].sum()
    (expected,) = torch.autograd.grad(score, x)
    np.testing.assert_allclose(np.load(out), expected[0].numpy(), rtol=1e-4, atol=1e-6 * float(expected.abs().max()))


def test_layers_names_the_explained_output(capsys):
    assert main(["layers", *SEG]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("# output layer 'output'") and "output 'out' (dense)" in last


def test_a_class_without_pixels_is_one_line(capsys):
    bare = output_models.segmentation().eval()
    with torch.no_grad():
        predicted = set(bare(_x(64))["out"][0].argmax(0).unique().tolist())
    missing = next(k for k in range(5) if k not in predicted)
    code = main(["attribute", "sample:chelsea", *SEG, "--method", "gradient", "--target", str(missing), "-o",
                 "/tmp/never-written.png"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no pixel" in err[0] and "--region" in err[0]


def test_embedding_needs_a_reference_and_then_explains_the_similarity(tmp_path, capsys):
    code = main(["attribute", "sample:chelsea", *EMB, "--method", "gradient", "--npy", str(tmp_path / "m.npy")])
    err = capsys.readouterr().err
    assert code == 2 and "--similar-to" in err and len(err.strip().splitlines()) == 1
    assert main(["attribute", "sample:chelsea", *EMB, "--method", "gradient", "--similar-to", "sample:coffee",
                 "--seed", "one", "--npy", str(tmp_path / "m.npy")]) == 0
    bare = output_models.embedding().eval()
    concept = bare(_x(32, "sample:coffee"))["image_embeds"][0].detach()
    x = _x(32).requires_grad_(True)
    similarity = torch.nn.functional.cosine_similarity(bare(x)["image_embeds"][0], concept, dim=0)
    (expected,) = torch.autograd.grad(similarity, x)
    np.testing.assert_allclose(np.load(tmp_path / "m.npy"), expected[0].numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("flag", [["--box", "1"], ["--region", "0,0,4,4"], ["--similar-to", "sample:coffee"]])
def test_a_flag_for_another_kind_of_output_is_one_line(flag, capsys):
    code = main(["attribute", "sample:chelsea", "--model", "tests.helpers.models:session_classifier", "--set",
                 "input_size=(32,32)", "--method", "gradient", *flag, "-o", "/tmp/never-written.png"])
    err = capsys.readouterr().err
    assert code == 2 and f"{flag[0]} is for a" in err and "classes" in err


def test_a_two_input_network_gets_a_map_on_each_image(tmp_path, capsys):
    pair = ["--model", "tests.helpers.output_models:siamese", "--set", "input_size=(32,32)",
            "--set", "two_inputs=arguments"]
    npy, png = tmp_path / "m.npy", tmp_path / "m.png"
    assert main(["attribute", "sample:chelsea,sample:coffee", *pair, "--method", "gradient", "--target", "1",
                 "--seed", "one", "--npy", str(npy), "-o", str(png)]) == 0
    from skimage.io import imread

    from deepvis_app.io.playlist import join_pair

    bare = output_models.siamese().eval()
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.settings.loader import load_settings

    pre = Preprocessor(load_settings().settings.replace(input_size=(32, 32), two_inputs="arguments"))
    frame = pre.fit_frame(join_pair(load_input("sample:chelsea", 50_000_000), load_input("sample:coffee", 50_000_000)))
    x = torch.from_numpy(pre.to_array(frame))[None]
    first, second = x[:, :3].clone().requires_grad_(True), x[:, 3:].clone().requires_grad_(True)
    grads = torch.autograd.grad(bare(first, second)[0, 1], [first, second])
    written = np.load(npy)
    np.testing.assert_allclose(written[:3], grads[0][0].numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(written[3:], grads[1][0].numpy(), rtol=1e-4, atol=1e-7)
    assert imread(png).shape[:2] == (32, 64)
    code = main(["attribute", "sample:chelsea", *pair, "--method", "gradient", "-o", str(png)])
    assert code == 2 and "FIRST,SECOND" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("model, layers", [(SEG, "backbone.3,output"), (EMB, "features.3,output")])
def test_the_per_unit_pipeline_runs_on_a_segmentation_and_an_embedding_model(tmp_path, capsys, model, layers):
    from skimage import data
    from skimage.io import imsave

    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout

    images = tmp_path / "images"
    images.mkdir()
    for name in ("chelsea", "coffee", "astronaut", "rocket"):
        imsave(images / f"{name}.png", getattr(data, name)())
    out = tmp_path / "uv"
    assert main(["find-max", str(images), "--layers", layers, "--top", "2", "--out", str(out), "--no-progress",
                 *model]) == 0
    capsys.readouterr()
    first = layers.split(",")[0]
    assert main(["crops", "--out", str(out), "--layers", first, "--idx-end", "2", "--no-progress", *model]) == 0
    assert UnitVisLayout(out).read_unit_images(first, 1).max_im is not None
    assert main(["optimize", "--layer", first, "--units", "0-1", "--steps", "4", "--out", str(out), *model]) == 0
