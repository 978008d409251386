"""Vision transformers in deepvis: token layers as unit grids (`core.tokens`), the CAM family on them
against pytorch-grad-cam with a ``reshape_transform``, attention rollout against a hand-written
reference, the app showing a ViT layer as a grid of patch-grid tiles, and CNNs left as they were.

torchvision ``vit_b_16`` and ``swin_t`` are built with weights=None and seeded at 64 x 64 inputs
(``vit_b_16(image_size=64)``: a 4 x 4 patch grid); the ViT's head, which torchvision initializes to
zero (every gradient would be zero), gets random weights. The session test uses a two-layer ViT.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from pytorch_grad_cam import GradCAM, LayerCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn
from torchvision.models.vision_transformer import VisionTransformer

from deepvis_app.core.app.session import Session
from deepvis_app.core.methods.registry import attribute, get_method
from deepvis_app.core.nn import tokens
from deepvis_app.core.nn.hooks import capture_activations
from deepvis_app.core.nn.layers import discover_layers
from deepvis_app.core.nn.model import load_model, prepare_for_visualization
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.defaults import Settings
from deepvis_app.settings.loader import load_settings, validate
from tests.helpers.cam_oracles import oracle_scaled

SIZE = 64
TARGETS = [3, 7]
ATOL = 1e-5   # float32 models; the oracle's maps are float32 in [0, 1]


def seeded_vit() -> nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.vit_b_16(weights=None, image_size=SIZE)
    nn.init.normal_(model.heads.head.weight, std=0.05)
    return prepare_for_visualization(model)


@pytest.fixture(scope="module")
def vit() -> nn.Module:
    return seeded_vit()


@pytest.fixture(scope="module")
def swin() -> nn.Module:
    torch.manual_seed(0)
    return prepare_for_visualization(torchvision.models.swin_t(weights=None))


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3))


# --- the reshape -----------------------------------------------------------------------------------------

def test_token_grids_round_trip_and_are_inferred_by_the_square_check():
    tokens_in = torch.randn(2, 1 + 12, 5)
    grid = tokens.fit((13, 5), (3, 4))
    assert grid == tokens.TokenGrid(3, 4, extra=1)
    shown = grid.to_grid(tokens_in)
    assert shown.shape == (2, 5, 3, 4) and torch.equal(shown[1, 2, 2, 3], tokens_in[1, 1 + 2 * 4 + 3, 2])
    assert torch.equal(grid.to_tokens(shown, tokens_in), tokens_in)
    channels_last = torch.randn(2, 6, 6, 8)
    swin_grid = tokens.infer((6, 6, 8))
    assert swin_grid == tokens.TokenGrid(6, 6, channels_last=True)
    assert torch.equal(swin_grid.to_grid(channels_last), channels_last.permute(0, 3, 1, 2))
    assert torch.equal(swin_grid.to_tokens(swin_grid.to_grid(channels_last), channels_last), channels_last)
    assert tokens.infer((197, 768)) == tokens.TokenGrid(14, 14, extra=1)
    assert tokens.infer((196, 768)) == tokens.TokenGrid(14, 14)
    assert tokens.infer((198, 768)) == tokens.TokenGrid(14, 14, extra=2)     # class + distillation token
    assert tokens.infer((768, 14, 14)) is None and tokens.infer((7, 7, 7)) is None and tokens.infer((1000,)) is None


def test_cnns_are_not_reshaped():
    """No attention module, no reshape: ConvNeXt's channels-last MLP outputs (56, 56, 384) stay as they are."""
    from deepvis_app.core.nn.zoo.efficientnet_lite import efficientnet_lite0

    assert not tokens.has_attention(efficientnet_lite0())
    convnext = torchvision.models.convnext_tiny(weights=None)
    assert not tokens.has_attention(convnext)
    assert tokens.layout(convnext, "features.1.0.block.3", (56, 56, 384)) is None
    _, taps = capture_activations(prepare_for_visualization(convnext), torch.randn(1, 3, 32, 32),
                                  ["features.1.0.block.3", "features.1.0"])
    assert taps["features.1.0.block.3"].shape == (1, 8, 8, 384) and taps["features.1.0"].shape == (1, 96, 8, 8)


