"""Fixtures for running the test programs in ``programs/`` as connectors (``logs``, ``faker`` and
``faker_catalog`` are in tests/conftest.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture
def program() -> Callable[[str], list[str]]:
    """``program("crash")``: the command of ``programs/crash.py``."""
    return lambda name: [sys.executable, str(PROGRAMS / f"{name}.py")]
