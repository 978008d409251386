"""One rank of the 2-process find-max test (run as a script with torchrun's environment variables)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deepvis_app.core.unitvis.findmax.distributed import process_group, ranks_from_env  # noqa: E402
from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max  # noqa: E402
from tests.helpers.models import FIND_MAX_LAYERS, find_max_model  # noqa: E402


def main() -> None:
    dataset, out = Path(sys.argv[1]), Path(sys.argv[2])
    ranks = ranks_from_env()
    with process_group(ranks, "cpu"):
        find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, out, top=5, batch_size=4), None,
                 ranks.rank, ranks.world)


if __name__ == "__main__":
    main()
