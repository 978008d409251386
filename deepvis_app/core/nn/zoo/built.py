"""What a builder hands the model loader: the bare network plus what the model itself knows about
its inputs and weights (shared by the torchvision, timm, Hugging Face and module:factory builders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn


@dataclass
class Built:
    """A freshly built network.

    ``default_weights``: the file to load when the user names none (torchvision's hub-cache file, a
    factory's ``default_weights()``). ``random_init``: without a weights file the network holds random
    numbers (torchvision, timm), so running it that way deserves a warning; False where the builder
    loaded weights itself or cannot tell (a Hugging Face folder, a user's factory). ``defaults``:
    settings the model's own configuration implies (mean, std, input_size, input_scale), used where the
    user set nothing; ``defaults_source`` says where they come from. ``labels``: class names the model
    carries (torchvision's categories, a config's id2label), or None. ``ignored_prefixes``: state-dict
    keys of heads dropped for inference (auxiliary classifiers), ignored in weights files. ``notes``:
    lines the user should see (weights a folder lacked).
    """

    module: nn.Module
    default_weights: Path | None = None
    random_init: bool = False
    defaults: dict[str, Any] = field(default_factory=dict)
    defaults_source: str = ""
    labels: list[str] | None = None
    ignored_prefixes: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
