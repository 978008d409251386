"""Weights files -> state dicts, whichever builder made the network.

Two formats: a torch checkpoint (`torch.save`: a zip archive or a legacy pickle), loaded with
`weights_only=True` so that one needing code execution is refused unless the user trusts it; and a
`.safetensors` file (the format of most checkpoints downloaded today), which holds only tensors and
cannot run code, so it needs no trust. A file that is neither is called that, and a path that is not a
regular file (`/dev/zero`, a FIFO, a folder) is refused before anything reads it, so nothing hangs or
grows without bound. State dicts keep torch's `_metadata` (per-module versions that some modules'
`_load_from_state_dict` reads: torchvision's MNASNet). Loading is strict: every mismatch is named.
"""

from __future__ import annotations

import collections
import logging
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deepvis_app.core.nn.model_error import ModelError, first_line

log = logging.getLogger("deepvis.core.model")

SAFETENSORS_SUFFIX = ".safetensors"
# Markers in torch's weights_only refusal that mean "a Python class or function" (not garbage).
_BATCH_COUNTER = "num_batches_tracked"   # BatchNorm's training counter: inference never reads it
_CODE_MARKERS = ("unsupported global", "unsupported class", "unrecognized function")


def load_state_dict(path: Path, trust: bool = False) -> dict[str, torch.Tensor]:
    """A state dict from a file: safetensors; or a torch checkpoint holding a plain state dict, one
    wrapped in {'state_dict'|'model_state_dict'|'model': ...}, or a whole module."""
    _check_regular_file(path)
    if path.suffix == SAFETENSORS_SUFFIX or _looks_like_safetensors(path):
        return _load_safetensors(path)
    if not _looks_like_torch_checkpoint(path):
        raise ModelError(f"{path}: not a torch checkpoint (torch.save writes a zip archive or a pickle; "
                         f"this file is neither) nor a safetensors file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _needs_code(exc):
            raise ModelError(f"{path}: not a readable torch checkpoint (damaged, or not written by torch.save)") \
                from None
        if not trust:
            raise ModelError(
                f"{path}: this checkpoint needs code execution to load (it pickles Python objects); "
                f"refused. If you trust its source, pass --trust-checkpoint. ({first_line(exc)})"
            ) from None
        obj = _load_trusted(path)
    except Exception as exc:  # noqa: BLE001 - torch reports a damaged file with many exception types
        raise ModelError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {first_line(exc)})") \
            from None
    return _unwrap_state_dict(obj, path)


def _check_regular_file(path: Path) -> None:
    """Refuse folders, missing paths and special files (devices, FIFOs, sockets) before opening them."""
    if path.is_dir():
        raise ModelError(f"weights file {path} is a folder, not a file")
    if path.exists() and not path.is_file():
        raise ModelError(f"weights file {path} is not a regular file (a device, FIFO or socket)")
    if not path.is_file():
        raise ModelError(f"weights file {path} does not exist")


def _needs_code(exc: pickle.UnpicklingError) -> bool:
    """Whether torch's safe unpickler stopped at a Python class or function (rather than at garbage)."""
    text = str(exc).lower()
    return any(marker in text for marker in _CODE_MARKERS)


def _read_head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _looks_like_torch_checkpoint(path: Path) -> bool:
    """A zip archive (torch.save since 1.6) or a pickle stream (the legacy format starts with PROTO)."""
    head = _read_head(path, 2)
    return zipfile.is_zipfile(path) or (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def _looks_like_safetensors(path: Path) -> bool:
    """8 bytes of little-endian header length, then the JSON header's '{', all within the file."""
    head = _read_head(path, 9)
    if len(head) < 9:
        return False
    (header_length,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 8 + header_length <= path.stat().st_size


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({first_line(exc)})") from None
    if not state:
        raise ModelError(f"{path}: the safetensors file holds no tensors")
    return _unwrap_state_dict(state, path)


def _load_trusted(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - unpickling a damaged file fails in any way
        log.debug("trusted load of %s failed", path, exc_info=True)
        raise ModelError(f"{path}: not a readable torch checkpoint, even with --trust-checkpoint "
                         f"({type(exc).__name__}: {first_line(exc)})") from None


def _unwrap_state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, nn.Module)):
                return _unwrap_state_dict(obj[key], path)
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return _strip_prefix(obj, "module.")
    raise ModelError(f"{path}: holds {type(obj).__name__}, not a state dict")


def _strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """`state` without the DataParallel `prefix` on every key (if all keys have it), as an OrderedDict
    that keeps torch's `_metadata` (its module-name keys stripped the same way)."""
    strip = all(key.startswith(prefix) for key in state)
    result: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict(
        (key[len(prefix):] if strip else key, value) for key, value in state.items())
    metadata = getattr(state, "_metadata", None)
    if isinstance(metadata, dict):
        name = prefix.rstrip(".")
        kept = collections.OrderedDict()
        for key, value in metadata.items():
            if strip and (key == name or key.startswith(prefix)):
                key = key[len(prefix):] if key.startswith(prefix) else ""
            kept[key] = value
        result._metadata = kept  # type: ignore[attr-defined]  # torch's own attribute on state dicts
    return result


def _with_metadata_of(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if getattr(source, "_metadata", None) is not None:
        target._metadata = source._metadata  # type: ignore[attr-defined]  # torch's own attribute
    return target


def apply_state_dict(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Strict load: every key used, every shape checked; errors name the file and the keys."""
    expected = module.state_dict()
    untracked = [k for k in expected if k not in state and k.endswith(_BATCH_COUNTER)]
    if untracked:  # FrozenBatchNorm2d checkpoints (torchvision detection) have no batch counters
        state = _with_metadata_of(state, collections.OrderedDict(state))
        state.update((k, expected[k]) for k in untracked)
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)):
        if keys:
            shown = ", ".join(keys[:5]) + (f" ... (+{len(keys) - 5})" if len(keys) > 5 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ModelError(f"{path}: weights do not fit the model: " + "; ".join(problems))
    if getattr(state, "_metadata", None) is None and getattr(expected, "_metadata", None) is not None:
        # No per-module versions (safetensors, a plain dict): the weights are taken to be in the layout of
        # the module as built (torchvision's MNASNet refuses a state dict without its version).
        state = collections.OrderedDict(state)
        state._metadata = expected._metadata  # type: ignore[attr-defined]  # torch's own attribute
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, KeyError) as exc:  # a module's own _load_from_state_dict refused it
        raise ModelError(f"{path}: weights do not fit the model: {first_line(exc)}") from None
    non_finite = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if non_finite:
        log.warning("%s: %d tensors hold NaN or infinity (first: %s); the model's outputs will too",
                    path, len(non_finite), non_finite[0])
