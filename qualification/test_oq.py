"""OQ: the system behaves as specified — forbidden deletes, denied writes, locks, keys, trail, integrity.

Each test executes the steps of its case in qualification/oq.yaml in order and
records what actually happened; the expected results are the protocol's. Test
objects are written under the target profile's test prefix with fresh keys, so
cases never share state (also under pytest-xdist).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from support import fresh_key, privileged, privileged_name, sha256_hex, signature_fresh_key

from generator.model import Model
from generator.qualify.evidence import Evidence

RETENTION_DAYS = 2555  # DS-001 object_lock_retention_days (checked against the DS by IQ-002)


def _bucket(target: Any, resource: str = "compliance_bucket") -> str:
    return str(target.resources[resource])


def _put(target: Any, persona: str, key: str, body: bytes, resource: str = "compliance_bucket") -> dict[str, Any]:
    s3 = target.client("s3", persona, target.region_of(resource))
    response: dict[str, Any] = s3.put_object(Bucket=_bucket(target, resource), Key=key, Body=body)
    return response


def _registered(target: Any, evidence: Evidence, number: int, case: str, body: bytes = b"") -> tuple[str, str]:
    """Step `number`: the registrar writes a fresh test object; returns (key, version ID)."""
    body = body or f"{case} test object {dt.datetime.now(dt.UTC).isoformat()}".encode()
    with evidence.step(number) as step:
        key = fresh_key(target, case)
        response = _put(target, "registrar", key, body)
        step.attach("s3:PutObject", response)
        version = response.get("VersionId")
        step.check(bool(version), f"written {key}, version {version}, sha256 {sha256_hex(body)}")
    return key, str(version)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)


@pytest.mark.case("OQ-001")
def test_each_write_keeps_the_earlier_version(target: Any, evidence: Evidence) -> None:
    content_a, content_b = b"content A of OQ-001\n", b"content B of OQ-001\n"
    key, first = _registered(target, evidence, 1, "OQ-001", content_a)
    with evidence.step(2) as step:
        response = _put(target, "registrar", key, content_b)
        step.attach("s3:PutObject", response)
        second = response.get("VersionId")
        step.check(bool(second) and second != first, f"second version {second} (first {first})")
    auditor = target.client("s3", "auditor")
    with evidence.step(3) as step:
        listing = auditor.list_object_versions(Bucket=_bucket(target), Prefix=key)
        step.attach("s3:ListObjectVersions", listing)
        versions = [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]
        step.check({first, second} <= set(versions), f"versions listed: {versions}")
    with evidence.step(4) as step:
        got = auditor.get_object(Bucket=_bucket(target), Key=key, VersionId=first)
        data = got["Body"].read()
        step.attach("s3:GetObject", {k: v for k, v in got.items() if k != "Body"})
        step.expect_equal("sha256 of the first version", sha256_hex(data), sha256_hex(content_a))


@pytest.mark.case("OQ-002")
def test_administrator_cannot_suspend_versioning(target: Any, evidence: Evidence) -> None:
    admin = target.client("s3", "admin")
    with evidence.step(1) as step:
        step.expect_denied(lambda: admin.put_bucket_versioning(
            Bucket=_bucket(target), VersioningConfiguration={"Status": "Suspended"}))
    with evidence.step(2) as step:
        status = admin.get_bucket_versioning(Bucket=_bucket(target))
        step.attach("s3:GetBucketVersioning", status)
        step.expect_equal("versioning status", status.get("Status"), "Enabled")


@pytest.mark.case("OQ-003")
def test_new_versions_get_compliance_retention(target: Any, evidence: Evidence) -> None:
    written_at = dt.datetime.now(dt.UTC)
    key, version = _registered(target, evidence, 1, "OQ-003")
    with evidence.step(2) as step:
        head = target.client("s3", "auditor").head_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.attach("s3:HeadObject", head)
        step.expect_equal("lock mode", head.get("ObjectLockMode"), "COMPLIANCE")
    with evidence.step(3) as step:
        until = head.get("ObjectLockRetainUntilDate")
        wanted = written_at + dt.timedelta(days=RETENTION_DAYS)
        off = abs((_utc(until) - wanted).total_seconds()) if until else None
        step.check(off is not None and off <= 86400,
                   f"retain until {_utc(until).isoformat() if until else None}; write time + {RETENTION_DAYS} d = "
                   f"{wanted.isoformat(timespec='seconds')}; difference {off if off is None else round(off)} s")


@pytest.mark.case("OQ-004")
def test_locked_version_cannot_be_deleted(target: Any, evidence: Evidence) -> None:
    body = b"OQ-004 locked record version\n"
    key, version = _registered(target, evidence, 1, "OQ-004", body)
    s3 = privileged(target, "s3")
    with evidence.step(2) as step:
        step.expect_denied(lambda: s3.delete_object(Bucket=_bucket(target), Key=key, VersionId=version))
        step.actual += f" (as {privileged_name(target)})"
    with evidence.step(3) as step:
        step.expect_denied(lambda: s3.delete_object(Bucket=_bucket(target), Key=key, VersionId=version,
                                                    BypassGovernanceRetention=True))
    with evidence.step(4) as step:
        got = target.client("s3", "auditor").get_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.expect_equal("sha256", sha256_hex(got["Body"].read()), sha256_hex(body))


def _retention_case(target: Any, evidence: Evidence, case: str, mode: str, shorten: bool) -> None:
    key, version = _registered(target, evidence, 1, case)
    auditor = target.client("s3", "auditor")
    before = auditor.head_object(Bucket=_bucket(target), Key=key, VersionId=version)
    until = _utc(before["ObjectLockRetainUntilDate"])
    new_until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1) if shorten else until
    s3 = privileged(target, "s3")
    with evidence.step(2) as step:
        step.expect_denied(lambda: s3.put_object_retention(
            Bucket=_bucket(target), Key=key, VersionId=version,
            Retention={"Mode": mode, "RetainUntilDate": new_until}))
    with evidence.step(3) as step:
        after = auditor.head_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.attach("s3:HeadObject", after)
        if shorten:
            step.expect_equal("retain until", _utc(after["ObjectLockRetainUntilDate"]).isoformat(), until.isoformat())
        else:
            step.expect_equal("lock mode", after.get("ObjectLockMode"), "COMPLIANCE")


@pytest.mark.case("OQ-005")
def test_compliance_retention_cannot_be_shortened(target: Any, evidence: Evidence) -> None:
    _retention_case(target, evidence, "OQ-005", "COMPLIANCE", shorten=True)


@pytest.mark.case("OQ-006")
def test_compliance_retention_cannot_become_governance(target: Any, evidence: Evidence) -> None:
    _retention_case(target, evidence, "OQ-006", "GOVERNANCE", shorten=False)


@pytest.mark.case("OQ-007")
def test_administrator_cannot_change_object_lock_configuration(target: Any, evidence: Evidence) -> None:
    admin = target.client("s3", "admin")
    with evidence.step(1) as step:
        step.expect_denied(lambda: admin.put_object_lock_configuration(
            Bucket=_bucket(target), ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}))
    with evidence.step(2) as step:
        config = admin.get_object_lock_configuration(Bucket=_bucket(target))
        step.attach("s3:GetObjectLockConfiguration", config)
        retention = config.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
        step.expect_equal("default retention", (retention.get("Mode"), retention.get("Days")),
                          ("COMPLIANCE", RETENTION_DAYS))


@pytest.mark.case("OQ-008")
def test_administrator_can_place_a_legal_hold(target: Any, evidence: Evidence) -> None:
    key, version = _registered(target, evidence, 1, "OQ-008")
    admin = target.client("s3", "admin")
    with evidence.step(2) as step:
        response = admin.put_object_legal_hold(Bucket=_bucket(target), Key=key, VersionId=version,
                                               LegalHold={"Status": "ON"})
        step.attach("s3:PutObjectLegalHold", response)
        step.record("legal hold request accepted")
    with evidence.step(3) as step:
        hold = admin.get_object_legal_hold(Bucket=_bucket(target), Key=key, VersionId=version)
        step.attach("s3:GetObjectLegalHold", hold)
        step.expect_equal("legal hold", hold.get("LegalHold", {}).get("Status"), "ON")


@pytest.mark.case("OQ-009")
def test_version_under_legal_hold_cannot_be_deleted(target: Any, evidence: Evidence) -> None:
    s3 = privileged(target, "s3")
    with evidence.step(1) as step:
        key = fresh_key(target, "OQ-009")
        written = _put(target, "registrar", key, b"OQ-009 record under legal hold\n")
        version = written["VersionId"]
        s3.put_object_legal_hold(Bucket=_bucket(target), Key=key, VersionId=version, LegalHold={"Status": "ON"})
        hold = s3.get_object_legal_hold(Bucket=_bucket(target), Key=key, VersionId=version)
        step.attach("s3:GetObjectLegalHold", hold)
        step.expect_equal("legal hold", hold.get("LegalHold", {}).get("Status"), "ON")
    with evidence.step(2) as step:
        step.expect_denied(lambda: s3.delete_object(Bucket=_bucket(target), Key=key, VersionId=version,
                                                    BypassGovernanceRetention=True))
    with evidence.step(3) as step:
        head = target.client("s3", "auditor").head_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.attach("s3:HeadObject", head)
        step.check(head.get("VersionId", version) == version, f"version {version} readable")


@pytest.mark.case("OQ-010")
def test_records_are_encrypted_with_the_records_key(target: Any, evidence: Evidence) -> None:
    body = b"OQ-010 encrypted record\n"
    key, version = _registered(target, evidence, 1, "OQ-010", body)
    auditor = target.client("s3", "auditor")
    with evidence.step(2) as step:
        head = auditor.head_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.attach("s3:HeadObject", head)
        key_id = str(head.get("SSEKMSKeyId", ""))
        records_key = str(target.resources["kms_key"])
        same_key = bool(key_id) and (key_id == records_key or key_id.rsplit("/", 1)[-1] == records_key.rsplit("/", 1)[-1])
        step.check(head.get("ServerSideEncryption") == "aws:kms" and same_key,
                   f"encryption {head.get('ServerSideEncryption')}, key {key_id} (records key {records_key})")
    with evidence.step(3) as step:
        got = auditor.get_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.expect_equal("sha256", sha256_hex(got["Body"].read()), sha256_hex(body))


def _key_state(target: Any, evidence: Evidence, number: int) -> None:
    with evidence.step(number) as step:
        described = target.client("kms", "admin").describe_key(KeyId=target.resources["kms_key"])
        step.attach("kms:DescribeKey", described)
        meta = described["KeyMetadata"]
        step.check(meta.get("KeyState") == "Enabled" and not meta.get("DeletionDate"),
                   f"key state {meta.get('KeyState')}, deletion date {meta.get('DeletionDate')}")


@pytest.mark.case("OQ-011")
def test_administrator_cannot_disable_the_records_key(target: Any, evidence: Evidence) -> None:
    kms = target.client("kms", "admin")
    with evidence.step(1) as step:
        step.expect_denied(lambda: kms.disable_key(KeyId=target.resources["kms_key"]))
    _key_state(target, evidence, 2)


@pytest.mark.case("OQ-012")
def test_administrator_cannot_schedule_key_deletion(target: Any, evidence: Evidence) -> None:
    kms = target.client("kms", "admin")
    with evidence.step(1) as step:
        step.expect_denied(lambda: kms.schedule_key_deletion(KeyId=target.resources["kms_key"], PendingWindowInDays=7))
    _key_state(target, evidence, 2)


@pytest.mark.case("OQ-013")
def test_administrator_can_inspect_the_records_key(target: Any, evidence: Evidence) -> None:
    kms = target.client("kms", "admin")
    with evidence.step(1) as step:
        meta = kms.describe_key(KeyId=target.resources["kms_key"])
        step.attach("kms:DescribeKey", meta)
        km = meta["KeyMetadata"]
        step.expect_equal("key manager and state", (km.get("KeyManager"), km.get("KeyState")), ("CUSTOMER", "Enabled"))
    with evidence.step(2) as step:
        rotation = kms.get_key_rotation_status(KeyId=target.resources["kms_key"])
        step.attach("kms:GetKeyRotationStatus", rotation)
        step.expect_equal("rotation enabled", rotation.get("KeyRotationEnabled"), True)


def _plain_http_client(target: Any, persona: str) -> Any:
    """An S3 client of the persona that talks plain HTTP (no TLS) to the target's S3 endpoint."""
    session = target.session(persona)
    endpoint = target.endpoint or f"http://s3.{target.primary_region}.amazonaws.com"
    endpoint = endpoint.replace("https://", "http://")
    return session.client("s3", region_name=target.primary_region, endpoint_url=endpoint,
                          config=target.client_config())


