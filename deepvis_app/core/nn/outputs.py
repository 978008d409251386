"""Whatever a network returns, one (B, K) score tensor to explain: the output head.

Every method of the registry explains a scalar per image that it reads off ``model(x)[:, k]``. A
classifier returns that directly; other networks return a dict (torchvision segmentation:
``{"out": ...}``), a Hugging Face ``ModelOutput``, a tuple, a list of detections, or an embedding.
`install` hangs an `OutputHead` on the network (an attribute, not a child module: `core.hooks` and
`core.layers` find it by its layer name, `HEAD_NAME`) and two root hooks: a pre-hook that splits a
two-input network's pair (`core.pairs`) and a forward hook that picks the explained output (the
``output`` setting, or `pick_output`'s choice) and turns it into scores by kind:

- ``classes`` (B, K): the scores themselves (the head returns the very tensor, so the layer list
  hides it as a repeat of the last layer);
- ``dense`` (B, K, H, W): class k summed over a region, pytorch-grad-cam's
  ``SemanticSegmentationTarget``: ``(out[:, k] * mask_k).sum()``, where the mask is the pixels the
  reference input predicts as k (default), or one fixed region (a box in input pixels, or a mask);
- ``detection`` (torchvision's ``[{"boxes", "scores", "labels"}]``): one score per reference
  detection i, ``FasterRCNNBoxScoreTarget``'s ``iou + score`` of the output box that best overlaps
  reference box i with its label (0 when none overlaps by more than `IOU_THRESHOLD`);
- ``embedding`` (B, D): one score, the cosine similarity to a reference embedding
  (``SimilarityToConceptTarget``).

The *reference* is what the scores are measured against and stays fixed while a method perturbs the
input (occlusion, integrated gradients), as the oracles' targets do: `OutputHead.prepare` records it
from the clean input (the predicted pixels, the detections), and `OutputHead.set_reference_image`
records a reference embedding. Because the head is a module, its output is a layer like any other
(`HEAD_NAME` in the layer list, one unit per class, detection or similarity), so the app's unit
selection, the CLI's ``--layer output --unit k`` and ``--target k`` all explain these scores.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.nn import pairs
from deepvis_app.errors import DeepvisError

log = logging.getLogger("deepvis.core.outputs")

HEAD_NAME = "output"                 # the head's layer name (FALLBACK_NAME where the model has an "output")
FALLBACK_NAME = "deepvis_output"
HEAD_ATTR = "_deepvis_output_head"   # where the head hangs on the model: not a child module, so a
#                                      Sequential's forward (which calls every child) never runs it
IOU_THRESHOLD = 0.5
MAX_DETECTIONS = 100
# Output names chosen in this order when the `output` setting is None (then the first tensor).
PREFERRED_OUTPUTS = ("logits", "out", "pooler_output", "image_embeds", "embeddings")
EMBEDDING_NAMES = ("pooler_output", "image_embeds", "embeddings", "embedding", "features", "last_hidden_state")
KINDS = ("classes", "dense", "detection", "embedding")


class OutputError(DeepvisError):
    """The model's output cannot be explained as asked (one line, naming the setting or flag)."""


