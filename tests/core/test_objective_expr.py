"""Objective expressions: values equal hand computations on a tiny net's activations, combinations
combine, diversity is lucent's gram-cosine formula, hostile or wrong text is a one-line error, and
optimizing an expression raises it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.optimize.objective_expr import ObjectiveError, parse_objective, slug
from deepvis_app.core.unitvis.optimize.objectives import diversity_values
from tests.helpers.models import tiny_input, tiny_net

CHANNELS = {"conv1": 4, "conv2": 6, "fc": 5}


def channels_of(name: str) -> int:
    return CHANNELS[name]  # KeyError: unknown layer, as LoadedModel.layer


@pytest.fixture(scope="module")
def acts():
    with torch.no_grad():
        return forward_until(tiny_net(), tiny_input(shape=(3, 3, 16, 16)), list(CHANNELS))


def value(text: str, acts) -> np.ndarray:
    objective = parse_objective(text, channels_of)
    return objective({name: acts[name] for name in objective.layers}).detach().numpy()


def test_channel_neuron_direction_equal_hand_computations(acts):
    conv2 = acts["conv2"].detach().numpy()  # 3 x 6 x 8 x 8
    np.testing.assert_allclose(value("channel('conv2', 3)", acts), conv2[:, 3].mean(axis=(1, 2)))
    np.testing.assert_allclose(value("neuron('conv2', 2)", acts), conv2[:, 2, 4, 4])
    # lucent's x is the column and y the row
    np.testing.assert_allclose(value("neuron('conv2', 2, 1, 5)", acts), conv2[:, 2, 5, 1])
    np.testing.assert_allclose(value("channel('fc', 4)", acts), acts["fc"].numpy()[:, 4])
    v = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    expected = [np.mean([np.dot(v, conv2[n, :, i, j]) / (np.linalg.norm(v) * np.linalg.norm(conv2[n, :, i, j]))
                         for i in range(8) for j in range(8)]) for n in range(3)]
    np.testing.assert_allclose(value("direction('conv2', [1, -2, 0.5, 0, 3, -1])", acts), expected, rtol=1e-6)


def test_linear_combinations_combine_the_separate_values(acts):
    a, b, c = (value(text, acts) for text in ("channel('conv2', 3)", "channel('conv1', 1)", "neuron('fc', 4)"))
    combined = value("channel('conv2', 3) - 0.5*channel('conv1', 1) + neuron('fc', 4)*2", acts)
    np.testing.assert_allclose(combined, a - 0.5 * b + 2 * c, rtol=1e-6)
    np.testing.assert_allclose(value("-(channel('conv2', 3) - channel('conv1', 1)) / 4", acts), -(a - b) / 4,
                               rtol=1e-6)
    np.testing.assert_allclose(value("2*3*channel('conv2', 3)", acts), 6 * a, rtol=1e-6)
    assert parse_objective("channel('conv2', 3) - 0.5*channel('conv1', 1)", channels_of).layers == ("conv2", "conv1")


def test_diversity_is_the_negative_gram_cosine_similarity_to_the_other_images(acts):
    layer = acts["conv2"].detach().numpy()
    grams = [f @ f.T for f in layer.reshape(3, 6, -1)]
    grams = [g / np.linalg.norm(g) for g in grams]
    by_hand = [-sum(float((grams[i] * grams[j]).sum()) for j in range(3) if j != i) for i in range(3)]
    values = value("diversity('conv2')", acts)
    np.testing.assert_allclose(values, by_hand, rtol=1e-6)
    # lucent's own formula (objectives.diversity): -sum_i sum_{j != i} <G_i, G_j> / batch = the batch mean
    t = acts["conv2"]
    flat = t.reshape(3, 6, -1)
    g = F.normalize(flat @ flat.transpose(1, 2), p=2, dim=(1, 2))
    lucent = -sum(sum((g[i] * g[j]).sum() for j in range(3) if j != i) for i in range(3)) / 3
    assert values.mean() == pytest.approx(float(lucent), rel=1e-6)
    # grouped: each group of rows compared only within itself
    pairs = diversity_values(torch.cat([t, t[:1]]), group=2).numpy()
    single = diversity_values(t[:2]).numpy()
    np.testing.assert_allclose(pairs[:2], single, rtol=1e-6)


def test_channel_interpolate_sweeps_between_two_objectives(acts):
    a, b = value("channel('conv2', 3)", acts), value("channel('conv1', 1)", acts)
    got = value("channel_interpolate('conv2', 3, 'conv1', 1)", acts)
    np.testing.assert_allclose(got, [a[0], 0.5 * a[1] + 0.5 * b[1], b[2]], rtol=1e-6)
    objective = parse_objective("channel_interpolate('conv2', 3, 'conv1', 1)", channels_of)
    assert objective.min_batch == 2 and not objective.coupled
    assert parse_objective("channel('conv2', 1) + diversity('conv2')", channels_of).coupled


@pytest.mark.parametrize("text, fragment", [
    ("__import__('os').system('echo hacked')", "cannot be called"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("channel('conv2', 3).__class__", "attribute access"),
    ("channel.__globals__", "attribute access"),
    ("lambda: 1", "not allowed"),
    ("[c for c in 'ab']", "not allowed"),
    ("channel(layer='conv2', c=1)", "keyword arguments"),
    ("channel(*['conv2', 1])", "takes 2 arguments"),
    ("channel('nope', 1)", "unknown layer 'nope'"),
    ("channel(conv2, 1)", "quoted string"),
    ("channel('conv2', 6)", "unit 6 out of range: layer 'conv2' has 6 units"),
    ("channel('conv2', -1)", "whole number"),
    ("neuron('conv2', 1.5)", "whole number"),
    ("channel('conv2', True)", "the constant True is not allowed"),
    ("neuron('conv2', 1, 2)", "takes 2 or 4 arguments"),
    ("direction('conv2', [1, 2])", "2 entries but layer 'conv2' has 6"),
    ("direction('conv2', [0, 0, 0, 0, 0, 0])", "all zeros"),
    ("channel('conv2', 1) * channel('conv2', 2)", "only be multiplied by numbers"),
    ("channel('conv2', 1) + 1", "cannot add a number"),
    ("channel('conv2', 1) / 0", "non-zero"),
    ("channel('conv2', 1) ** 2", "not allowed"),
    ("2 + 3", "is a number"),
    ("channel('conv2', 1", "syntax error"),
    ("", "empty"),
])
def test_bad_expressions_are_one_line_errors(text, fragment):
    with pytest.raises(ObjectiveError, match=None) as info:
        parse_objective(text, channels_of)
    message = str(info.value)
    assert fragment in message and "\n" not in message
    assert message.startswith("objective")


def test_hostile_text_is_never_executed(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ObjectiveError):
        parse_objective(f"__import__('pathlib').Path({str(marker)!r}).touch()", channels_of)
    with pytest.raises(ObjectiveError):
        parse_objective(f"channel('conv2', 1) + open({str(marker)!r}, 'w')", channels_of)
    assert not marker.exists()


def test_neuron_outside_the_map_fails_when_measured(acts):
    objective = parse_objective("neuron('conv2', 1, 8, 0)", channels_of)
    with pytest.raises(ObjectiveError, match="outside the 8x8"):
        objective(acts)


def test_slugs_are_safe_file_names_and_distinct():
    a, b = slug("channel('a/b', 3) - 0.5*channel('x', 7)"), slug("channel('a/b', 3) - 0.5*channel('x', 8)")
    assert a != b and "/" not in a and "'" not in a and " " not in a


def _space():
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.core.unitvis.optimize.params import InputSpace
    from deepvis_app.settings.defaults import Settings

    return InputSpace.from_preprocessor(Preprocessor(Settings(input_size=(16, 16))))


def test_optimizing_an_expression_raises_it_and_records_every_step():
    from deepvis_app.core.unitvis.optimize.config import preset
    from deepvis_app.core.unitvis.optimize.loop import optimize_objective
    from tests.helpers.models import two_conv_net

    net, space = two_conv_net(), _space()
    objective = parse_objective("channel('2', 3) - 0.5*channel('2', 1)", {"0": 4, "2": 5}.__getitem__)
    # no blur or decay: on a random net they outweigh a few gradient steps
    config = preset("yosinski3").replace(steps=8, size=(16, 16), lr=2000.0, blur_every=0, decay=0.0)
    result = optimize_objective(net, space, objective, 2, config, (16, 16), snapshots=[1, 6])
    assert result.history.shape == (8, 2)
    assert (np.diff(result.history, axis=0) > 0).all(), result.history
    assert sorted(result.snapshots) == [1, 6] and result.snapshots[1].shape == (2, 3, 16, 16)
    # the kept image, measured again, has the recorded value
    with torch.no_grad():
        acts = forward_until(net, space.to_net(result.z), list(objective.layers))
    np.testing.assert_allclose(objective(acts).numpy(), result.best_values, rtol=1e-4)
    assert not torch.equal(result.z[0], result.z[1]), "each image of the batch starts from its own draw"


def test_diversity_term_pushes_a_batch_apart():
    from deepvis_app.core.unitvis.optimize.config import preset
    from deepvis_app.core.unitvis.optimize.loop import optimize_objective
    from tests.helpers.models import two_conv_net

    net, space = two_conv_net(), _space()
    channels = {"0": 4, "2": 5}.__getitem__
    config = preset("yosinski3").replace(steps=8, size=(16, 16), lr=2000.0, blur_every=0, decay=0.0, keep="last")
    plain = optimize_objective(net, space, parse_objective("channel('2', 3)", channels), 3, config, (16, 16))
    diverse = optimize_objective(net, space, parse_objective("channel('2', 3) + 50*diversity('2')", channels), 3,
                                 config, (16, 16))
    with torch.no_grad():
        measure = {"plain": plain.z, "diverse": diverse.z}
        similarity = {name: float(-diversity_values(forward_until(net, space.to_net(z), ["2"])["2"]).mean())
                      for name, z in measure.items()}
    assert similarity["diverse"] < 0.6 * similarity["plain"], similarity  # measured 0.77 vs 2.0
    with pytest.raises(ObjectiveError, match="at least 2"):
        optimize_objective(net, space, parse_objective("diversity('2')", channels), 1, config, (16, 16))
