"""Slow methods with a `Progress`: partial maps while they run, the direct map at the end, cancellation
within one layer, and resuming an abandoned job from what it finished (issue 8 §6)."""

from __future__ import annotations

import threading

import pytest
import torch

from deepvis_app.core.base.progress import Cancelled, CancelToken, Progress, cancel_points
from deepvis_app.core.methods.registry import attribute
from tests.helpers.models import tiny_input, tiny_net

TARGETS = [1, 2]
SLOW = [("occlusion", {"window": 2, "stride": 1, "perturbations_per_eval": 20}),
        ("smoothgrad", {"samples": 6, "batch_size": 2, "seed": 3}),
        ("integrated_gradients", {"steps": 9, "internal_batch_size": 4})]


def forward_count(net: torch.nn.Module) -> list[int]:
    calls = [0]
    net.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize("method, options", SLOW)
def test_partial_maps_arrive_and_the_final_map_is_the_direct_one(method, options):
    net, x = tiny_net(residual=True), tiny_input()
    direct = attribute(net, x, method, target=TARGETS, **options)
    reports: list[tuple[float, torch.Tensor]] = []
    progress = Progress(report=lambda fraction, make: reports.append((fraction, make().clone())))
    final = attribute(net, x, method, target=TARGETS, progress=progress, **options)
    assert torch.equal(final, direct)
    fractions = [fraction for fraction, _ in reports]
    assert len(reports) >= 3 and fractions == sorted(fractions) and fractions[0] < 1 and fractions[-1] == 1
    assert all(partial.shape == direct.shape and torch.isfinite(partial).all() for _, partial in reports)
    torch.testing.assert_close(reports[-1][1], direct, rtol=1e-10, atol=1e-12)   # all batches done
    assert not torch.allclose(reports[1][1], direct)                                # a real partial


def test_occlusion_shows_the_coarse_map_first():
    """The first partial map is occlusion with windows of a third of the image (9 windows)."""
    net, x = tiny_net(), tiny_input()
    reports: list[tuple[float, torch.Tensor]] = []
    progress = Progress(report=lambda fraction, make: reports.append((fraction, make().clone())))
    attribute(net, x, "occlusion", target=TARGETS, window=2, stride=1, perturbations_per_eval=20, progress=progress)
    coarse = attribute(net, x, "occlusion", target=TARGETS, window=6, stride=6, perturbations_per_eval=20)
    assert reports[0][0] == 0.0 and torch.equal(reports[0][1], coarse)


@pytest.mark.parametrize("method, options", SLOW)
def test_a_cancelled_job_resumes_where_it_stopped(method, options):
    net, x = tiny_net(), tiny_input()
    direct = attribute(net, x, method, target=TARGETS, **options)
    calls = forward_count(net)
    attribute(net, x, method, target=TARGETS, **options)
    full_run = calls[0]
    token, memo = CancelToken(), {}

    def cancel_halfway(fraction: float, _make) -> None:
        if fraction >= 0.5:
            token.cancel()
    with pytest.raises(Cancelled):
        attribute(net, x, method, target=TARGETS, progress=Progress(token, cancel_halfway, memo), **options)
    calls[0] = 0
    resumed = attribute(net, x, method, target=TARGETS, progress=Progress(CancelToken(), None, memo), **options)
    assert torch.equal(resumed, direct)
    assert 0 < calls[0] < full_run   # the batches done before the cancel were not run again


def test_cancel_points_stop_a_forward_at_the_next_layer_of_this_thread_only():
    net, x = tiny_net(), tiny_input()
    ran: list[str] = []
    for name, module in net.named_children():
        module.register_forward_hook(lambda _m, _i, _o, name=name: ran.append(name))
    token = CancelToken()
    net.conv1.register_forward_hook(lambda *_: token.cancel() if token is not None else None)
    with cancel_points(net, Progress(token)):
        with pytest.raises(Cancelled):
            net(x)
        assert ran == ["conv1"]                      # act1, pool, conv2... never ran
        other: list[torch.Tensor] = []
        thread = threading.Thread(target=lambda: other.append(net(x)))
        thread.start()
        thread.join()
        assert len(other) == 1                       # another thread's forward is not cancelled
    ran.clear()
    net(x)                                           # outside the block: no check at all
    assert ran[-1] == "fc"
