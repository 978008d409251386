"""cnn-vizlib's activation maximisation (`maximize_scores`): Nesterov momentum, max-norm and early
stopping, against a hand-written loop of lasagne's update rules."""

from __future__ import annotations

import torch

from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.optimize.config import preset
from deepvis_app.core.unitvis.optimize.loop import optimize_units
from deepvis_app.core.unitvis.optimize.params import InputSpace


def _small():
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.settings.defaults import Settings
    from tests.helpers.models import two_conv_net

    return two_conv_net(), InputSpace.from_preprocessor(Preprocessor(Settings(input_size=(16, 16))))


def _lasagne_nesterov(net, space, z, unit, steps, lr, momentum, max_norm=0.0):
    """lasagne.updates.nesterov_momentum on cost = -objective (v = m v - lr g; x += m v - lr g),
    then lasagne's norm_constraint, with the original's clip to 0..255 before every forward."""
    velocity = torch.zeros_like(z)
    for step in range(steps):
        z = space.clamp(z).detach().requires_grad_(True)
        objective = forward_until(net, space.to_net(z), ["2"])["2"][:, unit].flatten(1).mean(1).sum()
        if step == steps - 1:   # the last forward only measures
            return z.detach(), float(objective.detach())
        (grad,) = torch.autograd.grad(objective, z)
        cost_grad = -grad
        velocity = momentum * velocity - lr * cost_grad
        z = z.detach() + momentum * velocity - lr * cost_grad
        if max_norm:
            norms = z.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            z = z * norms.clamp(max=max_norm) / (1e-7 + norms)
    raise AssertionError("unreachable")


def _config(**changes):
    base = dict(objective="channel", optimizer="nesterov", blur_every=0, decay=0.0, size=(16, 16), keep="last")
    return preset("yosinski3").replace(**{**base, **changes})


def test_nesterov_equals_lasagnes_update_rule():
    net, space = _small()
    start = optimize_units(net, space, "2", [3], _config(steps=1), (16, 16)).z
    ours = optimize_units(net, space, "2", [3], _config(steps=8, lr=300.0, momentum=0.8), (16, 16))
    reference, value = _lasagne_nesterov(net, space, start, 3, 8, 300.0, 0.8)
    torch.testing.assert_close(ours.z, reference, rtol=1e-4, atol=1e-3)
    assert abs(ours.last_values[0] - value) <= 1e-4 * max(1.0, abs(value))
    plain = optimize_units(net, space, "2", [3], _config(steps=8, lr=300.0, optimizer="sgd"), (16, 16))
    assert not torch.allclose(plain.z, ours.z, atol=1e-2), "momentum changes the path"


def test_max_norm_bounds_every_image_as_lasagnes_norm_constraint():
    net, space = _small()
    start = optimize_units(net, space, "2", [1, 3], _config(steps=1), (16, 16)).z
    ours = optimize_units(net, space, "2", [1, 3], _config(steps=6, lr=3000.0, max_norm=40.0), (16, 16))
    for row, unit in enumerate((1, 3)):
        reference, _ = _lasagne_nesterov(net, space, start[row:row + 1], unit, 6, 3000.0, 0.9, max_norm=40.0)
        torch.testing.assert_close(ours.z[row:row + 1], reference, rtol=1e-4, atol=1e-3)
    assert (ours.z.flatten(1).norm(dim=1) <= 40.0 + 1e-3).all()
    free = optimize_units(net, space, "2", [1, 3], _config(steps=6, lr=3000.0), (16, 16))
    assert (free.z.flatten(1).norm(dim=1) > 40.0).all(), "without max_norm the images grow past it"


def test_early_stopping_ends_a_run_whose_image_no_longer_changes():
    net, space = _small()
    steps: list[int] = []
    still = optimize_units(net, space, "2", [2], _config(steps=60, lr=0.0, early_stop_every=10), (16, 16),
                           progress=steps.append, snapshots=[50])
    assert len(steps) == 10, "stopped at the first check (step 10): the image never changed"
    assert still.history.shape[0] == 60 and 50 in still.snapshots   # history padded, snapshots kept
    steps.clear()
    optimize_units(net, space, "2", [2], _config(steps=60, lr=300.0, early_stop_every=10), (16, 16),
                   progress=steps.append)
    assert len(steps) == 60, "a moving image runs every step"


def test_majority_is_the_image_of_the_first_step_where_the_unit_tops_its_layer():
    """The original optimize_image's majority result: the image at the first step whose forward finds
    the pushed unit holding the maximum of the whole layer (at the pushed position)."""
    net, space = _small()
    config = preset("yosinski3").replace(steps=12, size=(16, 16), lr=2000.0, blur_every=0, decay=0.0)
    result = optimize_units(net, space, "2", [0, 3], config, (16, 16), snapshots=list(range(1, 13)))
    for row, unit in enumerate((0, 3)):
        tops = []
        for step in range(1, 13):   # snapshot k = the image the k-th forward saw
            z = result.snapshots[step][row:row + 1]
            with torch.no_grad():
                acts = forward_until(net, space.to_net(z), ["2"])["2"][0]
            centre = (unit, acts.shape[1] // 2, acts.shape[2] // 2)
            tops.append(acts.flatten().argmax().item() == (centre[0] * acts.shape[1] + centre[1]) * acts.shape[2]
                        + centre[2])
        expected = tops.index(True) if True in tops else -1
        assert result.majority_steps[row] == expected
        if expected >= 0:
            torch.testing.assert_close(result.majority[row], result.snapshots[expected + 1][row])
    assert result.majority_steps[0] > 0 and result.majority_steps[1] == -1, "one tops its layer later, one never"
