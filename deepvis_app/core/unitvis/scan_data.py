"""The image side of a find-max scan: a deterministic file list cut into fixed batches.

Batches are fixed by the file order and the batch size alone, and a process only chooses which
batches it runs (every world-th one, from its rank on). So a resumed run, a single process and
N processes all feed the network exactly the same batches, and the top-k tables they build are
bit-identical. Decoding happens in DataLoader workers; an image that cannot be read becomes a
"failed" index for the batch instead of an exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from deepvis_app.core.preprocess import Preprocessor
from deepvis_app.io.images import ImageReadError, list_image_files, read_image


def dataset_files(dataset: str | Path) -> list[Path]:
    """Every image file under `dataset` (recursive), in sorted path order."""
    root = Path(dataset)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder (find-max scans a folder of images)")
    files = list_image_files(root, recursive=True)
    if not files:
        raise ValueError(f"{root}: no image files found (looked for .jpg, .png, ... recursively)")
    return files


def fixed_batches(count: int, batch_size: int) -> list[list[int]]:
    """Indices 0..count-1 cut into consecutive batches."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return [list(range(start, min(start + batch_size, count))) for start in range(0, count, batch_size)]


def shard(batches: list[list[int]], rank: int, world: int) -> list[list[int]]:
    """The batches process `rank` of `world` runs."""
    return batches[rank::world]


class ImageFiles(Dataset):
    """Images as network input arrays; an unreadable one yields None."""

    def __init__(self, files: Sequence[Path], preprocessor: Preprocessor):
        self.files = list(files)
        self.preprocessor = preprocessor

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, np.ndarray | None]:
        try:
            image = read_image(self.files[index])
            return index, self.preprocessor.to_array(self.preprocessor.fit_frame(image))
        except (ImageReadError, ValueError):
            return index, None


def collate_readable(items: list[tuple[int, np.ndarray | None]]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """(indices of readable images, their stacked inputs, indices of unreadable ones)."""
    good = [(i, a) for i, a in items if a is not None]
    failed = [i for i, a in items if a is None]
    if not good:
        return torch.zeros(0, dtype=torch.int64), torch.zeros(0), failed
    indices = torch.tensor([i for i, _ in good], dtype=torch.int64)
    return indices, torch.from_numpy(np.stack([a for _, a in good])), failed


def _quiet_worker(_worker_id: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def batch_loader(files: Sequence[Path], preprocessor: Preprocessor, batches: list[list[int]],
                 workers: int, pin_memory: bool = False) -> DataLoader:
    """Loader yielding `collate_readable` tuples for exactly these batches, in this order."""
    return DataLoader(ImageFiles(files, preprocessor), batch_sampler=batches, num_workers=workers,
                      collate_fn=collate_readable, worker_init_fn=_quiet_worker if workers else None,
                      pin_memory=pin_memory, persistent_workers=False,
                      prefetch_factor=4 if workers else None)