@dataclass(frozen=True)
class Region:
    """A fixed region of a dense prediction, in input pixels: a box (x0, y0, x1, y1) or a mask (H, W)."""

    box: tuple[int, int, int, int] | None = None
    mask: np.ndarray | None = None

    def as_mask(self, input_hw: tuple[int, int], output_hw: tuple[int, int], device: torch.device) -> torch.Tensor:
        """The region as a float (h, w) mask at the output's resolution."""
        height, width = input_hw
        if self.mask is not None:
            full = torch.as_tensor(np.asarray(self.mask, dtype=np.float32), device=device)
        else:
            assert self.box is not None
            x0, y0, x1, y1 = self.box
            full = torch.zeros((height, width), device=device)
            full[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 1.0
        if tuple(full.shape) != tuple(output_hw):
            full = F.interpolate(full[None, None], size=output_hw, mode="nearest")[0, 0]
        return full


def pick_output(raw: Any, selector: str | int | None) -> tuple[Any, str]:
    """(the explained part of ``raw``, its name): by key, attribute or index, or chosen (see
    `PREFERRED_OUTPUTS`). A detection list is returned whole."""
    if isinstance(raw, torch.Tensor):
        if selector not in (None, 0):
            raise OutputError(f"setting 'output' = {selector!r}: the model returns one tensor, nothing to pick")
        return raw, "the output"
    if _is_detections(raw):
        return raw, "detections"
    if selector is not None:
        return _select(raw, selector), str(selector)
    if isinstance(raw, Mapping) or hasattr(raw, "__dict__"):
        for name in PREFERRED_OUTPUTS:
            value = _get(raw, name)
            if isinstance(value, torch.Tensor):
                return value, name
        if isinstance(raw, Mapping):
            for name, value in raw.items():
                if isinstance(value, torch.Tensor):
                    return value, str(name)
    if isinstance(raw, (tuple, list)):
        for index, value in enumerate(raw):
            if isinstance(value, torch.Tensor):
                return value, f"[{index}]"
    raise OutputError(f"the model returns {type(raw).__name__} with no tensor in it; set 'output' to the part "
                      f"to explain")


def _get(raw: Any, name: str) -> Any:
    if isinstance(raw, Mapping):
        return raw.get(name)
    return getattr(raw, name, None)


def _select(raw: Any, selector: str | int) -> torch.Tensor:
    try:
        if isinstance(selector, int):
            value = raw[selector]
        elif isinstance(raw, Mapping) and selector in raw:
            value = raw[selector]
        else:
            value = getattr(raw, selector)
    except (KeyError, IndexError, AttributeError, TypeError):
        value = None
    if not isinstance(value, torch.Tensor):
        choices = _describe_parts(raw)
        raise OutputError(f"setting 'output' = {selector!r}: the model's output has no tensor there "
                          f"(it has: {choices})")
    return value


def _describe_parts(raw: Any) -> str:
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, (tuple, list)):
        items = list(enumerate(raw))
    else:
        items = [(k, v) for k, v in vars(raw).items() if not k.startswith("_")]
    parts = [f"{k} {tuple(v.shape)}" for k, v in items if isinstance(v, torch.Tensor)]
    return ", ".join(parts) or "no tensors"


def _is_detections(raw: Any) -> bool:
    return (isinstance(raw, (list, tuple)) and len(raw) > 0 and isinstance(raw[0], Mapping)
            and {"boxes", "scores", "labels"} <= set(raw[0]))


def infer_kind(picked: Any, name: str) -> str:
    """The kind of an output (see the module docstring) from its type, shape and name."""
    if _is_detections(picked):
        return "detection"
    if picked.dim() == 4:
        return "dense"
    if name in EMBEDDING_NAMES or picked.dim() == 3:
        return "embedding"
    return "classes"


