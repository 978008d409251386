"""torch.distributed set-up for the pipeline, from torchrun's environment.

`torchrun --nproc-per-node N -m deepvis_app find-max ...` sets RANK, WORLD_SIZE, LOCAL_RANK and
the rendezvous address; a plain run sets none of them and runs as rank 0 of 1. The process group
uses nccl when the model runs on CUDA and gloo otherwise; it is always destroyed on the way out.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def ranks_from_env() -> Ranks:
    """This process's place in a torchrun job (rank 0 of 1 outside one)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    return Ranks(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def cuda_device_for(ranks: Ranks, requested: str | None) -> str | None:
    """Under torchrun on a CUDA machine, each local rank gets its own GPU unless one is named."""
    import torch

    if ranks.world > 1 and torch.cuda.is_available() and requested in (None, "auto", "cuda"):
        return f"cuda:{ranks.local_rank % torch.cuda.device_count()}"
    return requested


@contextmanager
def process_group(ranks: Ranks, device_type: str) -> Iterator[None]:
    """A process group for the job's lifetime (nothing for a single process)."""
    if ranks.world <= 1:
        yield
        return
    import torch.distributed as dist

    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        import torch

        torch.cuda.set_device(ranks.local_rank % torch.cuda.device_count())
    dist.init_process_group(backend=backend, rank=ranks.rank, world_size=ranks.world)
    try:
        yield
        dist.barrier()
    finally:
        dist.destroy_process_group()
