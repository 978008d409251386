"""Every setting has an effect a test sees: one probe per field of `Settings` (see `registry`).

Parametrized over the dataclass's fields, so a new setting without a probe fails here by name.
"""

from __future__ import annotations

import dataclasses

import pytest

from deepvis_app.settings.defaults import Settings
from tests.settings_probes.registry import PROBE_PENDING, SLOW_PROBES, load_all_probes

SETTING_NAMES = [f.name for f in dataclasses.fields(Settings)]
PROBES = load_all_probes()


@pytest.mark.parametrize("name", [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW_PROBES else [])
                                  for name in SETTING_NAMES])
def test_setting_changes_what_the_user_gets(name, probe_context):
    if name in PROBE_PENDING:
        pytest.xfail(f"probe pending for setting {name}: {PROBE_PENDING[name]}")
    probe = PROBES.get(name)
    assert probe is not None, (f"no probe for setting {name}: add one to tests/settings_probes/ that sets a "
                               f"non-default value and checks the output changes")
    probe(probe_context)


def test_every_probe_names_a_real_setting():
    """A renamed or removed setting leaves no probe behind (it would never run)."""
    assert set(PROBES) - set(SETTING_NAMES) == set()
    assert set(PROBE_PENDING) - set(SETTING_NAMES) == set()
    assert not set(PROBES) & set(PROBE_PENDING)