class OutputHead(nn.Module):
    """The scores a method explains, from the network's raw output (see the module docstring)."""

    def __init__(self, selector: str | int | None, kind: str, name: str, input_hw: tuple[int, int],
                 max_detections: int = MAX_DETECTIONS):
        super().__init__()
        self.selector = selector
        self.name = HEAD_NAME       # its layer name (install may choose FALLBACK_NAME)
        self.kind = kind
        self.picked_name = name
        self.input_hw = input_hw
        self.max_detections = max_detections
        self.region: Region | None = None              # dense: None = the pixels predicted as each class
        self.reference_embedding: torch.Tensor | None = None
        self._reference: Any = None                     # dense: (h, w) predicted classes; detection: boxes, labels
        self._recording = False
        self.last_picked: Any = None                    # the last explained output, detached (for drawing)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, output={self.picked_name}"

    def describe(self) -> str:
        """One line for `deepvis layers` and the status line."""
        what = {"classes": "class scores", "dense": "class scores summed over a region",
                "detection": "detection scores", "embedding": "cosine similarity to the reference"}[self.kind]
        part = "output" if self.picked_name == "the output" else f"output {self.picked_name!r}"
        return f"explains the model's {part} ({self.kind}): {what}"

    def hints(self) -> list[str]:
        """What the status line says at start: the explained output, and how to choose what is explained."""
        if self.kind == "classes" and self.picked_name == "the output":
            return []
        how = {"classes": "", "dense": ": drag on the input to sum a class over a region",
               "detection": ": click a box to explain it", "embedding": ": P pins the frame shown as the reference"}
        return [f"output {self.picked_name} ({self.kind}){how[self.kind]}"]

    def forward(self, picked: Any) -> torch.Tensor:
        self.last_picked = _detached(picked)
        if self.kind == "classes":
            return picked if picked.dim() == 2 else picked.reshape(picked.shape[0], -1)
        if self.kind == "dense":
            return self._dense(picked)
        if self.kind == "detection":
            return self._detection(picked)
        return self._embedding(picked)

    # -- references ------------------------------------------------------------------------------
    def prepare(self, model: nn.Module, x: torch.Tensor) -> None:
        """Record the reference (predicted pixels, detections) from the clean input ``x`` (one image; a
        batch of several is measured against each image's own prediction)."""
        if self.kind not in ("dense", "detection"):
            return
        with torch.no_grad(), self.recording():
            model(x)

    def recording(self) -> _Recording:
        """Within the block, forward passes record their own prediction as the reference."""
        return _Recording(self)

    def clear_reference(self) -> None:
        """Forget the recorded reference: each input is then measured against its own prediction."""
        self._reference = None

    def set_reference_image(self, model: nn.Module, x: torch.Tensor) -> None:
        """The embedding of ``x`` (1, C, H, W) becomes the reference the similarity is measured to."""
        with torch.no_grad():
            model(x)
        self.reference_embedding = _flat(self.last_picked)[:1].clone()

    # -- scores by kind ----------------------------------------------------------------------------
    def _dense(self, out: torch.Tensor) -> torch.Tensor:
        hw = (out.shape[-2], out.shape[-1])
        if self.region is not None:
            mask = self.region.as_mask(self.input_hw, hw, out.device)
            return (out * mask).sum((2, 3))
        predicted = out.detach().argmax(1)                     # (B, h, w)
        if self._recording:
            self._reference = predicted.clone() if out.shape[0] == 1 else None
        elif self._reference is not None:
            predicted = self._reference.to(out.device).expand(out.shape[0], -1, -1)
        masks = F.one_hot(predicted, out.shape[1]).permute(0, 3, 1, 2).to(out.dtype)
        return (out * masks).sum((2, 3))

    def _detection(self, detections: Sequence[Mapping[str, torch.Tensor]]) -> torch.Tensor:
        from torchvision.ops import box_iou

        own = [(d["boxes"].detach(), d["labels"].detach()) for d in detections]
        if self._recording:
            self._reference = own[0] if len(detections) == 1 else None
        references = own if self._reference is None else [self._reference] * len(detections)
        rows = []
        for found, (ref_boxes, ref_labels) in zip(detections, references, strict=True):
            row = torch.zeros(self.max_detections, device=found["boxes"].device)
            count = min(len(ref_boxes), self.max_detections)
            if count and len(found["boxes"]):
                ious = box_iou(ref_boxes[:count].to(found["boxes"].device), found["boxes"])   # (count, n)
                best = ious.argmax(1)
                best_iou = ious[torch.arange(count), best]
                hit = (best_iou > IOU_THRESHOLD) & (found["labels"][best] == ref_labels[:count].to(best.device))
                values = torch.where(hit, best_iou + found["scores"][best], torch.zeros_like(best_iou))
                row = torch.cat([values, row[count:]])
            rows.append(row)
        return torch.stack(rows)

    def _embedding(self, out: torch.Tensor) -> torch.Tensor:
        """Cosine similarity to the reference embedding (1 for every row while there is none)."""
        flat = _flat(out)
        if self.reference_embedding is None:
            return F.cosine_similarity(flat, flat.detach(), dim=1)[:, None]
        return F.cosine_similarity(flat, self.reference_embedding.to(flat.device), dim=1)[:, None]

    # -- for drawing and the labels pane -------------------------------------------------------------
    def detections(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(boxes (N, 4) in input pixels, scores (N,), labels (N,)) of the reference (else the last output)."""
        if self.kind != "detection":
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        last = self.last_picked[0] if self.last_picked else None
        if last is None:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        return (last["boxes"].float().cpu().numpy(), last["scores"].float().cpu().numpy(),
                last["labels"].cpu().numpy())

    def ranking(self, label: Callable[[int], str], top: int) -> list[dict]:
        """[{'index', 'label', 'prob'}] best first, of the last output: classes by their share of the
        predicted pixels (dense), detections by score (detection, index = the unit that explains it),
        the similarity to the reference (embedding)."""
        if self.kind == "dense":
            classes = self.predicted_classes()
            if classes is None:
                return []
            counts = np.bincount(classes.ravel(), minlength=1) / classes.size
            order = np.argsort(-counts, kind="stable")[:top]
            return [{"index": int(k), "label": label(int(k)), "prob": float(counts[k])} for k in order if counts[k] > 0]
        if self.kind == "detection":
            boxes, scores, labels = self.detections()
            return [{"index": i, "label": f"#{i} {label(int(labels[i]))}", "prob": float(scores[i])}
                    for i in range(min(top, len(scores)))]
        if self.reference_embedding is None or self.last_picked is None:
            return [{"index": 0, "label": "no reference to compare with", "prob": 0.0}]
        similarity = F.cosine_similarity(_flat(self.last_picked)[:1].float(),
                                         self.reference_embedding.float().to(self.last_picked.device), dim=1)
        return [{"index": 0, "label": "similarity to the reference", "prob": float(similarity[0])}]

    def predicted_classes(self) -> np.ndarray | None:
        """The (h, w) class map of the last dense output, or None."""
        if self.kind != "dense" or self.last_picked is None:
            return None
        return self.last_picked[0].argmax(0).cpu().numpy()


class _Recording:
    def __init__(self, head: OutputHead):
        self.head = head

    def __enter__(self) -> OutputHead:
        self.head._recording = True
        return self.head

    def __exit__(self, *exc: object) -> None:
        self.head._recording = False


def _flat(out: torch.Tensor) -> torch.Tensor:
    return out.reshape(out.shape[0], -1)


def _detached(picked: Any) -> Any:
    if isinstance(picked, torch.Tensor):
        return picked.detach()
    return [{k: v.detach() for k, v in d.items()} for d in picked]


def install(model: nn.Module, selector: str | int | None, kind: str, example: torch.Tensor,
            two_inputs: str | None = None, channels: int = 3) -> OutputHead:
    """Put the output head (and, for ``two_inputs``, the pair split) on ``model``; returns the head.

    One forward on ``example`` finds the output's kind (``kind`` "auto") and checks the choice.
    """
    pairs.install_split(model, two_inputs, channels)
    with torch.no_grad():
        raw = model(example)
    picked, name = pick_output(raw, selector)
    found = infer_kind(picked, name)
    chosen = found if kind == "auto" else kind
    _check_kind(chosen, found, picked, name)
    head = OutputHead(selector, chosen, name, (example.shape[-2], example.shape[-1]), _max_detections(model))
    if HEAD_NAME in dict(model.named_modules()):
        head.name = FALLBACK_NAME
    object.__setattr__(model, HEAD_ATTR, head)
    model.register_forward_hook(_head_hook)
    log.info("output head: %s", head.describe())
    return head


def _head_hook(module: nn.Module, _inputs: Any, raw: Any) -> torch.Tensor:
    head = getattr(module, HEAD_ATTR)
    picked, _ = pick_output(raw, head.selector)
    return head(picked)


def _check_kind(chosen: str, found: str, picked: Any, name: str) -> None:
    if chosen == found or (chosen == "embedding" and found == "classes") or (chosen == "classes" and
                                                                            found == "embedding"):
        return
    shape = "a list of detections" if found == "detection" else f"shape {tuple(picked.shape)}"
    what = "output" if name == "the output" else f"output {name!r}"
    raise OutputError(f"setting 'output_kind' = {chosen!r}: the model's {what} has {shape}, which is {found} "
                      f"(set output_kind = 'auto' or {found!r}, or `output` to another part)")


def _max_detections(model: nn.Module) -> int:
    heads = getattr(model, "roi_heads", None)
    return int(getattr(heads, "detections_per_img", MAX_DETECTIONS))


def head_of(model: nn.Module) -> OutputHead | None:
    """The model's output head, if `install` put one there."""
    head = model.__dict__.get(HEAD_ATTR)
    return head if isinstance(head, OutputHead) else None


def head_or_plain(model: nn.Module) -> OutputHead:
    """The head `core.model.load_model` installed on ``model``, else a classifier's (a network put together
    by hand: its output is taken as class scores, as before heads existed)."""
    return head_of(model) or OutputHead(None, "classes", "the output", (0, 0))


def prepare(model: nn.Module, x: torch.Tensor) -> None:
    """Record the head's reference from the clean input ``x`` (a no-op for classifiers)."""
    head = head_of(model)
    if head is not None:
        head.prepare(model, x)
