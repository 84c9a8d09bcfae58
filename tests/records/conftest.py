"""Fixtures for the records tests: one moto server and reference deployment per test session."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.records import RecordsClient
from generator.targets.deployment import Deployment
from generator.targets.moto import MotoServer, MotoTarget, deploy_moto
from generator.targets.profile import TargetProfile, load_profile

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "tests" / "targets" / "workflows"  # minimal fixture contract (ngs-run needs study, operator)


@pytest.fixture(scope="session")
def moto_profile() -> TargetProfile:
    return load_profile(REPO / "qualification" / "targets" / "moto.yaml")


@pytest.fixture(scope="session")
def records_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def records_target(records_server: MotoServer, moto_profile: TargetProfile) -> MotoTarget:
    return deploy_moto(records_server, moto_profile, Deployment(workflows_dir=WORKFLOWS))


@pytest.fixture(scope="session")
def records(records_target: MotoTarget) -> RecordsClient:
    return RecordsClient(records_target)


@pytest.fixture(scope="session")
def make_event() -> Callable[..., dict[str, Any]]:
    """A signature event as specs/workflows/signature-event.schema.json defines it, signed with a test RSA key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)

    def make(package: str, top_hash: str, *, signer_id: str = "qa.approver", printed_name: str = "Quinn Approver",
             meaning: str = "approved", time: str = "2026-11-28T05:00:00Z", revision: int | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "schema_version": "1", "package": package, "top_hash": top_hash, "signer_id": signer_id,
            "printed_name": printed_name, "meaning": meaning, "time": time,
            "certificate_sha256": hashlib.sha256(public).hexdigest(),
            "identity_components": {"signer_id": True, "passphrase_source": "environment"},
            "algorithm": "rsa-pkcs1v15-sha256",
        }
        if revision is not None:
            event["revision"] = revision
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        event["signature"] = base64.b64encode(key.sign(canonical, padding.PKCS1v15(), hashes.SHA256())).decode()
        return event

    return make
