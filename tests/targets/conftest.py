"""Fixtures for the target tests: one moto server per test session (started once, stopped at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.targets.deployment import Deployment
from generator.targets.moto import MotoServer, MotoTarget, deploy_moto
from generator.targets.profile import TargetProfile, load_profile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def moto_profile() -> TargetProfile:
    return load_profile(REPO / "qualification" / "targets" / "moto.yaml")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def reference_target(moto_server: MotoServer, moto_profile: TargetProfile) -> MotoTarget:
    """The reference deployment of specs/SETTINGS.md on the shared server."""
    return deploy_moto(moto_server, moto_profile, Deployment(workflows_dir=REPO / "tests" / "targets" / "workflows"))
