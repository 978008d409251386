"""Top-k classification of one image: used by `deepvis classify` and the GUI's label pane."""

from __future__ import annotations

import numpy as np
import torch

from deepvis_app.core.nn import outputs
from deepvis_app.core.nn.model import LoadedModel, check_finite


def top_classes(loaded: LoadedModel, scores: torch.Tensor, top: int = 5) -> list[dict]:
    """[{'index', 'label', 'prob'}] best first, from one row of output scores (logits or probs); for a
    dense, detection or embedding output, the head's ranking of its last output (`OutputHead.ranking`)."""
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top}")
    head = outputs.head_of(loaded.module)
    if head is not None and head.kind != "classes":
        return head.ranking(loaded.label, top)
    row = scores.detach().float().reshape(-1)
    probs = row.softmax(0) if loaded.settings.output_is_logits else row
    values, indices = probs.topk(min(top, probs.numel()))
    return [{"index": int(i), "label": loaded.label(int(i)), "prob": float(v)}
            for v, i in zip(values, indices, strict=True)]


def classify_image(loaded: LoadedModel, image: np.ndarray, top: int = 5, name: str = "the image") -> list[dict]:
    """The `top` classes for one RGB image. Scores holding NaN or infinity raise `NonFiniteError` (a
    ranking of NaNs means nothing); ``name`` (a path or sample:<name>) starts its message."""
    x = loaded.preprocessor.to_tensor(image, loaded.device)
    with torch.no_grad():
        scores = loaded.module(x)
    check_finite(loaded, scores, f"{name}: the model's output")
    return top_classes(loaded, scores[0], top)
