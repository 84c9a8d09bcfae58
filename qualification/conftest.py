"""Fixtures of the IQ/OQ/PQ suites beyond the plugin's `target`, `records` and `evidence`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from generator.model import Model
from generator.qualify.plugin import get_model

# The suites import their helpers as `support` (qualification/support.py), also under xdist workers.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def model(request: pytest.FixtureRequest) -> Model:
    """The loaded content (protocols, DS values): the one source of expected values."""
    return get_model(request.config)