def test_token_grid_setting_overrides_per_prefix_and_is_validated(vit, x):
    try:
        tokens.configure(vit, {"": None, "encoder.layers.encoder_layer_1": (4, 4)})
        _, taps = capture_activations(vit, x, ["encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_1"])
        assert taps["encoder.layers.encoder_layer_0"].shape == (2, 17, 768)
        assert taps["encoder.layers.encoder_layer_1"].shape == (2, 768, 4, 4)
    finally:
        tokens.configure(vit, None)
    bad = Settings(token_grid={"encoder": (0, 4), "x": None})
    assert validate(bad, {"token_grid": "my_settings.py"}) == [
        "my_settings.py: setting 'token_grid' = {'encoder': (0, 4), 'x': None}: entry 'encoder': (0, 4) must map a "
        "layer-name prefix to (height, width) in tokens (positive integers) or None"]


def test_vit_layers_are_discovered_as_patch_grids_and_tapped_as_the_tokens_reshaped(vit, x):
    layers = {info.name: info for info in discover_layers(vit, Settings(input_size=(SIZE, SIZE)))}
    blocks = [f"encoder.layers.encoder_layer_{i}" for i in range(12)]
    assert all(layers[name].shape == (768, 4, 4) and layers[name].is_spatial for name in blocks)
    assert layers["conv_proj"].shape == (768, 4, 4) and layers["heads.head"].shape == (1000,)
    raw = []
    handle = vit.get_submodule(blocks[5]).register_forward_hook(lambda _m, _i, out: raw.append(out))
    try:
        _, taps = capture_activations(vit, x, [blocks[5]])
    finally:
        handle.remove()
    expected = raw[0][:, 1:].reshape(2, 4, 4, 768).permute(0, 3, 1, 2)   # drop the class token, patch grid
    torch.testing.assert_close(taps[blocks[5]], expected, rtol=0, atol=0)


def test_swin_layers_are_discovered_channels_first(swin):
    layers = {info.name: info.shape for info in discover_layers(swin, Settings(input_size=(SIZE, SIZE)))}
    assert layers["features.1.1"] == (96, 16, 16) and layers["features.3.1"] == (192, 8, 8)
    assert layers["features.7.1"] == (768, 2, 2) and layers["features.0.0"] == (96, 16, 16)


@pytest.mark.parametrize("block, token, window", [(0, (3, 10), (range(0, 7), range(7, 14))),
                                                  (1, (10, 10), (range(10, 17), range(10, 17)))])