@pytest.mark.case("OQ-014")
def test_request_without_tls_is_refused(target: Any, evidence: Evidence) -> None:
    s3 = _plain_http_client(target, "auditor")
    with evidence.step(1) as step:
        step.expect_denied(lambda: s3.list_object_versions(Bucket=_bucket(target), MaxKeys=1))


@pytest.mark.case("OQ-015")
def test_request_over_tls_is_served(target: Any, evidence: Evidence) -> None:
    with evidence.step(1) as step:
        s3 = target.client("s3", "auditor")
        endpoint = str(s3.meta.endpoint_url)
        listing = s3.list_object_versions(Bucket=_bucket(target), MaxKeys=1)
        step.attach("s3:ListObjectVersions", listing)
        step.check(endpoint.startswith("https://"), f"served over {endpoint}")


@pytest.mark.case("OQ-016")
def test_public_acl_is_refused(target: Any, evidence: Evidence) -> None:
    s3 = privileged(target, "s3")
    with evidence.step(1) as step:
        step.expect_denied(lambda: s3.put_bucket_acl(Bucket=_bucket(target), ACL="public-read"))


@pytest.mark.case("OQ-017")
def test_public_bucket_policy_is_refused(target: Any, evidence: Evidence) -> None:
    s3 = privileged(target, "s3")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "OQ017PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{_bucket(target)}/*"}]}
    with evidence.step(1) as step:
        step.expect_denied(lambda: s3.put_bucket_policy(Bucket=_bucket(target), Policy=json.dumps(policy)))


