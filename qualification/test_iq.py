"""IQ: the deployment is installed as designed — every DS value read back from the live target, versions recorded.

Each DS-readback case reads the settings of the one DS item it verifies (qualification/iq.yaml),
so the expected values come from specs/ds.yaml and nothing here repeats them.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pytest
from support import read_back_ds

from generator.model import Model
from generator.qualify.evidence import Evidence


@pytest.mark.case("IQ-001")
def test_identity_and_component_versions(target: Any, evidence: Evidence) -> None:
    with evidence.step(1) as step:
        caller = target.client("sts", "admin").get_caller_identity()
        step.attach("sts:GetCallerIdentity", caller)
        stated = target.profile.account
        step.check(stated is None or caller["Account"] == stated,
                   f"account {caller['Account']}, caller {caller['Arn']}"
                   + (f" (profile states {stated})" if stated else " (the profile states no account)"))
    with evidence.step(2) as step:
        names = ["valgen", "boto3", "botocore", "quilt3", "pytest"] + (["moto"] if target.kind == "moto" else [])
        found: dict[str, str] = {"python": platform.python_version()}
        for name in names:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                found[name] = ""
        step.attach("component versions", found)
        missing = [n for n, v in found.items() if not v]
        step.check(not missing, ", ".join(f"{n} {v or 'MISSING'}" for n, v in found.items()))
    with evidence.step(3) as step:
        ident = target.identity()
        step.attach("target identity", {"profile": ident.profile, "kind": ident.kind, "account": ident.account,
                                        "regions": list(ident.regions), "endpoint": ident.endpoint})
        step.check(target.primary_region != target.replica_region,
                   f"profile {ident.profile} ({ident.kind}), regions {target.primary_region} and "
                   f"{target.replica_region}, endpoint {ident.endpoint or 'AWS default'}")


@pytest.mark.case("IQ-002")
def test_read_back_compliance_bucket_versioning_and_object_lock(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-003")
def test_read_back_compliance_bucket_default_encryption(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-004")
def test_read_back_records_kms_key(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-005")
def test_read_back_compliance_bucket_public_access_block(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-006")
def test_read_back_account_public_access_block(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-007")
def test_read_back_replica_bucket(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-008")
def test_read_back_replica_kms_key(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-009")
def test_read_back_replication_rule(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-010")
def test_read_back_backup_vault_and_plan(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-011")
def test_read_back_registrar_role_policy(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-012")
def test_read_back_signer_role_policy(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-013")
def test_read_back_auditor_role_policy(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-014")
def test_read_back_administrator_role_policy(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-015")
def test_read_back_cloudtrail_trail(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-016")
def test_read_back_trail_bucket(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-017")
def test_read_back_config_recorder(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)


@pytest.mark.case("IQ-018")
def test_read_back_workflow_configuration(target: Any, evidence: Evidence, model: Model) -> None:
    read_back_ds(target, evidence, model)
