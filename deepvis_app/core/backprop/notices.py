"""Say so when a rule-based method met no activation it has a rule for (its result is the gradient).

Deconv, guided backprop and DeSaliNet differ from the gradient only at the activations their rules
cover (see `rules`). On a network whose nonlinearities are all something else (ELU, tanh, ...) they
silently return the plain gradient, which looks like a working method. Leaving `ReluRuleMode` after
such a forward calls `report_no_rule`: a warning on the ``deepvis.core.backprop`` logger (the command
line prints it on stderr; logged once per method and set of nonlinearities, so a video does not flood
the log) and a message the app takes with `pop_rule_messages` for its status line.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

log = logging.getLogger("deepvis.core.backprop")

RULED_ACTIVATIONS = "ReLU, ReLU6, SiLU, GELU, Hardswish, Mish, LeakyReLU"
_pending: deque[str] = deque(maxlen=4)   # nobody may read them (the command line): keep only a few
_logged: set[str] = set()
_lock = threading.Lock()


def no_rule_message(method: str, unruled: dict[str, int]) -> str:
    """The notice for ``method`` when the forward called none of the ruled activations."""
    seen = ", ".join(f"{name} x{count}" for name, count in sorted(unruled.items()))
    found = f"; it called {seen}" if seen else ""
    return (f"{method}: the network has no activation with a {method} rule ({RULED_ACTIVATIONS}){found}, "
            f"so {method} shows the plain gradient")


def report_no_rule(method: str, unruled: dict[str, int]) -> None:
    """Warn (once per message) and queue the message for the app's status line."""
    text = no_rule_message(method, unruled)
    with _lock:
        first = text not in _logged
        _logged.add(text)
        _pending.append(text)
    if first:
        log.warning(text)


def pop_rule_messages() -> list[str]:
    """The notices since the last call (the app's status line), oldest first, each once."""
    with _lock:
        texts = list(dict.fromkeys(_pending))
        _pending.clear()
    return texts