@pytest.mark.case("OQ-018")
def test_records_are_served_only_to_authenticated_personas(target: Any, evidence: Evidence) -> None:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    body = b"OQ-018 record\n"
    key, version = _registered(target, evidence, 1, "OQ-018", body)
    with evidence.step(2) as step:
        got = target.client("s3", "auditor").get_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.expect_equal("sha256", sha256_hex(got["Body"].read()), sha256_hex(body))
    anonymous = boto3.session.Session().client(
        "s3", region_name=target.primary_region, endpoint_url=target.endpoint,
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}))
    with evidence.step(3) as step:
        step.expect_denied(lambda: anonymous.get_object(Bucket=_bucket(target), Key=key))


@pytest.mark.case("OQ-019")
def test_new_versions_are_replicated(target: Any, evidence: Evidence) -> None:
    import time

    body = b"OQ-019 replicated record\n"
    key, version = _registered(target, evidence, 1, "OQ-019", body)
    replica = target.client("s3", "auditor", target.region_of("replica_bucket"))
    with evidence.step(2) as step:
        # AWS documents replication of most objects within 15 minutes (S3 RTC); poll, bounded by that.
        deadline = time.monotonic() + 900
        found = None
        while found is None and time.monotonic() < deadline:
            listing = replica.list_object_versions(Bucket=_bucket(target, "replica_bucket"), Prefix=key)
            found = next((v for v in listing.get("Versions", []) if v["VersionId"] == version), None)
            if found is None:
                time.sleep(15)
        step.check(found is not None, f"version {version} {'found' if found else 'not found'} in the replica")
    with evidence.step(3) as step:
        got = replica.get_object(Bucket=_bucket(target, "replica_bucket"), Key=key, VersionId=version)
        step.expect_equal("sha256", sha256_hex(got["Body"].read()), sha256_hex(body))


def _locked_version_in(target: Any, evidence: Evidence, resource: str, case: str) -> None:
    region = target.region_of(resource)
    s3 = privileged(target, "s3", region)
    bucket = _bucket(target, resource)
    with evidence.step(1) as step:
        if target.kind == "moto":
            key = fresh_key(target, case)
            version = s3.put_object(Bucket=bucket, Key=key, Body=f"{case} object\n".encode())["VersionId"]
        else:
            listing = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
            first = (listing.get("Versions") or [{}])[0]
            key, version = first.get("Key", ""), first.get("VersionId", "")
        step.check(bool(key and version), f"version {version} of {key} in {bucket}")
    with evidence.step(2) as step:
        step.expect_denied(lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=version))
    with evidence.step(3) as step:
        listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
        step.attach("s3:ListObjectVersions", listing)
        ids = [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]
        step.check(version in ids, f"versions of {key}: {ids}")


@pytest.mark.case("OQ-020")
def test_replica_version_cannot_be_deleted(target: Any, evidence: Evidence) -> None:
    _locked_version_in(target, evidence, "replica_bucket", "OQ-020")


@pytest.mark.case("OQ-021")
def test_auditor_cannot_write_to_the_replica(target: Any, evidence: Evidence) -> None:
    s3 = target.client("s3", "auditor", target.region_of("replica_bucket"))
    with evidence.step(1) as step:
        step.expect_denied(lambda: s3.put_object(Bucket=_bucket(target, "replica_bucket"),
                                                 Key=fresh_key(target, "OQ-021"), Body=b"not allowed\n"))


@pytest.mark.case("OQ-024")
def test_registrar_writes_and_reads(target: Any, evidence: Evidence) -> None:
    body = b"OQ-024 registrar object\n"
    key, version = _registered(target, evidence, 1, "OQ-024", body)
    with evidence.step(2) as step:
        s3 = target.client("s3", "registrar")
        data = s3.get_object(Bucket=_bucket(target), Key=key)["Body"].read()
        listing = s3.list_object_versions(Bucket=_bucket(target), Prefix=key)
        ids = [v["VersionId"] for v in listing.get("Versions", [])]
        step.check(data == body and version in ids, f"content sha256 {sha256_hex(data)}; versions {ids}")


@pytest.mark.case("OQ-025")
def test_registrar_cannot_delete(target: Any, evidence: Evidence) -> None:
    key, version = _registered(target, evidence, 1, "OQ-025")
    s3 = target.client("s3", "registrar")
    with evidence.step(2) as step:
        step.expect_denied(lambda: s3.delete_object(Bucket=_bucket(target), Key=key))
    with evidence.step(3) as step:
        step.expect_denied(lambda: s3.delete_object(Bucket=_bucket(target), Key=key, VersionId=version))
    with evidence.step(4) as step:
        listing = target.client("s3", "auditor").list_object_versions(Bucket=_bucket(target), Prefix=key)
        step.attach("s3:ListObjectVersions", listing)
        ids = [v["VersionId"] for v in listing.get("Versions", [])]
        markers = listing.get("DeleteMarkers", [])
        step.check(version in ids and not markers, f"versions {ids}; delete markers {len(markers)}")


@pytest.mark.case("OQ-026")
def test_signer_writes_under_signatures(target: Any, evidence: Evidence) -> None:
    body = json.dumps({"case": "OQ-026", "meaning": "test"}).encode()
    key = signature_fresh_key(target, "OQ-026")
    s3 = target.client("s3", "signer")
    with evidence.step(1) as step:
        response = s3.put_object(Bucket=_bucket(target), Key=key, Body=body)
        step.attach("s3:PutObject", response)
        step.check(bool(response.get("VersionId")), f"written {key}, version {response.get('VersionId')}")
    with evidence.step(2) as step:
        step.expect_equal("sha256", sha256_hex(s3.get_object(Bucket=_bucket(target), Key=key)["Body"].read()),
                          sha256_hex(body))


@pytest.mark.case("OQ-027")
def test_signer_cannot_write_records_or_delete(target: Any, evidence: Evidence) -> None:
    s3 = target.client("s3", "signer")
    with evidence.step(1) as step:
        step.expect_denied(lambda: s3.put_object(Bucket=_bucket(target), Key=fresh_key(target, "OQ-027"),
                                                 Body=b"not allowed\n"))
    with evidence.step(2) as step:
        key = signature_fresh_key(target, "OQ-027")
        version = s3.put_object(Bucket=_bucket(target), Key=key, Body=b"{}")["VersionId"]
        step.expect_denied(lambda: s3.delete_object(Bucket=_bucket(target), Key=key, VersionId=version))
        step.actual = f"write under signatures/ succeeded (version {version}); delete {step.actual}"


@pytest.mark.case("OQ-028")
def test_auditor_reads_every_version(target: Any, evidence: Evidence) -> None:
    bodies = [b"OQ-028 version 1\n", b"OQ-028 version 2\n"]
    with evidence.step(1) as step:
        key = fresh_key(target, "OQ-028")
        versions = [_put(target, "registrar", key, body)["VersionId"] for body in bodies]
        step.check(all(versions), f"written {key}: versions {versions}")
    with evidence.step(2) as step:
        s3 = target.client("s3", "auditor")
        listing = s3.list_object_versions(Bucket=_bucket(target), Prefix=key)
        step.attach("s3:ListObjectVersions", listing)
        listed = {v["VersionId"] for v in listing.get("Versions", [])}
        read = [s3.get_object(Bucket=_bucket(target), Key=key, VersionId=v)["Body"].read() for v in versions]
        step.check(set(versions) <= listed and read == bodies,
                   f"listed {sorted(listed)}; contents match: {read == bodies}")


