"""Which layers' units are classes, and what the aux pane says about one of them.

The original toolbox drew the selected unit's label for its `caffevis_label_layers` (fc8, prob);
here, with the cursor in such a layer's grid, the aux pane shows the unit's class name and the
probability the model gives that class for the current input (a 1x1 fc tile enlarged says nothing).
"""

from __future__ import annotations

import numpy as np

from deepvis_app.core.app.engine import ForwardData
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.nn.outputs import head_or_plain
from deepvis_app.errors import DeepvisError


class LabelLayerError(DeepvisError, ValueError):
    """`label_layers` names a layer the model does not show."""


def label_layers(loaded: LoadedModel) -> frozenset[str]:
    """The `label_layers` setting, else the output layer; a name that is not a shown layer is an error."""
    names = loaded.settings.label_layers
    if names is None:
        return frozenset((loaded.output_layer,))
    if isinstance(names, str):
        names = (names,)
    known = loaded.layer_names
    unknown = [name for name in names if name not in known]
    if unknown:
        raise LabelLayerError(f"label_layers: unknown layer(s) {', '.join(map(repr, unknown))} "
                              f"(layers: {', '.join(known)})")
    return frozenset(names)


def class_probabilities(scores: np.ndarray, are_logits: bool) -> np.ndarray:
    """One output row as probabilities: the softmax of logits (as `classify.top_classes`), else as given."""
    row = np.asarray(scores, np.float64).reshape(-1)
    if not are_logits:
        return row
    exp = np.exp(row - row.max())
    return exp / exp.sum()


def unit_class(loaded: LoadedModel, fwd: ForwardData, unit: int) -> tuple[str, float | None]:
    """(class label, its probability for this forward) of ``unit``; None where the output layer
    is not captured or has no such class. On the output head of a segmentation model: the class and
    its share of the predicted pixels; of a detection model: the detection's label and score."""
    head = head_or_plain(loaded.module)
    if head.kind != "classes" and loaded.output_layer == head.name:   # a detection, a region's class, a similarity
        entry = next((e for e in head.ranking(loaded.label, 10 ** 6) if e["index"] == unit), None)
        if head.kind == "dense":
            return loaded.label(unit), None if entry is None else entry["prob"]
        return (entry["label"], entry["prob"]) if entry is not None else (f"#{unit}: none", None)
    prob = None
    if loaded.output_layer in fwd.outputs:
        probs = class_probabilities(fwd.activation(loaded.output_layer), loaded.settings.output_is_logits)
        prob = float(probs[unit]) if unit < len(probs) else None
    return loaded.label(unit), prob
