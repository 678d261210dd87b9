"""Fixtures for the destinations' tests."""

from __future__ import annotations

import pytest
from wirekit import Wire


@pytest.fixture
def wire() -> type[Wire]:
    """Protocol lines, configured catalogs and whole writes (wirekit.py)."""
    return Wire