@pytest.mark.case("OQ-029")
def test_auditor_cannot_change_anything(target: Any, evidence: Evidence) -> None:
    key, version = _registered(target, evidence, 1, "OQ-029")
    s3 = target.client("s3", "auditor")
    bucket = _bucket(target)
    with evidence.step(2) as step:
        step.expect_denied(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"overwrite\n"))
    with evidence.step(3) as step:
        step.expect_denied(lambda: s3.delete_object(Bucket=bucket, Key=key), "delete")
        first = step.actual
        step.expect_denied(lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=version), "delete version")
        step.actual = f"delete: {first}; delete version: {step.actual}"
    with evidence.step(4) as step:
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        step.expect_denied(lambda: s3.put_object_retention(
            Bucket=bucket, Key=key, VersionId=version, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}),
            "retention")
        first = step.actual
        step.expect_denied(lambda: s3.put_object_legal_hold(
            Bucket=bucket, Key=key, VersionId=version, LegalHold={"Status": "ON"}), "legal hold")
        step.actual = f"retention: {first}; legal hold: {step.actual}"


@pytest.mark.case("OQ-030")
def test_administrator_reads_configuration(target: Any, evidence: Evidence) -> None:
    s3 = target.client("s3", "admin")
    bucket = _bucket(target)
    with evidence.step(1) as step:
        versioning = s3.get_bucket_versioning(Bucket=bucket)
        lock = s3.get_object_lock_configuration(Bucket=bucket)
        encryption = s3.get_bucket_encryption(Bucket=bucket)
        step.attach("configuration", {"versioning": versioning, "object_lock": lock, "encryption": encryption})
        step.record(f"versioning {versioning.get('Status')}, lock "
                    f"{lock.get('ObjectLockConfiguration', {}).get('ObjectLockEnabled')}, encryption "
                    f"{encryption['ServerSideEncryptionConfiguration']['Rules'][0]['ApplyServerSideEncryptionByDefault']['SSEAlgorithm']}")
    with evidence.step(2) as step:
        status = target.client("cloudtrail", "admin").get_trail_status(Name=target.resources["trail"])
        step.attach("cloudtrail:GetTrailStatus", status)
        step.record(f"trail status read: IsLogging {status.get('IsLogging')}")


@pytest.mark.case("OQ-031")
def test_administrator_cannot_write_or_delete_records(target: Any, evidence: Evidence) -> None:
    s3 = target.client("s3", "admin")
    with evidence.step(1) as step:
        step.expect_denied(lambda: s3.put_object(Bucket=_bucket(target), Key=fresh_key(target, "OQ-031"),
                                                 Body=b"not allowed\n"))
    with evidence.step(2) as step:
        key = fresh_key(target, "OQ-031")
        version = _put(target, "registrar", key, b"OQ-031 record\n")["VersionId"]
        step.expect_denied(lambda: s3.delete_object(Bucket=_bucket(target), Key=key, VersionId=version))


def _role_actions(iam: Any, role: str) -> tuple[set[str], set[str], dict[str, Any]]:
    allowed: set[str] = set()
    denied: set[str] = set()
    documents: dict[str, Any] = {}
    for name in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
        documents[name] = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    for attached in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        documents[attached["PolicyName"]] = version["PolicyVersion"]["Document"]
    for document in documents.values():
        if isinstance(document, str):
            document = json.loads(document)
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            (allowed if statement.get("Effect") == "Allow" else denied).update(actions)
    return allowed, denied, documents


@pytest.mark.case("OQ-034")
def test_access_listing_shows_every_persona(target: Any, evidence: Evidence, model: Model) -> None:
    iam = target.client("iam", "auditor")
    roles = {p: str(target.resources[f"{p}_role"]) for p in ("registrar", "signer", "auditor", "admin")}
    with evidence.step(1) as step:
        trusts: dict[str, Any] = {}
        for persona, role in roles.items():
            trusts[persona] = iam.get_role(RoleName=role)["Role"].get("AssumeRolePolicyDocument")
        step.attach("iam:GetRole trust policies", trusts)
        principals = {p: json.dumps(doc) for p, doc in trusts.items()}
        step.check(all("Principal" in text for text in principals.values()),
                   "trust policies read for " + ", ".join(roles.values()))
    with evidence.step(2) as step:
        mismatches: list[str] = []
        listing: dict[str, Any] = {}
        for persona, role in roles.items():
            allowed, denied, _docs = _role_actions(iam, role)
            listing[persona] = {"allowed": sorted(allowed), "denied": sorted(denied)}
            for setting in _ds_settings(model, f"{persona}_role"):
                live = allowed if setting.name == "allowed_actions" else denied
                if sorted(live) != sorted(setting.value):
                    mismatches.append(f"{persona} {setting.name}: {sorted(live)} (DS {sorted(setting.value)})")
        step.attach("access listing", listing)
        step.check(not mismatches, "; ".join(mismatches) or "every persona's actions equal its DS item")


def _ds_settings(model: Model, resource: str) -> list[Any]:
    from generator.model import DesignSpec

    return [s for item in model.of_kind("ds") if isinstance(item, DesignSpec) for s in item.settings
            if s.resource == resource and s.name in ("allowed_actions", "denied_actions")]


@pytest.mark.case("OQ-035")
def test_auditor_cannot_change_a_persona_policy(target: Any, evidence: Evidence) -> None:
    iam = target.client("iam", "auditor")
    role = str(target.resources["auditor_role"])
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
    with evidence.step(1) as step:
        step.expect_denied(lambda: iam.put_role_policy(RoleName=role, PolicyName="oq-035-escalation",
                                                       PolicyDocument=json.dumps(grant)))
    with evidence.step(2) as step:
        allowed, _denied, docs = _role_actions(iam, role)
        step.attach("auditor role policies", docs)
        step.check("s3:PutObject" not in allowed and "oq-035-escalation" not in docs,
                   f"auditor allowed actions: {sorted(allowed)}")


@pytest.mark.case("OQ-036")
def test_persona_sessions_are_attributable(target: Any, evidence: Evidence) -> None:
    arns: dict[str, str] = {}
    for number, persona in ((1, "registrar"), (2, "auditor")):
        with evidence.step(number) as step:
            caller = target.client("sts", persona).get_caller_identity()
            step.attach("sts:GetCallerIdentity", caller)
            arn = str(caller["Arn"])
            arns[persona] = arn
            role = str(target.resources[f"{persona}_role"])
            parts = arn.split(":", 5)[-1].split("/")
            ok = parts[0] == "assumed-role" and len(parts) == 3 and parts[1] == role and bool(parts[2])
            if number == 2:
                ok = ok and arns["registrar"] != arn
            step.check(ok, f"caller {arn}")


