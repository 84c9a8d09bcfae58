"""The records client against a real moto server: register, number, browse, sign, verify, tamper, export."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.errors import ValgenError
from generator.records import RecordsClient, hash_stream, inspect_package
from generator.targets.deployment import Deployment
from generator.targets.moto import MotoServer, deploy_moto
from generator.targets.profile import TargetProfile

REPO = Path(__file__).resolve().parents[2]
META = {"study": "ST-042", "operator": "A. Operator"}


def _package(folder: Path, revision: int, *, big: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(f"# NGS run 001\n\nRevision {revision} of the run record.\n")
    (folder / "samples.csv").write_text(f"sample,reads\nS1,{1000 + revision}\nS2,2000\n")
    (folder / "qc").mkdir(exist_ok=True)
    (folder / "qc" / "report.txt").write_text("QC passed\n")
    if big:
        # crosses quilt3's 8 MiB checksum chunk (and multipart upload) boundary
        (folder / "reads.fastq").write_bytes(os.urandom(9 * 1024 * 1024 + 7))
    return folder


@pytest.fixture(scope="module")
def three_revisions(records: RecordsClient, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    base = tmp_path_factory.mktemp("pkg")
    revisions = []
    for number in (1, 2, 3):
        folder = _package(base / f"r{number}", number, big=number == 1)
        revisions.append(records.register(folder, "ngs/run-001", message=f"revision {number}", metadata=META,
                                          workflow="ngs-run"))
    return revisions


def test_three_registrations_are_numbered_in_order(records: RecordsClient, three_revisions: list[Any]) -> None:
    listed = records.revisions("ngs/run-001")
    assert [r.number for r in listed] == [1, 2, 3]
    assert [r.top_hash for r in listed] == [r.top_hash for r in three_revisions]
    assert len({r.top_hash for r in listed}) == 3
    assert all(r.registered.endswith("Z") for r in listed)
    assert "ngs/run-001" in records.packages()


def test_browse_revision_by_top_hash(records: RecordsClient, three_revisions: list[Any]) -> None:
    revision, manifest = records.browse("ngs/run-001", 2)
    assert revision.top_hash == three_revisions[1].top_hash
    assert manifest.computed_top_hash() == revision.top_hash  # our hashing agrees with quilt3's
    assert manifest.message == "revision 2"
    assert manifest.user_meta == META
    assert sorted(e.logical_key for e in manifest.entries) == ["README.md", "qc/report.txt", "samples.csv"]
    assert all(e.version_id for e in manifest.entries)
    body = b"".join(records.read_entry(next(e for e in manifest.entries if e.logical_key == "samples.csv")))
    assert body == b"sample,reads\nS1,1002\nS2,2000\n"


def test_chunked_hash_matches_quilt3_across_the_8_mib_boundary(records: RecordsClient,
                                                               three_revisions: list[Any]) -> None:
    _rev, manifest = records.browse("ngs/run-001", 1)
    big = next(e for e in manifest.entries if e.logical_key == "reads.fastq")
    assert big.size > 8 * 1024 * 1024 and big.hash_type == "sha2-256-chunked"
    assert hash_stream(records.read_entry(big), big.hash_type, big.size) == big.hash_value
    assert hash_stream(iter([b""]), "sha2-256-chunked", 0) == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_sign_revision_2_and_prove_it_unchanged(records: RecordsClient, three_revisions: list[Any],
                                                make_event: Callable[..., dict[str, Any]]) -> None:
    import jsonschema

    top_hash = three_revisions[1].top_hash
    event = make_event("ngs/run-001", top_hash, revision=2)
    schema = json.loads((REPO / "specs" / "workflows" / "signature-event.schema.json").read_text())
    jsonschema.validate(event, schema)
    stored = records.write_signature(event)
    assert stored.key == f"signatures/ngs/run-001/{top_hash}/20261128T050000Z-qa.approver.json"
    assert stored.body == event
    assert stored.lock_mode == "COMPLIANCE" and stored.retain_until is not None  # Object-Locked
    assert stored.writer_arn is not None and ":assumed-role/valgen-signer/" in stored.writer_arn
    listed = records.signatures("ngs/run-001", top_hash)
    assert [s.key for s in listed] == [stored.key]
    assert records.signatures("ngs/run-001", three_revisions[0].top_hash) == []
    result = records.verify("ngs/run-001", 2)
    assert result.ok, result.failures()
    assert result.top_hash == top_hash and len(result.entries) == 3
    # the signed event cannot be removed: its version is locked
    s3 = records.target.client("s3", "admin")
    with pytest.raises(Exception, match="AccessDenied"):
        s3.delete_object(Bucket=records.bucket, Key=stored.key, VersionId=stored.version_id)


def test_signature_must_name_a_registered_revision(records: RecordsClient, three_revisions: list[Any],
                                                   make_event: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(ValgenError, match="no revision with top hash"):
        records.write_signature(make_event("ngs/run-001", "0" * 64))
    with pytest.raises(ValgenError, match="UTC with Z"):
        records.write_signature(make_event("ngs/run-001", three_revisions[1].top_hash, time="2026-11-28T05:00:00"))


def test_workflow_refuses_incomplete_metadata(records: RecordsClient, tmp_path: Path) -> None:
    folder = _package(tmp_path / "bad", 1)
    with pytest.raises(ValgenError, match="operator"):
        records.register(folder, "ngs/run-002", message="no operator", metadata={"study": "ST-1"},
                         workflow="ngs-run")
    assert "ngs/run-002" not in records.packages()


def test_guarded_target_writes_only_test_packages(records: RecordsClient, three_revisions: list[Any], tmp_path: Path,
                                                 make_event: Callable[..., dict[str, Any]]) -> None:
    """What a qualification session does on moto (and the aws target always): test packages register and
    are signed; a real package name is refused before any call is made, so nothing of it is written."""
    target = records.target
    name = target.profile.test_packages + "guard-1"
    target.guard_writes()
    try:
        revision = records.register(_package(tmp_path / "ok", 1), name, message="m", metadata=META, workflow="ngs-run")
        records.write_signature(make_event(name, revision.top_hash))
        assert [r.top_hash for r in records.revisions(name)] == [revision.top_hash]
        with pytest.raises(ValgenError, match="refusing to write 'ngs/run-004/' on moto target 'moto'"):
            records.register(_package(tmp_path / "real", 1), "ngs/run-004", message="m", metadata=META,
                             workflow="ngs-run")
        with pytest.raises(ValgenError, match="refusing to write 'signatures/ngs/run-001/"):
            records.write_signature(make_event("ngs/run-001", three_revisions[0].top_hash))
    finally:
        target.writes_guarded = False
    assert "ngs/run-004" not in records.packages()


def test_auditor_cannot_register(records: RecordsClient, tmp_path: Path) -> None:
    folder = _package(tmp_path / "aud", 1)
    with pytest.raises(Exception, match=r"AccessDenied|Access Denied"):
        records.register(folder, "ngs/run-003", message="m", metadata=META, workflow="ngs-run", persona="auditor")


def test_changed_byte_in_unlocked_deployment_fails_verify_naming_the_object(
        records_server: MotoServer, moto_profile: TargetProfile, tmp_path: Path) -> None:
    """Only a deliberately unlocked, unversioned bucket lets bytes change under the manifest; verify catches it."""
    from tests.records.conftest import WORKFLOWS

    target = deploy_moto(records_server, moto_profile, Deployment(workflows_dir=WORKFLOWS).unlocked(),
                         suffix="unlocked")
    client = RecordsClient(target)
    client.register(_package(tmp_path / "p", 1), "ngs/run-009", message="m", metadata=META, workflow="ngs-run")
    before = client.verify("ngs/run-009")
    assert all(e.actual_hash == e.expected_hash for e in before.entries)
    assert not before.ok and all("not pinned" in e.problem for e in before.entries)
    _rev, manifest = client.browse("ngs/run-009")
    victim = next(e for e in manifest.entries if e.logical_key == "samples.csv")
    original = b"".join(client.read_entry(victim))
    tampered = original.replace(b"1001", b"1002")
    assert len(tampered) == len(original) and tampered != original
    target.deployer_client("s3").put_object(Bucket=victim.bucket, Key=victim.key, Body=tampered)
    after = client.verify("ngs/run-009")
    assert not after.ok
    changed = [e for e in after.entries if e.problem.startswith("content changed")]
    assert [e.logical_key for e in changed] == ["samples.csv"]
    assert any(f.startswith("samples.csv (s3://") and "content changed" in f for f in after.failures())

    # hiding the change by rewriting the manifest's hash breaks the top hash instead
    s3 = target.deployer_client("s3")
    key = f".quilt/packages/{after.top_hash}"
    lines = s3.get_object(Bucket=victim.bucket, Key=key)["Body"].read().decode().splitlines()
    actual = next(e.actual_hash for e in after.entries if e.logical_key == "samples.csv")
    forged = [line.replace(victim.hash_value, str(actual)) if '"samples.csv"' in line else line for line in lines]
    assert forged != lines
    s3.put_object(Bucket=victim.bucket, Key=key, Body="\n".join(forged).encode())
    hidden = client.verify("ngs/run-009")
    assert not hidden.top_hash_ok
    assert all(e.problem == "" or "not pinned" in e.problem for e in hidden.entries)  # bytes match the forgery
    assert f"manifest of ngs/run-009 does not hash to its top hash {after.top_hash}" in hidden.failures()

    # a removed object is named too
    readme = next(e for e in manifest.entries if e.logical_key == "README.md")
    s3.delete_object(Bucket=readme.bucket, Key=readme.key)
    gone = client.verify("ngs/run-009")
    assert any(f.startswith("README.md (s3://") and "cannot read the object (NoSuchKey)" in f
               for f in gone.failures())


def test_inspection_answers_and_exports(records: RecordsClient, three_revisions: list[Any],
                                        make_event: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from generator.records.client import utc_z

    top_hash = three_revisions[2].top_hash
    signed = utc_z(datetime.now(UTC))  # a signing host in sync with the service clock (FS-029)
    records.write_signature(make_event("ngs/run-001", top_hash, signer_id="r.reviewer", printed_name="Rae Reviewer",
                                       meaning="reviewed", time=signed))
    result = inspect_package(records, "ngs/run-001", 3, export_dir=tmp_path / "out")
    assert not any(line.startswith("CLOCK") for line in result.answers[1].lines)
    assert result.ok and [a.number for a in result.answers] == [1, 2, 3, 4]
    assert "has not changed since it was signed" in " ".join(result.answers[0].lines)
    assert any(line.startswith("Object Lock: 4 of 4 object versions (manifest and files) under COMPLIANCE")
               for line in result.answers[0].lines)
    assert f"Rae Reviewer (r.reviewer): reviewed at {signed} UTC" in result.answers[1].lines[0]
    assert result.answers[2].status == "not available on this target"
    assert "access logs" in result.answers[2].lines[0] or "who read an object" in result.answers[2].lines[0]
    pdf = tmp_path / "out" / "ngs_run-001-r3.pdf"
    assert pdf in result.files and pdf.read_bytes().startswith(b"%PDF")
    with (tmp_path / "out" / "ngs_run-001-r3" / "manifest.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["logical_key"] for r in rows) == ["README.md", "qc/report.txt", "samples.csv"]
    assert all(r["top_hash"] == top_hash and r["version_id"] for r in rows)
    with (tmp_path / "out" / "ngs_run-001-r3" / "signatures.csv").open() as handle:
        assert [r["printed_name"] for r in csv.DictReader(handle)] == ["Rae Reviewer"]
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        flat = "".join(text.split())  # table cells may wrap lines
        for expected in ("Rae Reviewer", "reviewed", signed, "Revision 3 of the run record",
                         "samples.csv", "UNCHANGED", "not available on this target"):
            assert "".join(expected.split()) in flat, expected


def test_signature_time_off_the_service_clock_is_flagged(records: RecordsClient, three_revisions: list[Any],
                                                         make_event: Callable[..., dict[str, Any]]) -> None:
    """FS-029: an event whose stated time is more than 300 s from the time S3 stored it is flagged."""
    from datetime import UTC, datetime, timedelta

    from generator.records.client import utc_z

    top_hash = three_revisions[0].top_hash
    skewed = utc_z(datetime.now(UTC) - timedelta(seconds=900))
    records.write_signature(make_event("ngs/run-001", top_hash, signer_id="c.clock", time=skewed))
    result = inspect_package(records, "ngs/run-001", 1)
    flagged = [line for line in result.answers[1].lines if line.startswith("CLOCK: ")]
    assert len(flagged) == 1 and f"its time {skewed} is 9" in flagged[0] and "more than 300 s (FS-029)" in flagged[0]
    event = next(e for e in records.signatures("ngs/run-001", top_hash) if e.body["signer_id"] == "c.clock")
    assert event.stored is not None and event.clock_problem() is not None
    in_sync = dataclasses.replace(event, body={**event.body, "time": event.stored})
    assert in_sync.clock_problem() is None
    off_by_301 = utc_z(datetime.fromisoformat(event.stored.replace("Z", "+00:00")) + timedelta(seconds=301))
    assert dataclasses.replace(event, body={**event.body, "time": off_by_301}).clock_problem() is not None


def test_concurrent_registrations_are_all_kept(records: RecordsClient, tmp_path: Path) -> None:
    """Several writers registering at once (the PQ load scenario, small): none lost, each verifies."""
    from concurrent.futures import ThreadPoolExecutor

    def register(i: int) -> Any:
        folder = _package(tmp_path / f"c{i}", i)
        return records.register(folder, f"load/run-{i:03d}", message=f"load {i}", metadata=META,
                                workflow="ngs-run")

    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(register, range(8)))
    names = {f"load/run-{i:03d}" for i in range(8)}
    assert names <= set(records.packages())
    assert {r.package for r in made} == names
    assert all(records.verify(r.package).ok for r in made)
