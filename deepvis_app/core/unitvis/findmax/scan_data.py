"""The image side of a find-max scan: a deterministic file list cut into fixed batches.

The images come from a folder (every image under it, recursively, in sorted path order) or from a
file list in the original toolbox's `filelist` format (`scan_source`): one image path per line,
optionally followed by an integer class label (`path [label]`, whitespace-separated, so paths
without spaces as in the original; blank lines and `#` comments are skipped). Relative paths are
resolved against `--images-dir`, else against the list's own folder (the original's `datadir`).
A bad line (a non-integer label, extra fields, a missing file) stops the scan with one message
naming the list file and the line number.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.errors import DeepvisError
from deepvis_app.io.images import IMAGE_SUFFIXES, ImageReadError, list_image_files, path_problem, read_image

log = logging.getLogger("deepvis.unitvis.scan_data")

UNEXPECTED = "unexpected error"   # a problem that is not the image's (a bug, a crash): never resumed


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


@dataclass(frozen=True)
class ScanSource:
    """The images of a scan: `files` to read, their `names` as the find-max JSON records them
    (relative to `root`, or as an absolute list entry was written), and their class `labels`
    (None where the list gave none, always None for a folder)."""

    root: Path
    files: list[Path]
    names: list[str]
    labels: list[int | None]
    file_list: Path | None = None


def scan_source(dataset: str | Path, images_dir: str | Path | None = None) -> ScanSource:
    """A folder's images, or the images a file list names (see the module docstring)."""
    path = Path(dataset)
    if path.is_dir():
        if images_dir is not None:
            raise ScanError(f"--images-dir {images_dir}: only used with a file list, and {path} is a folder")
        files = dataset_files(path)
        return ScanSource(path, files, [p.relative_to(path).as_posix() for p in files], [None] * len(files))
    return read_file_list(path, images_dir)


def read_file_list(list_path: Path, images_dir: str | Path | None = None) -> ScanSource:
    """Parse a `path [label]` file list; `ScanError` naming the list file and line for a bad line."""
    problem = path_problem(list_path)
    if problem is not None:
        raise ScanError(f"{list_path}: {'no such folder or file list' if problem == 'no such file' else problem} "
                        "(find-max scans a folder of images or a file list)")
    if list_path.suffix.lower() in IMAGE_SUFFIXES:
        raise ScanError(f"{list_path}: is a file, not a folder (an image, not a file list: find-max scans a "
                        "folder of images or a text file with one 'path [label]' per line)")
    root = Path(images_dir) if images_dir is not None else list_path.parent
    if not root.is_dir():
        raise ScanError(f"--images-dir {root}: not a folder")
    try:
        lines = list_path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ScanError(f"{list_path}: not a text file list (not UTF-8 text)") from None
    except OSError as exc:
        raise ScanError(f"{list_path}: cannot read the file list ({exc.strerror or exc})") from None
    files, names, labels, bad = [], [], [], []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        entry = _list_entry(fields, root)
        if isinstance(entry, str):
            bad.append(f"{list_path}:{number}: {entry}")
            continue
        files.append(root / fields[0])
        names.append(fields[0])
        labels.append(entry)
    if bad:
        more = f" (and {len(bad) - 1} more bad line{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        raise ScanError(bad[0] + more)
    if not files:
        raise ScanError(f"{list_path}: the file list names no image (one 'path [label]' per line)")
    return ScanSource(root, files, names, labels, list_path)


def _list_entry(fields: list[str], root: Path) -> int | None | str:
    """The label of a list line (None: no label), or its problem."""
    if len(fields) > 2:
        return f"expected 'path [label]', got {len(fields)} fields (paths with spaces are not supported)"
    label: int | None = None
    if "\0" in fields[0]:
        return "the path contains a NUL byte"
    if len(fields) == 2:
        try:
            label = int(fields[1])
        except ValueError:
            return f"label '{fields[1]}' is not an integer"
    problem = path_problem(root / fields[0])
    if problem is not None:
        return f"{root / fields[0]}: {problem}"
    return label


def files_signature(files: Sequence[Path], names: Sequence[str]) -> str:
    """A digest of every file's name (relative path), size and modification time (ns): replacing,
    touching, adding or removing an image changes it. Cheap (one stat per file, no reading)."""
    digest = hashlib.sha256()
    for path, name in zip(files, names, strict=True):
        try:
            info = path.stat()
            size, mtime = info.st_size, info.st_mtime_ns
        except OSError:  # vanished since listed: it will be reported when read
            size, mtime = -1, -1
        digest.update(f"{name}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))  # any bytes a name has
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
            return index, None, f"{UNEXPECTED} ({type(exc).__name__}: {exc})"


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