@pytest.mark.case("OQ-039")
def test_administrator_cannot_stop_or_delete_the_trail(target: Any, evidence: Evidence) -> None:
    ct = target.client("cloudtrail", "admin")
    trail = target.resources["trail"]
    with evidence.step(1) as step:
        step.expect_denied(lambda: ct.stop_logging(Name=trail))
    with evidence.step(2) as step:
        step.expect_denied(lambda: ct.delete_trail(Name=trail))
    with evidence.step(3) as step:
        status = ct.get_trail_status(Name=trail)
        step.attach("cloudtrail:GetTrailStatus", status)
        step.expect_equal("IsLogging", status.get("IsLogging"), True)


@pytest.mark.case("OQ-040")
def test_administrator_cannot_narrow_the_trail(target: Any, evidence: Evidence) -> None:
    ct = target.client("cloudtrail", "admin")
    trail = target.resources["trail"]
    with evidence.step(1) as step:
        step.expect_denied(lambda: ct.put_event_selectors(
            TrailName=trail, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]))
    with evidence.step(2) as step:
        selectors = ct.get_event_selectors(TrailName=trail)
        step.attach("cloudtrail:GetEventSelectors", selectors)
        wanted = f"arn:aws:s3:::{_bucket(target)}/"
        values = [v for sel in selectors.get("EventSelectors", []) for res in sel.get("DataResources", [])
                  for v in res.get("Values", [])]
        values += [v for sel in selectors.get("AdvancedEventSelectors", []) for f in sel.get("FieldSelectors", [])
                   for v in f.get("StartsWith", []) + f.get("Equals", [])]
        step.check(wanted in values, f"S3 data resources selected: {values}")


@pytest.mark.case("OQ-042")
def test_trail_log_version_cannot_be_deleted(target: Any, evidence: Evidence) -> None:
    _locked_version_in(target, evidence, "trail_bucket", "OQ-042")


@pytest.mark.case("OQ-044")
def test_administrator_cannot_stop_the_configuration_recorder(target: Any, evidence: Evidence) -> None:
    config = target.client("config", "admin")
    recorder = target.resources["config_recorder"]
    with evidence.step(1) as step:
        step.expect_denied(lambda: config.stop_configuration_recorder(ConfigurationRecorderName=recorder))
    with evidence.step(2) as step:
        status = config.describe_configuration_recorder_status(ConfigurationRecorderNames=[recorder])
        step.attach("config:DescribeConfigurationRecorderStatus", status)
        recording = [s.get("recording") for s in status.get("ConfigurationRecordersStatus", [])]
        step.expect_equal("recording", recording, [True])


@pytest.mark.case("OQ-045")
def test_object_times_are_utc_and_agree_with_the_host(target: Any, evidence: Evidence) -> None:
    with evidence.step(1) as step:
        before = dt.datetime.now(dt.UTC)
        key = fresh_key(target, "OQ-045")
        version = _put(target, "registrar", key, b"OQ-045 time\n")["VersionId"]
        after = dt.datetime.now(dt.UTC)
        step.record(f"host UTC {before.isoformat(timespec='seconds')} to {after.isoformat(timespec='seconds')}; "
                    f"version {version}")
    with evidence.step(2) as step:
        head = target.client("s3", "auditor").head_object(Bucket=_bucket(target), Key=key, VersionId=version)
        step.attach("s3:HeadObject", head)
        modified = head["LastModified"]
        utc = modified.utcoffset() == dt.timedelta(0)
        stamp = _utc(modified)
        # S3 LastModified has one-second resolution; the window is widened by 300 s either side (FS-029)
        inside = before - dt.timedelta(seconds=300) <= stamp <= after + dt.timedelta(seconds=300)
        step.check(utc and inside, f"LastModified {stamp.isoformat()} (UTC offset {modified.utcoffset()})")


# ---------------------------------------------------------------- valgen's own controls (FS-040, FS-041, FS-042)


def _urs_document(text: str, approvals: str) -> str:
    return ("document: {id: OQ-SCRATCH-URS, kind: urs, title: Scratch URS, version: \"1.0\", owner: QA, "
            f"status: approved, approvals: {approvals}}}\nitems:\n  - id: URS-001\n    title: Scratch need\n"
            f"    text: {text}\n    priority: low\n    rationale: Scratch.\n")


def _codes(folder: Path) -> list[str]:
    from generator.check import run_check

    return [finding.code for finding in run_check(folder).findings]


@pytest.mark.case("OQ-046")
def test_changed_approved_document_is_reported(evidence: Evidence, tmp_path: Path) -> None:
    from generator.load import load_file
    from generator.model import fingerprint

    path = tmp_path / "requirements" / "urs.yaml"
    path.parent.mkdir()
    path.write_text(_urs_document("The first wording.", "[]"))
    document, _problems = load_file(path)
    assert document is not None
    approval = (f"[{{signer: qa, name: Q A, meaning: approved, time: \"2026-01-01T00:00:00Z\", "
                f"fingerprint: \"{fingerprint(document)}\"}}]")
    path.write_text(_urs_document("The first wording.", approval))
    with evidence.step(1) as step:
        codes = _codes(tmp_path)
        step.attach("findings", codes)
        step.check(not _stale(tmp_path), f"findings: {codes or 'none'}")
    path.write_text(_urs_document("A changed wording.", approval))
    with evidence.step(2) as step:
        stale = _stale(tmp_path)
        step.attach("stale approval findings", stale)
        step.check(bool(stale), f"stale approval findings: {stale}")


def _stale(folder: Path) -> list[str]:
    from generator.check import run_check

    # CHG002: approval out of date (generator.check rules table)
    return [f"{f.code}: {f.message}" for f in run_check(folder).findings if f.code == "CHG002"]


@pytest.mark.case("OQ-047")
def test_link_to_changed_target_is_suspect(evidence: Evidence, tmp_path: Path) -> None:
    from generator.load import load_file
    from generator.model import fingerprint

    (tmp_path / "requirements").mkdir()
    (tmp_path / "specs").mkdir()
    urs = tmp_path / "requirements" / "urs.yaml"
    urs.write_text(_urs_document("The first wording.", "[]"))
    document, _problems = load_file(urs)
    assert document is not None
    seen = fingerprint(document.items[0])
    (tmp_path / "specs" / "fs.yaml").write_text(
        "document: {id: OQ-SCRATCH-FS, kind: fs, title: Scratch FS, version: \"1.0\", owner: QA, status: draft, "
        "approvals: []}\nitems:\n  - id: FS-001\n    title: Scratch function\n    text: Does it.\n"
        f"    satisfies: [{{id: URS-001, fingerprint: \"{seen}\"}}]\n")

    def suspect() -> list[str]:
        from generator.check import run_check

        # CHG001: suspect link (generator.check rules table)
        return [f"{f.code}: {f.message}" for f in run_check(tmp_path).findings if f.code == "CHG001"]

    with evidence.step(1) as step:
        found = suspect()
        step.check(not found, f"suspect-link findings: {found}")
    urs.write_text(_urs_document("A changed wording.", "[]"))
    with evidence.step(2) as step:
        found = suspect()
        step.attach("suspect links", found)
        step.check(any("FS-001" in f for f in found), f"suspect-link findings: {found}")


