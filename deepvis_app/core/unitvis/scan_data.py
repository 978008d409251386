"""The image side of a find-max scan: a deterministic file list cut into fixed batches.

Batches are fixed by the file order and the batch size alone, and a process only chooses which
batches it runs (every world-th one, from its rank on). So a resumed run, a single process and
N processes all feed the network exactly the same batches, and the top-k tables they build are
bit-identical. Decoding happens in DataLoader workers; an image that cannot be read (damaged,
over the `max_image_pixels` limit, an odd shape, even an unexpected decoder bug) becomes a
"failed" (index, problem) pair for the batch instead of an exception, so one file never aborts a
scan. `files_signature` lets a resumed scan notice images replaced since its checkpoint.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from deepvis_app.core.preprocess import Preprocessor
from deepvis_app.errors import DeepvisError
from deepvis_app.io.images import ImageReadError, list_image_files, path_problem, read_image

log = logging.getLogger("deepvis.unitvis.scan_data")


class ScanError(DeepvisError, ValueError):
    """A scan that cannot run at all (no such folder, no image in it, bad arguments)."""


def dataset_files(dataset: str | Path) -> list[Path]:
    """Every image file under `dataset` (recursive), in sorted path order."""
    root = Path(dataset)
    if not root.is_dir():
        problem = path_problem(root)  # None: a regular file
        problem = {None: "is a file, not a folder", "no such file": "no such folder"}.get(problem, problem)
        raise ScanError(f"{root}: {problem} (find-max scans a folder of images)")
    files = list_image_files(root, recursive=True)
    if not files:
        raise ScanError(f"{root}: no image files found (looked for .jpg, .png, ... recursively)")
    return files


def files_signature(files: Sequence[Path], root: Path) -> str:
    """A digest of every file's relative path, size and modification time (ns): replacing,
    touching, adding or removing an image changes it. Cheap (one stat per file, no reading)."""
    digest = hashlib.sha256()
    for path in files:
        try:
            info = path.stat()
            size, mtime = info.st_size, info.st_mtime_ns
        except OSError:  # vanished since listed: it will be reported when read
            size, mtime = -1, -1
        digest.update(f"{path.relative_to(root).as_posix()}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def fixed_batches(count: int, batch_size: int) -> list[list[int]]:
    """Indices 0..count-1 cut into consecutive batches."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return [list(range(start, min(start + batch_size, count))) for start in range(0, count, batch_size)]


def shard(batches: list[list[int]], rank: int, world: int) -> list[list[int]]:
    """The batches process `rank` of `world` runs."""
    return batches[rank::world]


# One dataset item: (index, network input array or None, problem or None).
Item = tuple[int, "np.ndarray | None", "str | None"]


class ImageFiles(Dataset):
    """Images as network input arrays; an unreadable one yields None and the problem, in one line."""

    def __init__(self, files: Sequence[Path], preprocessor: Preprocessor, max_pixels: int | None = None):
        self.files = list(files)
        self.preprocessor = preprocessor
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Item:
        try:
            image = read_image(self.files[index], self.max_pixels)
            return index, self.preprocessor.to_array(self.preprocessor.fit_frame(image)), None
        except ImageReadError as exc:
            return index, None, exc.problem or str(exc)
        except (DeepvisError, ValueError) as exc:  # an image no network input can be made of
            return index, None, str(exc)
        except Exception as exc:  # a bug in a decoder must cost one image, not the scan
            log.exception("%s: unexpected error while reading", self.files[index])
            return index, None, f"unexpected error ({type(exc).__name__}: {exc})"


def collate_readable(items: list[Item]) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, str]]]:
    """(indices of readable images, their stacked inputs, (index, problem) of unreadable ones)."""
    good = [(i, a) for i, a, _ in items if a is not None]
    failed = [(i, problem or "unreadable") for i, a, problem in items if a is None]
    if not good:
        return torch.zeros(0, dtype=torch.int64), torch.zeros(0), failed
    indices = torch.tensor([i for i, _ in good], dtype=torch.int64)
    return indices, torch.from_numpy(np.stack([a for _, a in good])), failed


def _quiet_worker(_worker_id: int) -> None:
    from deepvis_app.io.opencv import import_cv2

    import_cv2().setNumThreads(1)
    torch.set_num_threads(1)


def batch_loader(files: Sequence[Path], preprocessor: Preprocessor, batches: list[list[int]],
                 workers: int, pin_memory: bool = False, max_pixels: int | None = None) -> DataLoader:
    """Loader yielding `collate_readable` tuples for exactly these batches, in this order;
    `max_pixels`: the `max_image_pixels` setting."""
    return DataLoader(ImageFiles(files, preprocessor, max_pixels), batch_sampler=batches, num_workers=workers,
                      collate_fn=collate_readable, worker_init_fn=_quiet_worker if workers else None,
                      pin_memory=pin_memory, persistent_workers=False,
                      prefetch_factor=4 if workers else None,
                      # spawned, not forked: a child forked while OpenCV's or torch's thread pool holds a
                      # lock in the parent hangs on its first call (seen: cv2.setNumThreads in the worker)
                      multiprocessing_context="spawn" if workers else None)