def test_swin_block_outputs_are_in_image_order_windows_undone(swin, block, token, window):
    """A change at one token of a Swin block's input changes exactly the tokens of its (shifted, for
    block 1: shift 3) 7 x 7 window, at their image positions: torchvision undoes the window partition
    and the cyclic shift, so (B, H, W, C) -> (B, C, H, W) is the whole reshape."""
    module = swin.get_submodule(f"features.1.{block}")
    inputs = torch.randn(1, 28, 28, 96, generator=torch.Generator().manual_seed(5))
    changed_input = inputs.clone()
    changed_input[0, token[0], token[1]] += torch.randn(96, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        diff = (module(changed_input) - module(inputs)).abs().amax(dim=-1)[0]
    expected = torch.zeros(28, 28, dtype=torch.bool)
    expected[window[0].start:window[0].stop, window[1].start:window[1].stop] = True
    assert torch.equal(diff > 1e-6, expected)


# --- the CAM family, against pytorch-grad-cam with a reshape_transform -------------------------------------

def vit_reshape(tensor: torch.Tensor, height: int = 4, width: int = 4) -> torch.Tensor:
    """pytorch-grad-cam's documented ViT reshape_transform (its tutorial's)."""
    result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def swin_reshape(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.permute(0, 3, 1, 2)


def grad_cam_oracle(cam_class, model: nn.Module, layer: str, x: torch.Tensor, reshape, side: int) -> torch.Tensor:
    """pytorch-grad-cam's map at the layer's resolution. It backprops a loss of an input that does not
    require grad, so some parameter must: the first one (the patch embedding's) is enough for the graph
    and keeps it from computing 86M weight gradients."""
    first = next(model.parameters())
    first.requires_grad_(True)
    try:
        cam = cam_class(model, [model.get_submodule(layer)], reshape_transform=reshape)
        cam.get_target_width_height = lambda _x: (side, side)
        return torch.from_numpy(cam(x, [ClassifierOutputTarget(t) for t in TARGETS]))[:, None]
    finally:
        first.requires_grad_(False)
        first.grad = None


@pytest.mark.parametrize("name, oracle_class", [("gradcam", GradCAM), ("layercam", LayerCAM)])
def test_cams_on_a_vit_block_equal_grad_cam_with_reshape_transform(vit, x, name, oracle_class):
    layer = "encoder.layers.encoder_layer_10"
    ours = attribute(vit, x, name, target=TARGETS, layer=layer, upsample=False)
    reference = grad_cam_oracle(oracle_class, vit, layer, x, vit_reshape, 4)
    assert ours.shape == (2, 1, 4, 4) and reference.max() > 0.2 and (reference == 0).any()
    torch.testing.assert_close(oracle_scaled(ours), reference, rtol=0, atol=ATOL)


def test_gradcam_on_a_swin_block_equals_grad_cam_with_reshape_transform(swin, x):
    layer = "features.3.1"
    ours = attribute(swin, x, "gradcam", target=TARGETS, layer=layer, upsample=False)
    reference = grad_cam_oracle(GradCAM, swin, layer, x, swin_reshape, 8)
    assert ours.shape == (2, 1, 8, 8) and reference.max() > 0.2
    torch.testing.assert_close(oracle_scaled(ours), reference, rtol=0, atol=ATOL)


# --- attention rollout -------------------------------------------------------------------------------------

def torch_attention_weights(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Each MultiheadAttention's (B, heads, T, T) weights, from torch itself: the call re-run with
    need_weights=True on the inputs it got."""
    calls: list[tuple[nn.MultiheadAttention, tuple]] = []
    handles = [sub.register_forward_pre_hook(lambda m, args: calls.append((m, args)))
               for sub in model.modules() if isinstance(sub, nn.MultiheadAttention)]
    with torch.no_grad():
        model(x)
        for handle in handles:
            handle.remove()
        return [module(*args[:3], need_weights=True, average_attn_weights=False)[1] for module, args in calls]


def reference_rollout(weights: list[torch.Tensor], fuse) -> torch.Tensor:
    """Abnar & Zuidema, written out: fuse heads, add identity, renormalize rows, multiply through layers."""
    result = torch.eye(weights[0].shape[-1]).expand(weights[0].shape[0], -1, -1)
    for attention in weights:
        fused = fuse(attention) + torch.eye(attention.shape[-1])
        fused = fused / fused.sum(dim=-1, keepdim=True)
        result = torch.bmm(fused, result)
    return result[:, 0, 1:].reshape(-1, 1, 4, 4)   # the class token's row, over the 4 x 4 patches


@pytest.mark.parametrize("fusion, fuse", [("mean", lambda a: a.mean(dim=1)), ("max", lambda a: a.amax(dim=1))])
def test_attention_rollout_equals_the_hand_written_rollout(vit, x, fusion, fuse):
    weights = torch_attention_weights(vit, x)
    assert len(weights) == 12 and weights[0].shape == (2, 12, 17, 17)
    ours = attribute(vit, x, "attention_rollout", target=TARGETS, head_fusion=fusion, upsample=False)
    expected = reference_rollout(weights, fuse)
    assert expected.std() > 1e-4
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)
    assert attribute(vit, x, "attention_rollout", target=TARGETS, head_fusion=fusion).shape == (2, 1, SIZE, SIZE)
    assert get_method("attention_rollout").view == "overlay"


def test_attention_rollout_without_attention_is_zero_with_a_notice():
    from deepvis_app.core.base.notices import pop_notices

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5))
    net(torch.zeros(1, 3, 8, 8))
    pop_notices()
    out = attribute(net.eval(), torch.randn(1, 3, 8, 8), "attention_rollout", target=1)
    assert not out.any() and out.shape == (1, 1, 8, 8)
    assert any("no torch.nn.MultiheadAttention" in text for text in pop_notices())   # stderr and status line


# --- the app -----------------------------------------------------------------------------------------------

def small_vit() -> nn.Module:
    torch.manual_seed(0)
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32,
                              num_classes=10)
    nn.init.normal_(model.heads.head.weight, std=0.5)
    return model


def test_the_app_shows_a_vit_block_as_units_with_patch_grid_tiles():
    settings = load_settings().settings.replace(
        builder=small_vit, model="small_vit", model_dir=None, weights=None, labels=None, input_size=(32, 32),
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False)
    loaded = load_model(settings)
    names = loaded.layer_names
    block = "encoder.layers.encoder_layer_1"
    assert names == ["conv_proj", "encoder.layers.encoder_layer_0", block, "heads.head"]
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        for key in ("o", "o", "k"):            # the second block's grid, cursor in it
            assert session.handle_key(key)
        session.process_pending()
        result = session.latest_result()
        assert result.error is None and session.state.layer_idx == names.index(block)
        fwd = session.engine.last_forward
        raw = []
        handle = loaded.module.get_submodule(block).register_forward_hook(lambda _m, _i, out: raw.append(out))
        with torch.no_grad():
            loaded.module(fwd.x)
        handle.remove()
        expected = raw[0][0, 1:].T.reshape(16, 4, 4).numpy()
        np.testing.assert_allclose(fwd.activation(block), expected, rtol=0, atol=0)
        assert len(result.tile_rects) == 16 and len({(w, h) for _, _, w, h in result.tile_rects}) == 1
        assert all(w == h for _, _, w, h in result.tile_rects)      # 4 x 4 tiles, scaled
        for key in ("b", "a"):                  # the gradient's diffs at the block: a (16, 4, 4) grid too
            assert session.handle_key(key)
        session.process_pending()
        result = session.latest_result()
        assert result.error is None and session.engine._back.layer_grad.shape == (16, 4, 4)
        assert len(result.tile_rects) == 16
    finally:
        session.stop()



def test_ablationcam_on_a_vit_block_ablates_the_patch_grid_and_keeps_the_class_token():
    """Ablation-CAM on a token layer: each channel of the patch grid is set to the ablation value in the
    tokens the network goes on with (the class token untouched), by hand with a plain forward hook."""
    torch.manual_seed(1)
    model = prepare_for_visualization(VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                                        hidden_dim=16, mlp_dim=32, num_classes=5))
    nn.init.normal_(model.heads.head.weight, std=0.5)
    layer = "encoder.layers.encoder_layer_0"
    image = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    ours = attribute(model, image, "ablationcam", target=[2], layer=layer, upsample=False, batch_size=5)
    module = model.get_submodule(layer)
    with torch.no_grad():
        tokens_out = []
        handle = module.register_forward_hook(lambda _m, _i, out: tokens_out.append(out.clone()))
        initial = model(image)[0, 2]
        handle.remove()
        grid = tokens_out[0][0, 1:].T.reshape(16, 4, 4)          # (C, h, w) of the 16 patch tokens
        value = 0.0 if float(grid.min()) == 0.0 else float(grid.min()) - 1e7
        weights = []
        for channel in range(16):
            def ablate(_m, _i, out, channel=channel):
                out = out.clone()
                out[:, 1:, channel] = value                       # patches only, not the class token
                return out
            handle = module.register_forward_hook(ablate)
            weights.append((initial - model(image)[0, 2]) / initial)
            handle.remove()
        expected = torch.relu((torch.stack(weights)[:, None, None] * grid).sum(0))
    torch.testing.assert_close(ours[0, 0], expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))
    assert float(expected.abs().max()) > 0
