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


@pytest.fixture(scope="session")
def signers(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The qualification test signers (demonstration keys in a scratch folder)."""
    from support import TestSigners

    return TestSigners(tmp_path_factory.mktemp("signers"))


@pytest.fixture(scope="session")
def ngs_history(records: object, signers: object, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """PQ set-up: one NGS run package registered three times, revision 2 signed 'approved' by the QA test signer.

    Recorded by each case that uses it as a prerequisite (see qualification/pq.yaml); each pytest process
    builds its own, so cases never depend on another process's data.
    """
    from support import ngs_metadata, ngs_package, package_name

    target = records.target  # type: ignore[attr-defined]
    name = package_name(target, "pq")
    run_id = name.split("/run-", 1)[1]
    base = tmp_path_factory.mktemp("ngs")
    revisions = []
    for number in (1, 2, 3):
        folder = ngs_package(base / f"r{number}", run_id, number)
        revisions.append(records.register(folder, name, message=f"revision {number}",  # type: ignore[attr-defined]
                                          metadata=ngs_metadata(run_id), workflow="ngs-run"))
    credential = signers.unlock("demo-qa")  # type: ignore[attr-defined]
    event = signers.event(credential, name, revisions[1], "approved")  # type: ignore[attr-defined]
    stored = records.write_signature(event)  # type: ignore[attr-defined]
    return {"package": name, "revisions": revisions, "event": event, "stored": stored}