def _scratch_run(tmp_path: Path) -> Path:
    from generator.qualify.record import RunDirectory

    run = RunDirectory.create(tmp_path / "runs")
    run.write_run({"complete": False})
    run.write_evidence("OQ-048", "step-01-01-sample.json", json.dumps({"sample": True}) + "\n")
    run.finalize({"complete": True})
    return run.path


@pytest.mark.case("OQ-048")
def test_run_record_proves_its_integrity(evidence: Evidence, tmp_path: Path) -> None:
    from generator.qualify.record import verify_sums

    with evidence.step(1) as step:
        path = _scratch_run(tmp_path)
        files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        complete = json.loads((path / "run.json").read_text()).get("complete")
        step.check(complete is True and "SHA256SUMS" in files and len(files) == 3, f"files {files}; complete {complete}")
    with evidence.step(2) as step:
        problems = verify_sums(path)
        listed = (path / "SHA256SUMS").read_text().splitlines()
        step.attach("SHA256SUMS", listed)
        step.check(not problems, f"{len(listed)} files listed; problems: {problems or 'none'}")


@pytest.mark.case("OQ-049")
def test_changed_evidence_file_is_detected(evidence: Evidence, tmp_path: Path) -> None:
    from generator.qualify.record import verify_sums

    path = _scratch_run(tmp_path)
    with evidence.step(1) as step:
        problems = verify_sums(path)
        step.check(not problems, f"problems: {problems or 'none'}")
    with evidence.step(2) as step:
        target_file = path / "evidence" / "OQ-048" / "step-01-01-sample.json"
        data = bytearray(target_file.read_bytes())
        data[0] ^= 0x01
        target_file.write_bytes(bytes(data))
        (path / "added-later.txt").write_text("not part of the run\n")
        problems = verify_sums(path)
        step.attach("problems", problems)
        step.check("evidence/OQ-048/step-01-01-sample.json: changed (SHA-256 differs)" in problems and
                   "added-later.txt: not listed in SHA256SUMS" in problems, "; ".join(problems))


@pytest.mark.case("OQ-050")
def test_read_back_reports_a_differing_value(target: Any, evidence: Evidence) -> None:
    from generator.targets.readback import read_setting, value_matches

    reading = read_setting(target, "compliance_bucket", "object_lock_mode")
    with evidence.step(1) as step:
        step.attach(reading.call, reading.response)
        wrong = step.compare("compliance_bucket.object_lock_mode", reading.value, "GOVERNANCE",
                             same=value_matches("object_lock_mode", "GOVERNANCE", reading.value))
        # The protocol expects a reported mismatch here: the comparison is the system under test.
        step.outcome = type(step.outcome).PASSED
        step.check(not wrong and "(expected 'GOVERNANCE')" in step.actual, f"mismatch reported: {step.actual}")
    with evidence.step(2) as step:
        step.compare("compliance_bucket.object_lock_mode", reading.value, "COMPLIANCE",
                     same=value_matches("object_lock_mode", "COMPLIANCE", reading.value))
        step.check(reading.value == "COMPLIANCE", step.actual)



# ---------------------------------------------------------------- signing credentials (FS-032 .. FS-036)


@pytest.mark.case("OQ-061")
def test_wrong_passphrase_or_revoked_signer_produces_no_signature(evidence: Evidence, tmp_path: Path) -> None:
    from support import TestSigners

    from generator.esign.identity import SigningRefused
    from generator.esign.sign import _refuse_signer

    signers = TestSigners(tmp_path / "signers")
    with evidence.step(1) as step:
        try:
            signers.unlock("demo-qa", "not-the-passphrase")
            step.check(False, "the key was unlocked with a wrong passphrase")
        except SigningRefused as exc:
            step.record(f"refused: {exc.message}")
    with evidence.step(2) as step:
        revoked_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        signers.revoke("demo-qa", revoked_at, "OQ-061: simulated loss of the key")
        signer = signers.signatories.signer("demo-qa")
        revocation = signers.signatories.revocation(signer, dt.datetime.now(dt.UTC)) if signer else None
        step.check(revocation is not None, f"demo-qa revoked at {revoked_at}: {revocation is not None}")
    with evidence.step(3) as step:
        try:
            _refuse_signer(signers.signatories, "demo-qa", "approved", dt.datetime.now(dt.UTC))
            step.check(False, "signing was allowed for a revoked signer")
        except SigningRefused as exc:
            step.check("revoked" in exc.message, f"refused: {exc.message}")


@pytest.mark.case("OQ-062")
def test_persona_cannot_reach_another_persona_role(target: Any, evidence: Evidence) -> None:
    sts = target.client("sts", "auditor")
    admin_role = f"arn:aws:iam::{target.account}:role/{target.resources['admin_role']}"
    with evidence.step(1) as step:
        step.expect_denied(lambda: sts.assume_role(RoleArn=admin_role, RoleSessionName="oq-062"))
    with evidence.step(2) as step:
        caller = sts.get_caller_identity()
        step.attach("sts:GetCallerIdentity", caller)
        step.check(f":assumed-role/{target.resources['auditor_role']}/" in caller["Arn"], f"caller {caller['Arn']}")


@pytest.mark.case("OQ-078")
def test_three_wrong_passphrases_lock_the_signer(evidence: Evidence, tmp_path: Path) -> None:
    from support import TestSigners

    from generator.esign.identity import SigningRefused

    signers = TestSigners(tmp_path / "signers")
    with evidence.step(1) as step:
        messages = []
        for _attempt in range(3):
            try:
                signers.unlock("demo-author", "wrong")
                messages.append("UNLOCKED")
            except SigningRefused as exc:
                messages.append(exc.message)
        step.attach("refusals", messages)
        step.check("UNLOCKED" not in messages and "lock" in messages[-1].lower(), " | ".join(messages))
    with evidence.step(2) as step:
        try:
            signers.unlock("demo-author")
            step.check(False, "the right passphrase unlocked a locked signer")
        except SigningRefused as exc:
            step.check("locked" in exc.message, f"refused: {exc.message}")
    with evidence.step(3) as step:
        log = [json.loads(line) for line in (signers.state / "identity-log.jsonl").read_text().splitlines()]
        step.attach("signing log", log)
        wrong = [e for e in log if e["event"] == "wrong passphrase" and e["signer"] == "demo-author"]
        locked = [e for e in log if e["event"] == "locked"]
        step.check(len(wrong) == 3 and len(locked) == 1 and all(e["time"].endswith("Z") for e in log),
                   f"{len(wrong)} wrong-passphrase entries, {len(locked)} lock entry")


@pytest.mark.case("OQ-079")
def test_right_passphrase_unlocks_and_is_logged(evidence: Evidence, tmp_path: Path) -> None:
    from support import TestSigners

    signers = TestSigners(tmp_path / "signers")
    with evidence.step(1) as step:
        credential = signers.unlock("demo-reviewer")
        step.check(credential.signer.id == "demo-reviewer" and len(credential.components) >= 2,
                   f"unlocked {credential.signer.id}; components {list(credential.components)}")
    with evidence.step(2) as step:
        log = [json.loads(line) for line in (signers.state / "identity-log.jsonl").read_text().splitlines()]
        step.attach("signing log", log)
        ok = [e for e in log if e["signer"] == "demo-reviewer" and e["event"] == "identity verified"]
        step.check(len(ok) == 1 and ok[0]["time"].endswith("Z"), f"log entries: {log}")


