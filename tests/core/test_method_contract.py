"""The contract every registered method keeps, checked by iterating over the registry (`METHODS`), so a
method added there is tested without anyone listing it: its torch-free name (`core.methods.names`)."""

from __future__ import annotations

from deepvis_app.core.methods import names
from deepvis_app.core.methods.registry import METHOD_NAMES


def test_the_torch_free_names_are_the_registrys():
    """`deepvis keys` names the method cycle from `core.methods.names`: it must be the registry's, in order."""
    assert names.METHOD_NAMES == METHOD_NAMES
