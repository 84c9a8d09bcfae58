"""Offline verification: a good binder passes; every tamper case is caught with a precise message."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from generator.cli import main
from generator.esign.fixture import build_test_binder
from generator.esign.identity import Lockout, SigningRefused, unlock_credential
from generator.esign.keys import DemoKeys
from generator.esign.sign import _pades_sign
from generator.esign.signatories import Signatories, load_signatories
from generator.esign.verify import BinderReport, verify_binder, verify_bytes

from .conftest import ORDER, SignFn, env_source, revoked_people
from .tamper import (
    change_form_field,
    change_page_content,
    copy_signature,
    flip_content_byte,
    replace_attachment,
)


def problems(report: BinderReport) -> str:
    return "\n".join(report.all_problems())


def test_signed_binder_verifies(signed_copy: Path, signatories: Signatories) -> None:
    report = verify_binder(signed_copy, signatories, None)
    assert report.ok, problems(report)
    assert [(s.field, s.signer, s.meaning) for s in report.signatures] == [
        ("sig-1-authored", "demo-author", "authored"), ("sig-2-reviewed", "demo-reviewer", "reviewed"),
        ("sig-3-approved", "demo-qa", "approved")]
    assert all(s.time is not None and s.time.endswith("Z") for s in report.signatures)


def test_cli_verify_prints_who_meaning_when_and_exits_0(signed_copy: Path, demo_keys: DemoKeys,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", str(signed_copy), "--trust", str(demo_keys.ca_pem),
                 "--signatories", str(demo_keys.signatories)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[OK ] sig-2-reviewed: Riley Reviewer (demo-reviewer), meaning reviewed, 20" in out
    assert " UTC" in out and out.rstrip().endswith("every attachment matches the manifest")


def test_byte_flipped(signed_copy: Path, signatories: Signatories, demo_keys: DemoKeys,
                      capsys: pytest.CaptureFixture[str]) -> None:
    flip_content_byte(signed_copy)
    report = verify_binder(signed_copy, signatories, None)
    assert not report.ok
    assert len(report.signatures) == 3
    for sig in report.signatures:
        assert any(p.startswith("NOT INTACT: the bytes it covers do not match the digest it signed") for p in sig.problems)
    assert main(["verify", str(signed_copy), "--signatories", str(demo_keys.signatories)]) == 1
    assert "NOT VERIFIED" in capsys.readouterr().out


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated(signed_copy: Path, signatories: Signatories, keep: float) -> None:
    data = signed_copy.read_bytes()
    signed_copy.write_bytes(data[: int(len(data) * keep)])
    report = verify_binder(signed_copy, signatories, None)
    assert not report.ok
    assert problems(report).startswith("the file is truncated: it does not end with the PDF end-of-file marker")


def test_update_after_last_signature_changing_page_content(signed_copy: Path, signatories: Signatories) -> None:
    change_page_content(signed_copy)
    text = problems(verify_binder(signed_copy, signatories, None))
    assert "unsigned incremental update (revision 5) after the last signature changed: page 1, page 1 content, " in text


def test_update_after_last_signature_changing_an_attachment(signed_copy: Path, signatories: Signatories) -> None:
    replace_attachment(signed_copy, "run-record.json", b'{"run": "demo", "passed": 99}\n')
    text = problems(verify_binder(signed_copy, signatories, None))
    assert "unsigned incremental update (revision 5) after the last signature changed: attachment run-record.json, " \
        in text
    assert "attachment run-record.json was altered or swapped: its SHA-256 is" in text


def test_update_after_last_signature_changing_a_form_field(signed_copy: Path, signatories: Signatories) -> None:
    change_form_field(signed_copy, "sig-3-approved")
    text = problems(verify_binder(signed_copy, signatories, None))
    assert "unsigned incremental update (revision 5) after the last signature changed: form field sig-3-approved" \
        in text


def _sign_unchecked(binder: Path, demo_keys: DemoKeys, signatories: Signatories, tmp_path: Path,
                    steps: tuple[tuple[tuple[str, str], str], ...] = ((ORDER[0], "sig-1-authored"),)) -> None:
    """Sign with pyHanko through our signing code but without `valgen sign`'s refusals (a careless tool)."""
    data = binder.read_bytes()
    moment = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    for (signer, meaning), field in steps:
        person = signatories.signer(signer)
        assert person is not None
        credential = unlock_credential(person, demo_keys.keys[signer], env_source(demo_keys.passphrases[signer]),
                                       Lockout(tmp_path / "state"), moment)
        data = _pades_sign(data, credential, field, meaning, moment)
        moment += timedelta(minutes=5)
    binder.write_bytes(data)


