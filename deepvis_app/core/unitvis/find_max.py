"""find-max: one pass over an image folder that keeps every unit's top-k images, for many layers.

All listed layers are captured in the same forward pass; per batch, every unit's spatial max is
merged into its top-k table by `topk.merge_topk` (no per-unit loops). The state (tables, failed
images, batches done) is checkpointed atomically every few batches, so a run killed at any moment
continues where it stopped and ends with the same tables as an uninterrupted run. Under
torch.distributed each rank scans its share of the fixed batches (see `scan_data`) and the tables
are gathered and merged on rank 0, which equals the single-process result because the merge is
order-independent.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from deepvis_app.core.model import LoadedModel
from deepvis_app.core.unitvis.layout import UnitVisLayout
from deepvis_app.core.unitvis.partial_forward import forward_until
from deepvis_app.core.unitvis.scan_data import batch_loader, dataset_files, fixed_batches, shard
from deepvis_app.core.unitvis.topk import TopK, batch_candidates, empty_topk, merge_topk, topk_entries
from deepvis_app.io.images import write_bytes_atomic

# progress(batches done, batches total, images in the batch just done); may raise to stop the scan.
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class FindMaxRequest:
    """What to scan and where to write; see `deepvis find-max --help`."""

    dataset: Path
    layers: tuple[str, ...]
    out: Path
    top: int = 9
    batch_size: int = 32
    workers: int = 0
    checkpoint_every: int = 8


@dataclass
class FindMaxResult:
    """Outcome of a scan (on rank 0, the merged one)."""

    images: int
    batches_run: int
    resumed_batches: int
    skipped: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


@dataclass
class ScanState:
    """Everything a resumed run needs: batches done, tables so far, unreadable image indices."""

    done: int = 0
    tables: dict[str, TopK] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)


def find_max(loaded: LoadedModel, request: FindMaxRequest, progress: Progress | None = None,
             rank: int = 0, world: int = 1) -> FindMaxResult:
    """Scan (or finish scanning) `request.dataset`; rank 0 writes DIR/find_max/<layer>.json."""
    if request.top < 1:
        raise ValueError(f"--top must be at least 1, got {request.top}")
    files = dataset_files(request.dataset)
    relative = [p.relative_to(request.dataset).as_posix() for p in files]
    batches = shard(fixed_batches(len(files), request.batch_size), rank, world)
    layout = UnitVisLayout(request.out)
    state_path = layout.find_max_state(rank, world)
    fingerprint = _fingerprint(loaded, request, relative, rank, world)
    state = load_state(state_path, fingerprint)
    resumed = state.done
    loader = batch_loader(files, loaded.preprocessor, batches[state.done:], request.workers,
                          pin_memory=loaded.device.type == "cuda")
    for indices, inputs, failed in loader:
        _scan_batch(loaded, request, state, indices, inputs, failed)
        state.done += 1
        if state.done % request.checkpoint_every == 0 or state.done == len(batches):
            save_state(state_path, fingerprint, state)
        if progress is not None:
            progress(state.done, len(batches), len(indices) + len(failed))
    merged = _gather_states(state, world)
    result = FindMaxResult(len(files), len(batches) - resumed, resumed)
    if rank == 0:
        result.skipped = [relative[i] for i in merged.failed]
        result.written = write_find_max(layout, request, merged, relative)
    return result


def _scan_batch(loaded: LoadedModel, request: FindMaxRequest, state: ScanState,
                indices: torch.Tensor, inputs: torch.Tensor, failed: list[int]) -> None:
    state.failed.extend(failed)
    if len(indices) == 0:
        return
    x = inputs.to(loaded.device, non_blocking=True)
    with torch.inference_mode():
        store = forward_until(loaded.module, x, request.layers, clone=True)
    for name in request.layers:
        candidates = batch_candidates(store[name], indices)
        table = state.tables.get(name)
        if table is None:
            table = empty_topk(candidates.values.shape[0], request.top, candidates.pos.shape[2])
        state.tables[name] = merge_topk(table, candidates, request.top)


def _fingerprint(loaded: LoadedModel, request: FindMaxRequest, relative: Sequence[str], rank: int,
                 world: int) -> str:
    """Identifies a scan: a checkpoint of a different scan is ignored, not resumed."""
    key = {"files": list(relative), "layers": list(request.layers), "top": request.top,
           "batch": request.batch_size, "rank": rank, "world": world,
           "model": str(loaded.settings.builder or loaded.settings.model), "weights": str(loaded.weights_path),
           "input": list(loaded.preprocessor.input_size)}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def save_state(path: Path, fingerprint: str, state: ScanState) -> None:
    """Checkpoint atomically (temp file, then rename)."""
    payload = {"fingerprint": fingerprint, "done": state.done, "failed": list(state.failed),
               "tables": {name: table.as_dict() for name, table in state.tables.items()}}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_state(path: Path, fingerprint: str) -> ScanState:
    """The checkpoint at `path` if it belongs to this scan, else a fresh state."""
    if not path.is_file():
        return ScanState()
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a corrupt checkpoint only costs a rescan
        return ScanState()
    if not isinstance(payload, dict) or payload.get("fingerprint") != fingerprint:
        return ScanState()
    tables = {name: TopK.from_dict(t) for name, t in payload["tables"].items()}
    return ScanState(int(payload["done"]), tables, [int(i) for i in payload["failed"]])


def _gather_states(state: ScanState, world: int) -> ScanState:
    """All ranks' states merged (identity for one process)."""
    if world == 1:
        return ScanState(state.done, dict(state.tables), sorted(state.failed))
    import torch.distributed as dist

    gathered: list[Any] = [None] * world
    plain = {"failed": state.failed, "tables": {n: t.as_dict() for n, t in state.tables.items()}}
    dist.all_gather_object(gathered, plain)
    merged = ScanState(state.done)
    for part in gathered:
        merged.failed.extend(part["failed"])
        for name, table_dict in part["tables"].items():
            table = TopK.from_dict(table_dict)
            merged.tables[name] = table if name not in merged.tables else merge_topk(
                merged.tables[name], table, table.k)
    merged.failed.sort()
    return merged


def write_find_max(layout: UnitVisLayout, request: FindMaxRequest, state: ScanState,
                   relative: Sequence[str]) -> list[Path]:
    """DIR/find_max/<layer>.json for every layer, plus the list of skipped images."""
    missing = [name for name in request.layers if name not in state.tables]
    if missing:
        raise ValueError(f"{request.dataset}: no readable image, nothing to rank for {', '.join(missing)}")
    written = []
    for name in request.layers:
        doc = {"layer": name, "top": request.top, "units": topk_entries(state.tables[name], list(relative)),
               "dataset": str(Path(request.dataset).resolve())}
        path = layout.find_max_json(name)
        write_bytes_atomic(path, json.dumps(doc).encode())
        written.append(path)
    skipped = {"dataset": str(Path(request.dataset).resolve()), "skipped": [relative[i] for i in state.failed]}
    write_bytes_atomic(layout.find_max_skipped(), json.dumps(skipped, indent=1).encode())
    return written


def read_find_max(layout: UnitVisLayout, layer: str) -> dict:
    """A find-max JSON document, with a clear error when it is missing or malformed."""
    path = layout.find_max_json(layer)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no find-max result for layer '{layer}' (run `deepvis find-max` first)")
    try:
        doc = json.loads(path.read_text())
        if doc["layer"] != layer or not isinstance(doc["units"], list):
            raise ValueError("layer or units field wrong")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a find-max result ({exc})") from None
    return doc
