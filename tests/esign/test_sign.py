"""Signing a binder: the refusal rules, identity (two components, lockout), the event, the appearance."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import ValgenError
from generator.esign.binderfile import signature_fields
from generator.esign.fixture import build_test_binder
from generator.esign.identity import LOCK_ATTEMPTS, SigningRefused
from generator.esign.keys import DemoKeys
from generator.esign.sign import event_path
from generator.esign.signatories import Signatories, load_signatories

from .conftest import SignFn, revoked_people


@pytest.fixture
def binder(tmp_path: Path) -> Path:
    return build_test_binder(tmp_path / "binder.pdf", pages=2)


def test_sign_writes_the_next_field_and_an_event(binder: Path, sign: SignFn) -> None:
    import hashlib

    before = binder.read_bytes()
    moment = datetime(2026, 11, 28, 9, 30, 15, tzinfo=UTC)
    result = sign(binder, "demo-author", "authored", now=moment)
    after = binder.read_bytes()
    assert after.startswith(before), "the signature is an incremental update: earlier bytes are kept"
    assert result.field == "sig-1-authored"
    event = json.loads(event_path(binder, "sig-1-authored").read_text())
    assert event["signer"] == "demo-author" and event["name"] == "Alex Author" and event["meaning"] == "authored"
    assert event["time"] == "2026-11-28T09:30:15Z"
    assert event["revision_signed_sha256"] == "sha256:" + hashlib.sha256(before).hexdigest()
    assert event["signed_binder_sha256"] == "sha256:" + hashlib.sha256(after).hexdigest()
    assert event["identity_components"] == ["signer ID", "PKCS#12 passphrase (environment variable "
                                            "VALGEN_SIGNING_PASSPHRASE (unattended run))"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", event["certificate"])
    from pyhanko.pdf_utils.reader import PdfFileReader

    with binder.open("rb") as handle:
        reader = PdfFileReader(handle)
        sig = reader.embedded_regular_signatures[0]
        assert str(sig.sig_object["/Reason"]) == "authored"
        assert str(sig.sig_object["/Name"]) == "Alex Author"
        assert str(sig.sig_object["/SubFilter"]) == "/ETSI.CAdES.detached"
        assert [f.signed for f in signature_fields(reader)] == [True, False, False]
        # the visible appearance: printed name, meaning, UTC time, with an embedded (subset) TrueType font
        widget = sig.sig_field
        assert _has_key(widget["/AP"]["/N"], "/FontFile2", set()), "the appearance embeds its TrueType font"
        assert widget["/Rect"][2] > widget["/Rect"][0]


def _has_key(obj: object, key: str, seen: set[int]) -> bool:
    """Search a PDF object graph (dicts, arrays, streams) for a dictionary key."""
    from pyhanko.pdf_utils import generic

    if isinstance(obj, generic.IndirectObject):
        if obj.idnum in seen:
            return False
        seen.add(obj.idnum)
        obj = obj.get_object()
    if isinstance(obj, dict):
        if key in obj:
            return True
        return any(_has_key(obj.raw_get(k), key, seen) for k in obj if k not in ("/Parent", "/P"))
    if isinstance(obj, list):
        return any(_has_key(v, key, seen) for v in obj)
    return False


def test_appearance_text_shows_name_meaning_and_utc(binder: Path, sign: SignFn) -> None:
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    sign(binder, "demo-author", "authored", now=datetime(2026, 11, 28, 9, 30, 15, tzinfo=UTC))
    text = subprocess.run(["pdftotext", "-l", "3", "-f", "3", str(binder), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Alex Author" in text
    assert "Authored: I am the author of this document" in text
    assert "Signed 2026-11-28 09:30:15 UTC" in text


def test_full_order_then_no_field_left(binder: Path, sign: SignFn) -> None:
    sign(binder, "demo-author", "authored")
    sign(binder, "demo-reviewer", "reviewed")
    sign(binder, "demo-qa", "approved")
    with pytest.raises(SigningRefused, match=r"every signature field of .* is already signed"):
        sign(binder, "demo-qa", "approved")


def test_unknown_signer_is_refused(binder: Path, sign: SignFn, signatories: Signatories,
                                   demo_keys: DemoKeys) -> None:
    from generator.esign.sign import plan_binder_signature

    with pytest.raises(SigningRefused, match=r"unknown signer 'mallory' \(the signatories file .* lists: "
                                             r"demo-author, demo-reviewer, demo-qa\)"):
        plan_binder_signature(binder, signatories, "mallory", "authored", datetime.now(UTC))


def test_meaning_not_allowed_is_refused(binder: Path, sign: SignFn) -> None:
    with pytest.raises(SigningRefused, match=r"signer 'demo-reviewer' may not sign with meaning 'authored' "
                                             r"\(allowed: reviewed\)"):
        sign(binder, "demo-reviewer", "authored")


def test_out_of_order_is_refused(binder: Path, sign: SignFn) -> None:
    with pytest.raises(SigningRefused, match=r"out of order: the next signature of binder.pdf is 'authored' "
                                             r"\(field sig-1-authored\), not 'reviewed'"):
        sign(binder, "demo-reviewer", "reviewed")
    sign(binder, "demo-author", "authored")
    with pytest.raises(SigningRefused, match=r"out of order: the next signature of binder.pdf is 'reviewed'"):
        sign(binder, "demo-qa", "approved")


def test_approver_who_is_the_author_is_refused(tmp_path: Path, sign: SignFn, demo_keys: DemoKeys) -> None:
    """A signatories file where one person may author and approve: segregation of duties still refuses."""
    text = demo_keys.signatories.read_text().replace("meanings: [reviewed, approved, released]",
                                                     "meanings: [authored, reviewed, approved, released]")
    folder = tmp_path / "people"
    folder.mkdir()
    (folder / "signatories.yaml").write_text(text)
    people = load_signatories(folder / "signatories.yaml")
    binder = build_test_binder(tmp_path / "b.pdf")
    sign(binder, "demo-qa", "authored", people=people)
    sign(binder, "demo-reviewer", "reviewed", people=people)
    with pytest.raises(SigningRefused, match=r"'demo-qa' authored b.pdf \(sig-1-authored\) and cannot also sign it "
                                             r"as 'approved': segregation of duties"):
        sign(binder, "demo-qa", "approved", people=people)


def test_releasing_a_binder_whose_vsr_does_not_conclude_release_is_refused(tmp_path: Path, sign: SignFn) -> None:
    binder = build_test_binder(tmp_path / "b.pdf", release=False)
    sign(binder, "demo-author", "authored")
    sign(binder, "demo-reviewer", "reviewed")
    with pytest.raises(SigningRefused, match=r"the Validation Summary Report of b\.pdf does not conclude release"):
        sign(binder, "demo-qa", "released")


def test_the_report_of_a_binder_not_concluding_release_can_be_approved_as_it_stands(tmp_path: Path,
                                                                                    sign: SignFn) -> None:
    binder = build_test_binder(tmp_path / "b.pdf", release=False)
    sign(binder, "demo-author", "authored")
    sign(binder, "demo-reviewer", "reviewed")
    sign(binder, "demo-qa", "approved")  # approves the report and its conclusion (not released); no release


def test_a_binder_concluding_release_can_be_released_in_the_approvers_field(tmp_path: Path, sign: SignFn) -> None:
    binder = build_test_binder(tmp_path / "b.pdf", release=True)
    sign(binder, "demo-author", "authored")
    sign(binder, "demo-reviewer", "reviewed")
    sign(binder, "demo-qa", "released")


def test_revoked_signer_is_refused(tmp_path: Path, sign: SignFn, demo_keys: DemoKeys, binder: Path) -> None:
    people = revoked_people(tmp_path / "people", demo_keys, "2026-01-02T00:00:00Z", "token reported lost")
    with pytest.raises(SigningRefused, match=r"signer 'demo-author' was revoked at 2026-01-02T00:00:00Z "
                                             r"\(token reported lost\); revoked credentials cannot sign"):
        sign(binder, "demo-author", "authored", people=people)


def test_retired_signer_is_refused_and_earlier_signatures_stay_valid(tmp_path: Path, sign: SignFn,
                                                                       demo_keys: DemoKeys, binder: Path) -> None:
    """FS-033: a holder who left keeps the ID with status retired; the ID cannot sign, and what it signed
    before stays attributable and valid."""
    from generator.esign.signatories import load_signatories
    from generator.esign.verify import verify_binder

    sign(binder, "demo-author", "authored")
    folder = tmp_path / "people"
    folder.mkdir()
    text = demo_keys.signatories.read_text()
    start = text.index("- id: demo-author")
    text = text[:start] + text[start:].replace("status: active", "status: retired", 1)
    (folder / "signatories.yaml").write_text(text)
    people = load_signatories(folder / "signatories.yaml")
    assert people.signer("demo-author").status == "retired"  # type: ignore[union-attr]
    assert people.signer("demo-reviewer").status == "active"  # type: ignore[union-attr]
    with pytest.raises(SigningRefused, match=r"signer 'demo-author' \(Alex Author\) is retired: .* cannot sign "
                                             r"\(FS-033\)") as info:
        sign(binder, "demo-author", "authored", people=people)
    assert info.value.where is not None and info.value.where.startswith(str(folder / "signatories.yaml") + ":")
    report = verify_binder(binder, people, None)
    assert [s.signer for s in report.signatures] == ["demo-author"] and report.ok, report.all_problems()
    sign(binder, "demo-reviewer", "reviewed", people=people)  # the other signers are not affected


@pytest.mark.parametrize(("moment", "state"), [("2025-12-31T23:59:59Z", "is not valid before 2026-01-01T00:00:00Z"),
                                             ("2036-01-01T00:00:01Z", "expired at 2036-01-01T00:00:00Z")])
def test_certificate_outside_its_validity_cannot_sign(sign: SignFn, binder: Path, moment: str, state: str) -> None:
    """FS-034: the demo certificates are valid 2026-01-01 to 2036-01-01; signing outside that is refused."""
    from generator.esign.signatories import parse_time

    with pytest.raises(SigningRefused, match=rf"signer 'demo-author': the certificate sha256:[0-9a-f]{{64}} {state}; "
                                             rf"it cannot sign at {moment} \(FS-034\)"):
        sign(binder, "demo-author", "authored", now=parse_time(moment))


def test_key_of_another_person_is_refused(binder: Path, sign: SignFn, demo_keys: DemoKeys,
                                          signatories: Signatories, tmp_path: Path) -> None:
    from generator.esign.identity import Lockout
    from generator.esign.sign import sign_binder

    from .conftest import env_source

    with pytest.raises(SigningRefused, match=r"the certificate in .*demo-reviewer.p12 .* is not the one registered "
                                             r"for 'demo-author'"):
        sign_binder(binder, signatories, "demo-author", "authored", key_file=demo_keys.keys["demo-reviewer"],
                    source=env_source(demo_keys.passphrases["demo-reviewer"]), lockout=Lockout(tmp_path / "s"))


def test_three_wrong_passphrases_lock_the_signer(binder: Path, sign: SignFn, tmp_path: Path) -> None:
    """21 CFR 11.300(d): three in a row lock the signer; the lock holds even with the right passphrase."""
    start = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    for attempt in range(1, LOCK_ATTEMPTS):
        with pytest.raises(SigningRefused, match=rf"wrong passphrase for 'demo-author' \({LOCK_ATTEMPTS - attempt} "):
            sign(binder, "demo-author", "authored", passphrase="guess", now=start + timedelta(seconds=attempt))
    with pytest.raises(SigningRefused, match=r"3 in a row, the signer is now locked for 30 minutes"):
        sign(binder, "demo-author", "authored", passphrase="guess", now=start + timedelta(seconds=3))
    with pytest.raises(SigningRefused, match=r"signer 'demo-author' is locked until 2026-11-28T10:30:03Z"):
        sign(binder, "demo-author", "authored", now=start + timedelta(minutes=10))
    # other signers are not affected
    log = [json.loads(line) for line in (tmp_path / "state" / "identity-log.jsonl").read_text().splitlines()]
    assert [e["event"] for e in log] == ["wrong passphrase"] * 3 + ["locked", "refused while locked"]
    assert all(e["time"].endswith("Z") and e["signer"] == "demo-author" for e in log)
    # after the lock expires the right passphrase works, and the counter starts again
    sign(binder, "demo-author", "authored", now=start + timedelta(minutes=31))
    assert json.loads((tmp_path / "state" / "lockout.json").read_text()) == {}


def test_a_right_passphrase_resets_the_count(binder: Path, sign: SignFn, tmp_path: Path) -> None:
    for _ in range(2):
        with pytest.raises(SigningRefused):
            sign(binder, "demo-author", "authored", passphrase="guess")
    sign(binder, "demo-author", "authored")
    for _ in range(2):
        with pytest.raises(SigningRefused, match="attempt"):
            sign(binder, "demo-reviewer", "reviewed", passphrase="guess")
    sign(binder, "demo-reviewer", "reviewed")


def test_cli_sign_unattended_with_environment(binder: Path, demo_keys: DemoKeys, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VALGEN_SIGNING_PASSPHRASE", demo_keys.passphrases["demo-author"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    args = ["sign", str(binder), "--signer", "demo-author", "--meaning", "authored", "--keys",
            str(demo_keys.directory), "--state", str(tmp_path / "state"), "--signatories", str(demo_keys.signatories)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"signed {binder} field sig-1-authored: Alex Author (demo-author), meaning authored, ")
    event = json.loads(event_path(binder, "sig-1-authored").read_text())
    assert event["passphrase_source"] == "environment variable VALGEN_SIGNING_PASSPHRASE (unattended run)"
    monkeypatch.delenv("VALGEN_SIGNING_PASSPHRASE")
    args[3], args[5] = "demo-reviewer", "reviewed"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no passphrase for 'demo-reviewer': no terminal to ask on and VALGEN_SIGNING_PASSPHRASE is not set" in err


def test_cli_sign_refusal_exits_1_and_bad_path_exits_2(binder: Path, demo_keys: DemoKeys, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--keys", str(demo_keys.directory), "--signatories", str(demo_keys.signatories)]
    assert main(["sign", str(binder), "--signer", "demo-qa", "--meaning", "approved", *common]) == 1
    assert "out of order" in capsys.readouterr().err
    assert main(["sign", str(tmp_path / "missing.pdf"), "--signer", "demo-author", "--meaning", "authored",
                 *common]) == 2
    assert "cannot read" in capsys.readouterr().err
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_text("hello")
    with pytest.raises(ValgenError, match="is not a readable PDF"):
        from generator.esign.sign import plan_binder_signature

        plan_binder_signature(not_pdf, load_signatories(demo_keys.signatories), "demo-author", "authored",
                              datetime.now(UTC))


def test_a_binder_changed_after_signing_cannot_be_signed(binder: Path, sign: SignFn) -> None:
    from .tamper import change_page_content

    sign(binder, "demo-author", "authored")
    change_page_content(binder)
    with pytest.raises(SigningRefused, match=r"binder\.pdf does not verify, so it cannot be signed:\n  unsigned "
                                             r"incremental update \(revision 3\) after the last signature changed: "
                                             r"page 1"):
        sign(binder, "demo-reviewer", "reviewed")


def test_cli_sign_at_a_terminal_asks_with_getpass_and_ignores_the_environment(
        binder: Path, demo_keys: DemoKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """11.200(a): at a terminal the passphrase is typed (a wrong one may be retried); the variable is ignored."""
    answers = ["not it", demo_keys.passphrases["demo-author"]]
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setenv("VALGEN_SIGNING_PASSPHRASE", "ignored at a terminal")
    assert main(["sign", str(binder), "--signer", "demo-author", "--meaning", "authored", "--keys",
                 str(demo_keys.directory), "--state", str(tmp_path / "state"), "--signatories",
                 str(demo_keys.signatories)]) == 0, capsys.readouterr().err
    assert prompts == ["PKCS#12 passphrase for demo-author: "] * 2
    event = json.loads(event_path(binder, "sig-1-authored").read_text())
    assert event["passphrase_source"] == "terminal"
    assert event["identity_components"] == ["signer ID", "PKCS#12 passphrase (terminal)"]
    log = [json.loads(line)["event"] for line in (tmp_path / "state" / "identity-log.jsonl").read_text().splitlines()]
    assert log == ["wrong passphrase", "identity verified"]


def test_signing_keeps_information_dictionary_and_xmp_producer_equal(binder: Path, sign: SignFn) -> None:
    """PDF/A (ISO 19005-2 6.6.2.3): the document information must stay equivalent to the XMP metadata."""
    pikepdf = pytest.importorskip("pikepdf")
    with pikepdf.open(binder, allow_overwriting_input=True) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdf:Producer"] = "valgen (WeasyPrint, pikepdf)"
            meta["pdfaid:part"] = "3"
            meta["pdfaid:conformance"] = "B"
        pdf.docinfo["/Producer"] = "valgen (WeasyPrint, pikepdf)"
        pdf.save(binder)
    sign(binder, "demo-author", "authored")
    sign(binder, "demo-reviewer", "reviewed")
    with pikepdf.open(binder) as pdf, pdf.open_metadata() as meta:
        assert str(pdf.docinfo["/Producer"]) == meta["pdf:Producer"]
        assert meta["pdfaid:part"] == "3"
