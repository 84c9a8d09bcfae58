"""Publishing a signed binder to the embedded moto target and verifying it from S3."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.esign.identity import Lockout, SigningRefused
from generator.esign.keys import DemoKeys
from generator.esign.publish import publish_binder, verify_published
from generator.esign.signatories import Signatories
from generator.esign.verify import verify_binder
from generator.records import RecordsClient
from generator.targets.deployment import Deployment
from generator.targets.moto import MotoServer, MotoTarget, deploy_moto
from generator.targets.profile import load_profile

from .conftest import SignFn, env_source, revoked_people
from .tamper import change_page_content

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with MotoServer() as running:
        yield running


@pytest.fixture(scope="module")
def target(server: MotoServer) -> MotoTarget:
    profile = load_profile(REPO / "qualification" / "targets" / "moto.yaml")
    return deploy_moto(server, profile, Deployment(workflows_dir=REPO / "specs" / "workflows"))


@pytest.fixture(scope="module")
def client(target: MotoTarget) -> RecordsClient:
    return RecordsClient(target)


def _build_dir(signed_binder: Path, tmp_path: Path) -> Path:
    """A build folder as `valgen build` leaves it: the signed binder, its events, manifest and an HTML site."""
    folder = tmp_path / "build"
    folder.mkdir()
    for path in signed_binder.parent.glob("binder*"):
        shutil.copy(path, folder / path.name)
    (folder / "manifest.json").write_text('{"binder": "VG-BINDER"}\n')
    (folder / "html").mkdir()
    (folder / "html" / "index.html").write_text("<html><body>binder</body></html>\n")
    (folder / "runs" / "R-1").mkdir(parents=True)
    (folder / "runs" / "R-1" / "run.json").write_text('{"run": "R-1"}\n')
    return folder / "binder.pdf"


def test_publish_and_verify_from_s3(client: RecordsClient, signed_binder: Path, tmp_path: Path,
                                    signatories: Signatories, demo_keys: DemoKeys) -> None:
    binder = _build_dir(signed_binder, tmp_path)
    result = publish_binder(client, binder, signatories, package="signed/vg-binder-a", signer_id="demo-qa",
                            key_file=demo_keys.keys["demo-qa"], source=env_source(demo_keys.passphrases["demo-qa"]),
                            lockout=Lockout(tmp_path / "state"))
    assert result.revision == 1
    assert result.files == ("README.md", "binder.pdf", "html.zip", "manifest.json", "runs/R-1/run.json",
                            "signatories/revocations.yaml", "signatories/signatories.yaml",
                            "signatures/sig-1-authored.event.json", "signatures/sig-2-reviewed.event.json",
                            "signatures/sig-3-approved.event.json")
    assert result.record_event_key is not None and result.record_event_key.startswith(
        f"signatures/signed/vg-binder-a/{result.top_hash}/")
    _rev, manifest = client.browse("signed/vg-binder-a", 1)
    assert manifest.workflow["id"] == "signed-record"
    assert manifest.user_meta["document_sha256"] == hashlib.sha256(binder.read_bytes()).hexdigest()
    report = verify_published(client, "signed/vg-binder-a", None, signatories, None)
    assert report.ok, (report.rehash_problems, report.problems, report.binder and report.binder.all_problems())
    assert [s.signer for s in report.binder.signatures] == ["demo-author", "demo-reviewer", "demo-qa"]  # type: ignore[union-attr]
    assert len(report.record_events) == 1
    assert report.record_events[0].startswith("record signature: Quinn Approver (demo-qa), meaning approved, ")
    assert "lock COMPLIANCE" in report.record_events[0]


def test_a_record_signature_off_the_service_clock_fails_remote_verify(
        client: RecordsClient, signed_binder: Path, tmp_path: Path, signatories: Signatories,
        demo_keys: DemoKeys) -> None:
    """FS-029: the record signature claims a time 20 minutes before S3 stored it (a signing host whose clock is
    off); remote verification flags it, so the published binder does not verify."""
    from datetime import UTC, datetime, timedelta

    binder = _build_dir(signed_binder, tmp_path)
    publish_binder(client, binder, signatories, package="signed/vg-binder-skew", signer_id="demo-qa",
                   key_file=demo_keys.keys["demo-qa"], source=env_source(demo_keys.passphrases["demo-qa"]),
                   lockout=Lockout(tmp_path / "state"), now=datetime.now(UTC) - timedelta(minutes=20))
    report = verify_published(client, "signed/vg-binder-skew", None, signatories, None)
    assert not report.ok
    # stated 20 minutes before signing; S3 stores it a moment later (seconds precision)
    assert [p for p in report.problems if "more than 300 s (FS-029)" in p and re.search(r"is 120\d s from", p)], \
        report.problems


def test_a_binder_that_does_not_verify_is_not_published(client: RecordsClient, signed_binder: Path, tmp_path: Path,
                                                         signatories: Signatories) -> None:
    binder = _build_dir(signed_binder, tmp_path)
    change_page_content(binder)
    with pytest.raises(SigningRefused, match=r"binder\.pdf does not verify, so it is not published"):
        publish_binder(client, binder, signatories, package="signed/vg-binder-b")
    assert "signed/vg-binder-b" not in client.packages()


def test_remote_verify_names_what_changed_in_s3(server: MotoServer, signed_binder: Path, tmp_path: Path,
                                                 signatories: Signatories) -> None:
    """Only a deliberately unlocked, unversioned bucket lets bytes change under the manifest: a flipped byte in
    the stored binder is named by the re-hash and by the signature check."""
    from .tamper import flip_content_byte

    profile = load_profile(REPO / "qualification" / "targets" / "moto.yaml")
    unlocked = deploy_moto(server, profile, Deployment(workflows_dir=REPO / "specs" / "workflows").unlocked(),
                           suffix="unlocked")
    client = RecordsClient(unlocked)
    binder = _build_dir(signed_binder, tmp_path)
    publish_binder(client, binder, signatories, package="signed/vg-binder-c")
    _rev, manifest = client.browse("signed/vg-binder-c")
    entry = next(e for e in manifest.entries if e.logical_key == "binder.pdf")
    flip_content_byte(binder)
    unlocked.deployer_client("s3").put_object(Bucket=entry.bucket, Key=entry.key, Body=binder.read_bytes())
    report = verify_published(client, "signed/vg-binder-c", None, signatories, None)
    assert not report.ok
    assert any(p.startswith("binder.pdf (s3://") and "content changed" in p for p in report.rehash_problems)
    assert report.binder is not None
    assert all(any(p.startswith("NOT INTACT") for p in s.problems) for s in report.binder.signatures)
    assert "binder.pdf does not match the package metadata's document_sha256" in report.problems


def test_a_revocation_before_registration_makes_an_earlier_claimed_time_unconfirmed(
        client: RecordsClient, tmp_path: Path, sign: SignFn, demo_keys: DemoKeys) -> None:
    from datetime import UTC, datetime

    from generator.esign.fixture import build_test_binder

    binder = build_test_binder(tmp_path / "binder.pdf")
    sign(binder, "demo-author", "authored", now=datetime(2026, 11, 1, 8, 0, tzinfo=UTC))
    people = revoked_people(tmp_path / "people", demo_keys, "2026-11-02T00:00:00Z", "left the company")
    assert verify_binder(binder, people, None).ok  # offline, the claimed time predates the revocation
    publish_binder(client, binder, people, package="signed/vg-binder-d")
    report = verify_published(client, "signed/vg-binder-d", None, people, None)
    assert not report.ok
    assert report.problems[0].startswith(
        "sig-1-authored by 'demo-author' claims 2026-11-01T08:00:00Z, before the revocation at 2026-11-02T00:00:00Z, "
        "but the binder was registered only at ")


def test_document_title_is_read_from_an_indirect_info_dictionary(tmp_path: Path) -> None:
    """A binder written by pikepdf (as `valgen build` does) holds /Info as an indirect object."""
    import io

    import pikepdf

    from generator.esign.publish import _document_info

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Title"] = "VG-BINDER Validation Binder"
    buffer = io.BytesIO()
    pdf.save(buffer)
    assert _document_info(buffer.getvalue())[2] == "VG-BINDER Validation Binder"


def test_binder_signature_events_are_stored_object_locked_in_the_compliance_bucket(
        client: RecordsClient, signed_binder: Path) -> None:
    """`valgen sign --target T`: each event goes under signatures/binders/, keyed by the revision signed."""
    import json

    from generator.esign.verify import read_events

    events = read_events(signed_binder)
    assert len(events) == 3
    for field, event in events.items():
        stored = client.write_binder_event(event)
        digest = str(event["revision_signed_sha256"]).removeprefix("sha256:")
        assert stored.key == f"signatures/binders/{event['binder']}/{digest}/{field}.json"
        assert stored.lock_mode == "COMPLIANCE" and stored.retain_until
        assert stored.body == json.loads(json.dumps(event))
        assert stored.writer_arn and "signer" in stored.writer_arn


def test_an_incomplete_binder_event_is_refused(client: RecordsClient) -> None:
    from generator.errors import ValgenError

    with pytest.raises(ValgenError, match="lacks revision_signed_sha256"):
        client.write_binder_event({"binder": "b.pdf", "field": "sig-1-authored", "signer": "demo-author",
                                   "meaning": "authored", "time": "2026-11-28T06:00:00Z"})
