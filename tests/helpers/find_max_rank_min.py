"""One rank of the 2-process find-max --search-min --summaries test (torchrun's environment variables)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deepvis_app.core.unitvis.findmax.distributed import process_group, ranks_from_env  # noqa: E402
from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max  # noqa: E402
from tests.helpers.models import FIND_MAX_LAYERS, find_max_model  # noqa: E402


def main() -> None:
    dataset, out, top = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    ranks = ranks_from_env()
    with process_group(ranks, "cpu"):
        find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, out, top=top, batch_size=3,
                                                  search_min=True, summaries=True), None, ranks.rank, ranks.world)


if __name__ == "__main__":
    main()
