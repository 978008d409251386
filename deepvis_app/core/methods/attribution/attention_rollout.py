"""Attention rollout (Abnar & Zuidema 2020, arXiv:2005.00928) for vision transformers with a class token.

What a ViT's class token attends to through all its layers, as a map over the patch grid. With
A_l the attention weights of layer l (B, heads, T, T), one forward in order:

    Â_l = fuse_heads(A_l) + I,  rows renormalized to sum 1     (the residual path as identity)
    R = Â_L ... Â_2 Â_1                                         (rollout: attention through the layers)
    map = R[class token, patch tokens], reshaped to the patch grid (`core.tokens`), upsampled

``fuse_heads`` is the paper's mean over heads, or the max / min (jacobgil's ``vit-explain``). The
weights are computed here from each ``nn.MultiheadAttention``'s own query and key projections of the
query and key it is called with (torchvision's ViT calls it with ``need_weights=False``, so they are
never materialized). The map does not depend on the objective: rollout is class-agnostic. Windowed
attention (Swin) has no class token and no global attention matrix, so it is not covered; a network
without ``nn.MultiheadAttention`` gets an all-zero map and a notice (`core.base.notices`: stderr, the app's
status line), since the app's method cycle passes through this method on every network.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.base.notices import notify
from deepvis_app.core.methods.attribution.cam_smoothing import at_input_size
from deepvis_app.core.methods.attribution.objective import Objective
from deepvis_app.core.nn import tokens
from deepvis_app.settings.options import option

log = logging.getLogger("deepvis.core.attribution")

HEAD_FUSIONS = ("mean", "max", "min")
ROLLOUT_HELP = "attention rollout: the class token's attention to the patches through all layers (ViT; class-agnostic)"


@dataclass(frozen=True)
class RolloutOptions:
    """Options of `attention_rollout`."""

    head_fusion: str = option("mean", "how the heads' attention weights of a layer are combined", choices=HEAD_FUSIONS)
    upsample: bool = option(True, "resize the map to the input size (bilinear)")


def attention_weights(module: nn.MultiheadAttention, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """(B, heads, T, S) softmax attention weights of ``module`` for this query and key (batch-first or not)."""
    if module.bias_k is not None or module.add_zero_attn:
        raise ValueError("attention_rollout: MultiheadAttention with add_bias_kv or add_zero_attn is not supported")
    if not module.batch_first:
        query, key = query.transpose(0, 1), key.transpose(0, 1)
    embed, heads = module.embed_dim, module.num_heads
    if module.in_proj_weight is not None:
        w_q, w_k = module.in_proj_weight[:embed], module.in_proj_weight[embed:2 * embed]
    else:
        w_q, w_k = module.q_proj_weight, module.k_proj_weight
    bias = module.in_proj_bias
    b_q, b_k = (None, None) if bias is None else (bias[:embed], bias[embed:2 * embed])
    q = F.linear(query, w_q, b_q).unflatten(-1, (heads, -1)).transpose(1, 2)
    k = F.linear(key, w_k, b_k).unflatten(-1, (heads, -1)).transpose(1, 2)
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)


def collect_attention(model: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """(module name, (B, heads, T, T) weights) of every ``nn.MultiheadAttention`` call in one forward, in order."""
    found: list[tuple[str, torch.Tensor]] = []

    def make_hook(name: str, module: nn.MultiheadAttention):
        def hook(_module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
            values = dict(zip(("query", "key", "value", "key_padding_mask"), args, strict=False)) | kwargs
            if values.get("key_padding_mask") is not None or values.get("attn_mask") is not None:
                raise ValueError(f"attention_rollout: '{name}' is called with a mask (not supported)")
            found.append((name, attention_weights(module, values["query"], values["key"])))
        return hook

    handles = [sub.register_forward_pre_hook(make_hook(name, sub), with_kwargs=True)
               for name, sub in model.named_modules() if isinstance(sub, nn.MultiheadAttention)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return found


def rollout(weights: list[torch.Tensor], head_fusion: str = "mean") -> torch.Tensor:
    """(B, T, T): the product of the layers' head-fused, identity-added, row-normalized attentions."""
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"attention_rollout: head_fusion '{head_fusion}' (choose from {', '.join(HEAD_FUSIONS)})")
    result: torch.Tensor | None = None
    for attention in weights:
        fused = getattr(attention, head_fusion)(dim=1)
        fused = fused if isinstance(fused, torch.Tensor) else fused.values
        fused = fused + torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
        fused = fused / fused.sum(dim=-1, keepdim=True)
        result = fused if result is None else fused @ result
    if result is None:
        raise ValueError("attention_rollout: no attention weights")
    return result


def attention_rollout(model: nn.Module, x: torch.Tensor, objective: Objective, *, head_fusion: str = "mean",
                      upsample: bool = True) -> torch.Tensor:
    """(B, 1, H, W) rollout of the class token's attention to the patches ((B, 1, h, w) without upsampling)."""
    collected = collect_attention(model, x)
    if not collected:
        notify("attention_rollout: the model has no torch.nn.MultiheadAttention layer (a ViT's), so its map "
               "is all zero", log)
        return torch.zeros((x.shape[0], 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    name, last = collected[-1]
    count = last.shape[-1]
    grid = tokens.layout(model, name, (count, 1))
    if grid is None or grid.extra < 1:
        raise ValueError(f"attention_rollout: the {count} tokens of '{name}' are not a class token plus a "
                         f"patch grid (square, or set by the token_grid setting)")
    cls_row = rollout([weights for _, weights in collected], head_fusion)[:, 0, grid.extra:]
    cam = cls_row.reshape(-1, 1, grid.height, grid.width).to(x.dtype)
    return at_input_size(cam, x.shape[2:]) if upsample else cam