@pytest.mark.case("OQ-074")
def test_signatories_name_each_signer_once(evidence: Evidence, tmp_path: Path) -> None:
    from support import TestSigners

    with evidence.step(1) as step:
        signers = TestSigners(tmp_path / "signers")
        step.record(f"loaded {signers.keys.signatories.name}: {len(signers.signatories.signers)} signers")
    with evidence.step(2) as step:
        listed = [(s.id, s.fingerprint, s.name, tuple(s.meanings)) for s in signers.signatories.signers]
        step.attach("signers", listed)
        ids = [s[0] for s in listed]
        prints = [s[1] for s in listed]
        step.check(len(set(ids)) == len(ids) and len(set(prints)) == len(prints)
                   and all(s[2] and s[3] for s in listed), f"signers {ids}")


@pytest.mark.case("OQ-075")
def test_duplicate_signer_id_is_refused(evidence: Evidence, tmp_path: Path) -> None:
    import yaml
    from support import TestSigners

    from generator.errors import ValgenError as Refused
    from generator.esign.signatories import load_signatories

    signers = TestSigners(tmp_path / "signers")
    copy = tmp_path / "copy" / "signatories.yaml"
    copy.parent.mkdir()
    with evidence.step(1) as step:
        data = yaml.safe_load(signers.keys.signatories.read_text())
        data["signers"].append(dict(data["signers"][0]))
        copy.write_text(yaml.safe_dump(data, sort_keys=False))
        step.record(f"the copy lists {data['signers'][0]['id']} twice")
    with evidence.step(2) as step:
        try:
            load_signatories(copy, signers.keys.revocations)
            step.check(False, "the file with a duplicate signer ID was accepted")
        except Refused as exc:
            text = exc.render() if hasattr(exc, "render") else str(exc)
            step.check(data["signers"][0]["id"] in text, f"refused: {text.strip()[:400]}")


# ---------------------------------------------------------------- the records client (FS-001 .. FS-007, FS-030 .. FS-031, FS-043)


def _register(records: Any, tmp_path: Path, label: str, *, revision: int = 1, name: str | None = None,
              workflow: str | None = "ngs-run", metadata: dict[str, Any] | None = None) -> tuple[str, Any]:
    from support import ngs_metadata, ngs_package, package_name

    name = name or package_name(records.target, label)
    run_id = name.split("/run-", 1)[-1] if "/run-" in name else label
    folder = ngs_package(tmp_path / f"{label}-r{revision}", run_id, revision)
    revision_made = records.register(folder, name, message=f"{label} revision {revision}",
                                     metadata=metadata if metadata is not None else ngs_metadata(run_id),
                                     workflow=workflow)
    return name, revision_made


def _refusal(call: Any) -> str:
    from generator.errors import ValgenError as Refused

    try:
        call()
    except Refused as exc:
        return exc.message
    return ""


@pytest.mark.case("OQ-063")
def test_registration_creates_a_complete_revision(records: Any, evidence: Evidence, tmp_path: Path) -> None:
    with evidence.step(1) as step:
        name, revision = _register(records, tmp_path, "oq063")
        step.check(revision.number == 1, f"{name} revision {revision.number} ({revision.top_hash})")
    with evidence.step(2) as step:
        manifest = records.manifest(revision.top_hash)
        entries = [{"logical_key": e.logical_key, "version_id": e.version_id, "hash_type": e.hash_type}
                   for e in manifest.entries]
        step.attach("manifest entries", entries)
        step.check(len(entries) == 6 and all(e["version_id"] and e["hash_type"] == "sha2-256-chunked" for e in entries)
                   and manifest.message == "oq063 revision 1",
                   f"{len(entries)} entries with version IDs and sha2-256-chunked hashes; message {manifest.message!r}")
    with evidence.step(3) as step:
        keys = {e.key for e in manifest.entries} | {revision.pointer_key}
        outside = sorted(k for k in keys if not (k.startswith(".quilt/") or k.startswith(f"{name}/")))
        step.attach("keys", sorted(keys))
        step.check(not outside, f"{len(keys)} keys; outside the layout: {outside or 'none'}")


@pytest.mark.case("OQ-064")
def test_registration_without_workflow_is_refused(records: Any, evidence: Evidence, tmp_path: Path) -> None:
    from support import package_name

    name = package_name(records.target, "oq064")
    with evidence.step(1) as step:
        refused = _refusal(lambda: _register(records, tmp_path, "oq064", name=name, workflow=None))
        step.check(bool(refused) and "workflow" in refused.lower(), f"refused: {refused}" if refused else "registered")
    with evidence.step(2) as step:
        listed = records.revisions(name)
        step.check(listed == [], f"{len(listed)} revisions of {name}")


@pytest.mark.case("OQ-065")
def test_misnamed_package_is_refused(records: Any, evidence: Evidence, tmp_path: Path) -> None:
    from support import package_name

    # Under the test package prefix (the only names the qualification may write, on aws as on moto), so the
    # refusal can only be the workflow's: its run ID is longer than the 63 characters the pattern allows.
    name = package_name(records.target, "oq065") + "-" + "x" * 64
    with evidence.step(1) as step:
        refused = _refusal(lambda: _register(records, tmp_path, "oq065", name=name))
        step.check(refused.startswith("the workflow refused") and "pattern" in refused,
                   f"refused: {refused}" if refused else "registered")
    with evidence.step(2) as step:
        listed = records.revisions(name)
        step.check(listed == [], f"{len(listed)} revisions of {name}")


@pytest.mark.case("OQ-067")
def test_revisions_listed_in_order_and_opened(records: Any, evidence: Evidence, tmp_path: Path) -> None:
    with evidence.step(1) as step:
        name, first = _register(records, tmp_path, "oq067")
        _name, second = _register(records, tmp_path, "oq067", revision=2, name=name)
        step.check((first.number, second.number) == (1, 2), f"{name}: revisions {first.number}, {second.number}")
    with evidence.step(2) as step:
        listed = records.revisions(name)
        step.attach("revisions", [{"number": r.number, "top_hash": r.top_hash, "registered": r.registered}
                                  for r in listed])
        step.check([r.top_hash for r in listed] == [first.top_hash, second.top_hash]
                   and first.top_hash != second.top_hash and all(r.registered.endswith("Z") for r in listed),
                   f"{[(r.number, r.top_hash[:12], r.registered) for r in listed]}")
    with evidence.step(3) as step:
        by_number, manifest = records.browse(name, 2)
        by_hash = records.manifest(second.top_hash)
        step.check(by_number.top_hash == second.top_hash and manifest.computed_top_hash() == second.top_hash
                   and [e.logical_key for e in manifest.entries] == [e.logical_key for e in by_hash.entries],
                   f"by number {by_number.top_hash[:12]}…, recomputed {manifest.computed_top_hash()[:12]}…")


