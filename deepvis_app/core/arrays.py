"""Small numpy helpers shared by threads that hand arrays to each other.

A frame a reader thread publishes, or a pane image the compute thread delivers to the window, is
seen by several threads at once; making it read-only turns an accidental in-place edit by one
consumer into an error instead of a torn image in another.
"""

from __future__ import annotations

import numpy as np


def read_only(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous array (copied only when it is not) that no consumer can modify."""
    image = np.ascontiguousarray(image)
    image.flags.writeable = False
    return image