def test_attachment_swapped(tmp_path: Path, sign: SignFn, signatories: Signatories, demo_keys: DemoKeys) -> None:
    """The manifests list one run record; the binder carries another (swapped before signing)."""
    real = {"runs/R-1/run.json": b'{"run": "R-1", "failed": 2}\n'}
    binder = build_test_binder(tmp_path / "b.pdf", attachments={"runs/R-1/run.json": b'{"run": "R-1", "failed": 0}\n'},
                               listed=real)
    with pytest.raises(SigningRefused, match=r"b\.pdf does not verify, so it cannot be signed:\n  attachment "
                                             r"runs/R-1/run\.json was altered or swapped"):
        sign(binder, "demo-author", "authored")
    _sign_unchecked(binder, demo_keys, signatories, tmp_path)
    report = verify_binder(binder, signatories, None)
    assert report.signatures[0].problems == []
    digest = hashlib.sha256(real["runs/R-1/run.json"]).hexdigest()
    assert report.problems[0].startswith("attachment runs/R-1/run.json was altered or swapped: its SHA-256 is ")
    assert report.problems[0].endswith(f", SHA256SUMS says {digest}")
    assert report.problems[1].endswith(f", manifest.json says {digest}")


def test_attachment_removed_or_added(tmp_path: Path, signatories: Signatories, demo_keys: DemoKeys) -> None:
    listed = {"runs/R-1/run.json": b"{}", "runs/R-1/junit.xml": b"<testsuite/>"}
    binder = build_test_binder(tmp_path / "b.pdf", attachments={"runs/R-1/run.json": b"{}", "extra.txt": b"x"},
                               listed=listed)
    _sign_unchecked(binder, demo_keys, signatories, tmp_path)
    text = problems(verify_binder(binder, signatories, None))
    assert "attachment extra.txt is not listed in the embedded SHA256SUMS" in text
    assert "attachment runs/R-1/junit.xml listed in SHA256SUMS is missing" in text