@pytest.mark.case("OQ-068")
def test_missing_revision_is_refused_clearly(records: Any, evidence: Evidence, tmp_path: Path) -> None:
    with evidence.step(1) as step:
        name, revision = _register(records, tmp_path, "oq068")
        step.check(revision.number == 1, f"{name} revision {revision.number}")
    with evidence.step(2) as step:
        refused = _refusal(lambda: records.revision(name, 2))
        step.check("revisions 1..1" in refused, f"refused: {refused}" if refused else "a revision was returned")


@pytest.mark.case("OQ-069")
def test_unchanged_revision_verifies(records: Any, evidence: Evidence, tmp_path: Path) -> None:
    with evidence.step(1) as step:
        name, revision = _register(records, tmp_path, "oq069")
        step.check(revision.number == 1, f"{name} revision {revision.number}")
    with evidence.step(2) as step:
        result = records.verify(name, 1)
        step.attach("verification", {"ok": result.ok, "checked": result.checked, "failures": result.failures()})
        step.check(result.ok and result.checked.endswith("Z"),
                   f"{len(result.entries)} files and top hash match: {result.ok}; checked {result.checked}")


@pytest.mark.case("OQ-070")
def test_changed_bytes_are_detected(target: Any, records: Any, evidence: Evidence, tmp_path: Path) -> None:
    from generator.records import hash_stream

    with evidence.step(1) as step:
        name, revision = _register(records, tmp_path, "oq070")
        manifest = records.manifest(revision.top_hash)
        entry = next(e for e in manifest.entries if e.logical_key == "samples.csv")
        newer = target.client("s3", "registrar").put_object(Bucket=entry.bucket, Key=entry.key,
                                                            Body=b"sample_id,fastq,reads\nS1,x,1\n")
        step.check(newer.get("VersionId") not in (None, entry.version_id),
                   f"{entry.key}: registered version {entry.version_id}, newer version {newer.get('VersionId')}")
    with evidence.step(2) as step:
        body = target.client("s3", "auditor").get_object(Bucket=entry.bucket, Key=entry.key,
                                                         VersionId=newer["VersionId"])["Body"]
        digest = hash_stream(iter(lambda: body.read(1 << 20), b""), entry.hash_type,
                             len(b"sample_id,fastq,reads\nS1,x,1\n"))
        step.check(digest != entry.hash_value, f"newer bytes hash {digest}; manifest {entry.hash_value}")
    with evidence.step(3) as step:
        result = records.verify(name, 1)
        step.check(result.ok, f"revision 1 verifies: {result.ok} {result.failures()}")


@pytest.mark.case("OQ-071")
def test_export_never_invents_audit_events(target: Any, records: Any, evidence: Evidence, tmp_path: Path) -> None:
    from generator.records import inspect_package

    with evidence.step(1) as step:
        name, revision = _register(records, tmp_path, "oq071")
        step.check(revision.number == 1, f"{name} revision 1")
    with evidence.step(2) as step:
        result = inspect_package(records, name, 1, export_dir=tmp_path / "export")
        written = sorted(Path(f).name for f in result.files)
        step.check(any(f.endswith(".pdf") for f in written), f"written {written}")
    with evidence.step(3) as step:
        import csv
        import shutil
        import subprocess

        audit = next(tmp_path.rglob("audit*.csv"), None)
        with audit.open() if audit else open("/dev/null") as handle:
            rows = list(csv.DictReader(handle))
        step.attach("audit.csv", rows)
        # Rows derived from S3 itself (version times) or from signature events name that source; any other
        # row would have to come from the trail.
        from_trail = [r for r in rows if not (r.get("source", "").startswith(("S3 object versions", "signatures/")))]
        pdf = next(tmp_path.rglob("*.pdf"))
        text = ""
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        says_none = "notavailableonthistarget" in "".join(text.split())
        if target.capabilities["cloudtrail_events"].present:
            step.check(not says_none, f"{len(from_trail)} trail rows of {len(rows)} audit rows")
        else:
            step.check(not from_trail and says_none,
                       f"{len(rows)} audit rows, all from S3 versions or signature events; trail rows "
                       f"{len(from_trail)}; PDF says the trail data is not available on this target: {says_none}")


@pytest.mark.case("OQ-072")
def test_signature_on_unregistered_top_hash_is_refused(records: Any, signers: Any, evidence: Evidence,
                                                       tmp_path: Path) -> None:
    with evidence.step(1) as step:
        name, revision = _register(records, tmp_path, "oq072")
        step.check(revision.number == 1, f"{name} revision 1")
    with evidence.step(2) as step:
        fake = type(revision)(package=name, number=1, top_hash="0" * 64, registered=revision.registered,
                              pointer_key=revision.pointer_key, pointer_version=revision.pointer_version)
        event = signers.event(signers.unlock("demo-qa"), name, fake, "approved")
        refused = _refusal(lambda: records.write_signature(event))
        step.check("no revision with top hash" in refused, f"refused: {refused}" if refused else "written")
    with evidence.step(3) as step:
        events = records.signatures(name)
        step.check(events == [], f"{len(events)} signature events of {name}")


@pytest.mark.case("OQ-073")
def test_edited_signature_event_fails_verification(records: Any, signers: Any, evidence: Evidence,
                                                   tmp_path: Path) -> None:
    name, revision = _register(records, tmp_path, "oq073")
    with evidence.step(1) as step:
        event = signers.event(signers.unlock("demo-qa"), name, revision, "approved")
        problem = signers.problem(event, revision.top_hash)
        step.check(problem is None, f"original event: {problem or 'valid'}")
    with evidence.step(2) as step:
        edited = {**event, "printed_name": "Someone Else"}
        problem = signers.problem(edited, revision.top_hash)
        step.check(problem is not None and "altered or forged" in problem, f"edited event: {problem or 'VALID'}")


@pytest.mark.case("OQ-077")
def test_signature_before_revocation_stays_valid(records: Any, evidence: Evidence, tmp_path: Path) -> None:
    from support import TestSigners

    signers = TestSigners(tmp_path / "signers")
    with evidence.step(1) as step:
        name, revision = _register(records, tmp_path, "oq077")
        event = records.write_signature(signers.event(signers.unlock("demo-qa"), name, revision, "approved")).body
        step.check(signers.problem(dict(event), revision.top_hash) is None, f"event of {event['time']} verifies")
    with evidence.step(2) as step:
        signed_at = dt.datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
        revoked_at = (signed_at + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        signers.revoke("demo-qa", revoked_at, "OQ-077: credential withdrawn after signing")
        signer = signers.signatories.signer("demo-qa")
        later = signed_at + dt.timedelta(hours=2)
        step.check(signer is not None and signers.signatories.revocation(signer, later) is not None,
                   f"demo-qa revoked from {revoked_at}")
    with evidence.step(3) as step:
        problem = signers.problem(dict(event), revision.top_hash)
        step.check(problem is None, f"event signed {event['time']}: {problem or 'still valid'}")


@pytest.mark.case("OQ-083")
def test_inspection_of_unknown_package_is_refused(records: Any, evidence: Evidence) -> None:
    from generator.records import inspect_package

    with evidence.step(1) as step:
        refused = _refusal(lambda: inspect_package(records, "ngs/run-oq083-does-not-exist", 1))
        step.check("has no revisions" in refused, f"refused: {refused}" if refused else "answered")
