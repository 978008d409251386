"""The shipped dense and embedding variants of EfficientNet-Lite0 load the default model's weights and
agree with it: the dense classifier's per-position logits average to the classifier's logits (global
average pooling commutes with the linear layer), and the embedding is the classifier's input."""

from __future__ import annotations

import pytest
import torch

from deepvis_app.core.nn.classify import classify_image
from deepvis_app.core.nn.model import load_model
from deepvis_app.core.nn.outputs import head_or_plain
from deepvis_app.io.images import load_input
from deepvis_app.settings.loader import load_settings


@pytest.fixture(scope="module")
def classifier():
    return load_model(load_settings("efficientnet_lite0").settings)


@pytest.mark.slow
def test_dense_logits_average_to_the_classifiers_and_the_cat_covers_the_image(classifier):
    dense = load_model(load_settings("efficientnet_lite0_dense").settings)
    x = classifier.preprocessor.to_tensor(load_input("sample:chelsea", None))
    with torch.no_grad():
        logits = classifier.module(x)
        head_features = {}
        hook = dense.module._head_act.register_forward_hook(lambda _m, _i, out: head_features.update(f=out))
        dense.module(x)
        hook.remove()
        per_position = torch.nn.functional.conv2d(head_features["f"], dense.module._fc.weight[:, :, None, None],
                                                  dense.module._fc.bias)
    torch.testing.assert_close(per_position.mean((2, 3)), logits, rtol=1e-4, atol=1e-4)
    top = classify_image(dense, load_input("sample:chelsea", None), top=3)
    assert {row["index"] for row in top} <= {281, 282, 285, 287} and top[0]["prob"] > 0.3   # cat classes


@pytest.mark.slow
def test_the_embedding_is_the_classifiers_pooled_features(classifier):
    embed = load_model(load_settings("efficientnet_lite0_embed").settings)
    x = classifier.preprocessor.to_tensor(load_input("sample:coffee", None))
    seen = {}
    hook = classifier.module._fc.register_forward_hook(lambda _m, inputs, _o: seen.update(x=inputs[0]))
    with torch.no_grad():
        classifier.module(x)
        embed.module(x)
    embedding = head_or_plain(embed.module).last_picked
    hook.remove()
    torch.testing.assert_close(embedding.flatten(1), seen["x"])
    assert embed.layers[-1].name == "output" and embed.layers[-1].shape == (1,)
