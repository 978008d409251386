"""The probe table: for each setting of `deepvis_app.settings.defaults.Settings`, a function that gives
the setting a non-default value and asserts that what the user gets changes as it should.

`test_setting_probes.py` is parametrized over the dataclass's fields, not over this table, so a setting
added without a probe fails the suite ("no probe for setting X"). Settings added during a working
session whose probe is still to be written go into `PROBE_PENDING` with the reason: reported as xfail
with their name, never silently passed.
"""

from __future__ import annotations

from typing import Callable

Probe = Callable[..., None]

PROBES: dict[str, Probe] = {}
SLOW_PROBES: set[str] = set()     # probes that wait on threads for seconds (marked slow)

# name -> why its probe is not written yet (reported as xfail, by name)
PROBE_PENDING: dict[str, str] = {}


def probe(*names: str, slow: bool = False) -> Callable[[Probe], Probe]:
    """Register the decorated function as the probe of each setting in ``names`` (``slow``: it takes
    more than ~3 s, so it is left out of `-m "not slow"` runs)."""
    def register(func: Probe) -> Probe:
        for name in names:
            assert name not in PROBES, f"two probes for {name}"
            PROBES[name] = func
            if slow:
                SLOW_PROBES.add(name)
        return func
    return register


def load_all_probes() -> dict[str, Probe]:
    """Import every probe module (each registers its probes) and return the table."""
    from tests.settings_probes import (  # noqa: F401
        probes_inputs,
        probes_model,
        probes_unit_images,
        probes_view,
        probes_window,
    )
    return PROBES
