"""Say so when a rule-based method met no activation it has a rule for (its result is the gradient).

Deconv, guided backprop and DeSaliNet differ from the gradient only at the activations their rules
cover (see `rules`). On a network whose nonlinearities are all something else (ELU, tanh, ...) they
silently return the plain gradient, which looks like a working method. Leaving `ReluRuleMode` after
such a forward calls `report_no_rule`: a notice (`core.base.notices`) on the ``deepvis.core.backprop``
logger and, routed to the session's `Notices`, in the app's status line. The same goes for a reversed
net's option that found nothing to act on (``unpool="window_centre"`` on a network without max-pool):
`report_option_unused`.
"""

from __future__ import annotations

import logging

from deepvis_app.core.base.notices import notify

log = logging.getLogger("deepvis.core.backprop")

RULED_ACTIVATIONS = "ReLU, ReLU6, SiLU, GELU, Hardswish, Mish, LeakyReLU"


def no_rule_message(method: str, unruled: dict[str, int]) -> str:
    """The notice for ``method`` when the forward called none of the ruled activations."""
    seen = ", ".join(f"{name} x{count}" for name, count in sorted(unruled.items()))
    found = f"; it called {seen}" if seen else ""
    return (f"{method}: the network has no activation with a {method} rule ({RULED_ACTIVATIONS}){found}, "
            f"so {method} shows the plain gradient")


def report_no_rule(method: str, unruled: dict[str, int]) -> None:
    """Warn (once per message) and post the message for the app's status line (`core.base.notices`)."""
    notify(no_rule_message(method, unruled), log)


def option_unused_message(method: str, option: str, value: str, why: str) -> str:
    """The notice for an option of ``method`` that changed nothing on this network."""
    return f"{method}: {option}={value} changes nothing here: {why}"


def report_option_unused(method: str, option: str, value: str, why: str) -> None:
    """Warn (once per message) and post it for the app's status line (`core.base.notices`)."""
    notify(option_unused_message(method, option, value, why), log)