def test_signature_copied_from_another_binder(tmp_path: Path, sign: SignFn, signatories: Signatories) -> None:
    one = build_test_binder(tmp_path / "one.pdf", title="VG-BINDER one")
    two = build_test_binder(tmp_path / "two.pdf", title="VG-BINDER two")
    sign(one, "demo-author", "authored", now=datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    sign(two, "demo-author", "authored", now=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    copy_signature(one, two)
    report = verify_binder(two, signatories, None)
    text = problems(report)
    assert "NOT INTACT: this is not the signature made on this binder — it signs sha256:" in text
    assert ": it was copied from another document or replaced" in text
    # Without the signature events (the PDF alone) the message still names both causes.
    alone = problems(verify_bytes(two.read_bytes(), "two.pdf", signatories, None))
    assert alone.endswith("NOT INTACT: the bytes it covers do not match the digest it signed — the document was "
                          "altered after signing, or the signature was copied from another document")


def test_signer_revoked_before_signing(tmp_path: Path, sign: SignFn, demo_keys: DemoKeys) -> None:
    binder = build_test_binder(tmp_path / "b.pdf")
    signed_at = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    sign(binder, "demo-author", "authored", now=signed_at)
    folder = tmp_path / "people"
    report = verify_binder(binder, revoked_people(folder, demo_keys, "2026-11-09T00:00:00Z", "token reported lost"), None)
    assert ("signer 'demo-author' was revoked at 2026-11-09T00:00:00Z (token reported lost), before this signature "
            "at 2026-11-10T12:00:00Z") in problems(report)
    # revoked after signing: the signature made before stays valid
    later = revoked_people(folder, demo_keys, "2026-11-11T00:00:00Z", "left the company")
    assert verify_binder(binder, later, None).signatures[0].problems == []


def test_certificate_outside_the_trust_root(tmp_path: Path, sign: SignFn, other_keys: DemoKeys,
                                            signatories: Signatories) -> None:
    other = load_signatories(other_keys.signatories)
    binder = build_test_binder(tmp_path / "b.pdf")
    sign(binder, "demo-author", "authored", people=other, keys=other_keys)
    report = verify_binder(binder, other, signatories.trust_root)
    assert report.signatures[0].problems == [
        "the signer's certificate does not chain to the trust root "
        "O=valgen demo,OU=DEMO — NOT FOR GxP USE,CN=valgen Demo CA (DEMO — NOT FOR GxP USE)"]


def test_wrong_order(tmp_path: Path, demo_keys: DemoKeys, signatories: Signatories) -> None:
    """Signatures made out of order (bypassing `valgen sign`'s refusal) are reported by verify."""
    binder = build_test_binder(tmp_path / "b.pdf")
    _sign_unchecked(binder, demo_keys, signatories, tmp_path, ((ORDER[1], "sig-2-reviewed"), (ORDER[0], "sig-1-authored")))
    text = problems(verify_binder(binder, signatories, None))
    assert ("signatures are in the wrong order: signed as sig-2-reviewed, sig-1-authored; each field must be signed "
            "after the one before it") in text
    assert "'authored' (sig-1-authored) was signed after 'reviewed' (sig-2-reviewed)" in text


def test_unsigned_binder_is_not_verified(tmp_path: Path, signatories: Signatories) -> None:
    binder = build_test_binder(tmp_path / "b.pdf")
    assert problems(verify_binder(binder, signatories, None)) == "the binder carries no signature"


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) is not installed")
def test_pdfsig_accepts_a_valgen_signed_binder(signed_copy: Path) -> None:
    """An independent verifier (poppler, NSS) agrees; -nocert: the demo CA is not in NSS's trust store."""
    run = subprocess.run(["pdfsig", "-nocert", str(signed_copy)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("Signature Validation: Signature is Valid.") == 3
    assert "Signature Field Name: sig-3-approved" in run.stdout
    assert run.stdout.count("Signature Type: ETSI.CAdES.detached") == 3


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) is not installed")
def test_pdfsig_also_rejects_a_flipped_byte(signed_copy: Path) -> None:
    flip_content_byte(signed_copy)
    run = subprocess.run(["pdfsig", "-nocert", str(signed_copy)], capture_output=True, text=True, timeout=60)
    assert "Signature is Valid." not in run.stdout


def test_a_signature_whose_revision_also_changes_content(signed_binder: Path, tmp_path: Path, sign: SignFn,
                                                         signatories: Signatories, demo_keys: DemoKeys) -> None:
    """A trusted signer's tool slips a page change into the revision it signs: the difference analysis names it."""
    from .tamper import sign_with_extra_change

    binder = build_test_binder(tmp_path / "b.pdf")
    sign(binder, "demo-author", "authored")
    sign_with_extra_change(binder, demo_keys.keys["demo-reviewer"], demo_keys.passphrases["demo-reviewer"],
                           "sig-2-reviewed", "reviewed")
    report = verify_binder(binder, signatories, None)
    assert report.signatures[0].problems == []
    assert report.signatures[1].problems == [
        "its revision also changed what it does not sign for: page 1 (/Contents)"]


def test_not_a_pdf(tmp_path: Path, signatories: Signatories) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"hello")
    assert problems(verify_binder(path, signatories, None)) == (
        "not a PDF file: it does not start with a %PDF- header (5 bytes)")


def test_cli_output_for_a_binder_changed_after_signing(tmp_path: Path, sign: SignFn, demo_keys: DemoKeys,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The whole report an inspector reads, exactly, with exit 1."""
    binder = build_test_binder(tmp_path / "binder.pdf")
    sign(binder, "demo-author", "authored", now=datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    sign(binder, "demo-reviewer", "reviewed", now=datetime(2026, 11, 28, 9, 5, tzinfo=UTC))
    change_page_content(binder)
    monkeypatch.chdir(tmp_path)
    code = main(["verify", "binder.pdf", "--trust", str(demo_keys.ca_pem), "--signatories",
                 str(demo_keys.signatories)])
    from generator.esign.signatories import cert_fingerprint

    ca = load_signatories(demo_keys.signatories).trust_root
    assert ca is not None

    assert capsys.readouterr().out == (
        "binder.pdf: trust root O=valgen demo,OU=DEMO — NOT FOR GxP USE,CN=valgen Demo CA (DEMO — NOT FOR GxP USE) "
        f"({cert_fingerprint(ca)})\n"
        "  [BAD] sig-1-authored: Alex Author (demo-author), meaning authored, 2026-11-28 09:00:00 UTC\n"
        "        the document was changed after this signature by an unsigned incremental update (revision 4)\n"
        "  [BAD] sig-2-reviewed: Riley Reviewer (demo-reviewer), meaning reviewed, 2026-11-28 09:05:00 UTC\n"
        "        the document was changed after this signature by an unsigned incremental update (revision 4)\n"
        "  [BAD] unsigned incremental update (revision 4) after the last signature changed: page 1, page 1 content, "
        "the document catalog, the XMP metadata\n"
        "NOT VERIFIED: 3 problem(s)\n")
    assert code == 1
