"""Approving content documents: rules, the detached signature, the minimal YAML edit, verify_approval."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.cli import main
from generator.esign.approve import (
    approve_document,
    document_approval_problems,
    insert_approval,
    valid_approvals,
    verify_approval,
)
from generator.esign.identity import Lockout, SigningRefused
from generator.esign.keys import DemoKeys
from generator.esign.signatories import Signatories
from generator.load import load_file
from generator.model import fingerprint

from .conftest import env_source

DOC = """\
# yaml-language-server: $schema=../schemas/oq.schema.json
document:
  id: VG-OQ            # the OQ protocol
  kind: oq
  title: Operational Qualification
  version: "1.0"
  owner: Validation
  status: in-review
  approvals: []        # written by `valgen approve`
items:
  # a comment that must survive
  - id: OQ-001
    title: Locked versions cannot be deleted
    objective: A COMPLIANCE-locked version cannot be deleted.
    polarity: negative
    steps:
      - {step: 1, action: delete the locked version, expected: access denied}
    acceptance: The deletion is denied.
    verifies: [FS-001]
"""


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "oq.yaml"
    path.write_text(DOC)
    return path


def _approve(path: Path, signer: str, meaning: str, demo_keys: DemoKeys, people: Signatories, tmp_path: Path,
             now: datetime | None = None) -> dict[str, str]:
    return approve_document(path, people, signer, meaning, key_file=demo_keys.keys[signer],
                            source=env_source(demo_keys.passphrases[signer]), lockout=Lockout(tmp_path / "state"),
                            now=now)


def test_review_then_approve_writes_signed_approvals_and_keeps_the_text(
        document: Path, demo_keys: DemoKeys, signatories: Signatories, tmp_path: Path) -> None:
    before, _ = load_file(document)
    assert before is not None
    _approve(document, "demo-reviewer", "reviewed", demo_keys, signatories, tmp_path,
             now=datetime(2026, 11, 28, 8, 0, tzinfo=UTC))
    _approve(document, "demo-qa", "approved", demo_keys, signatories, tmp_path)
    text = document.read_text()
    # everything but the approvals block is byte-for-byte the same, comments included
    head, _, rest = text.partition("  approvals:")
    assert head == DOC.partition("  approvals:")[0]
    assert rest.startswith("           # written by `valgen approve`\n    - signer: \"demo-reviewer\"\n")
    assert text.endswith(DOC.partition("items:\n")[2])
    after, findings = load_file(document)
    assert after is not None and not findings
    assert fingerprint(after) == fingerprint(before)
    assert [(a.signer, a.meaning) for a in after.approvals] == [("demo-reviewer", "reviewed"), ("demo-qa", "approved")]
    assert after.approvals[0].time == "2026-11-28T08:00:00Z"
    assert all(verify_approval(a, signatories) is None for a in after.approvals)
    assert document_approval_problems(after, signatories) == []
    assert [a.signer for a in valid_approvals(after, signatories, "approved")] == ["demo-qa"]


def test_verify_approval_catches_edits_and_wrong_signers(document: Path, demo_keys: DemoKeys,
                                                         signatories: Signatories, tmp_path: Path) -> None:
    _approve(document, "demo-reviewer", "reviewed", demo_keys, signatories, tmp_path)
    doc, _ = load_file(document)
    assert doc is not None
    good = doc.approvals[0]
    edited = dataclasses.replace(good, meaning="approved")
    assert verify_approval(edited, signatories) == (
        "approval by 'demo-reviewer': meaning 'approved' is not allowed for this signer (allowed: reviewed)")
    moved = dataclasses.replace(good, time="2026-01-01T00:00:00Z")
    assert "the signature does not match the approval's fields" in (verify_approval(moved, signatories) or "")
    other_doc = dataclasses.replace(good, fingerprint="sha256:" + "1" * 64)
    assert "the signature does not match the approval's fields" in (verify_approval(other_doc, signatories) or "")
    unsigned = dataclasses.replace(good, signature=None)
    assert "carries no signature" in (verify_approval(unsigned, signatories) or "")
    stranger = dataclasses.replace(good, signer="mallory")
    assert verify_approval(stranger, signatories) == "approval by 'mallory': no such signer in signatories.yaml"


def test_a_changed_document_makes_its_approval_stale(document: Path, demo_keys: DemoKeys,
                                                     signatories: Signatories, tmp_path: Path) -> None:
    _approve(document, "demo-reviewer", "reviewed", demo_keys, signatories, tmp_path)
    document.write_text(document.read_text().replace("The deletion is denied.", "The deletion is denied (403)."))
    doc, _ = load_file(document)
    assert doc is not None
    assert valid_approvals(doc, signatories) == []
    [(_approval, problem)] = document_approval_problems(doc, signatories)
    assert problem.startswith("approval by 'demo-reviewer' (reviewed) is for another version of VG-OQ: it approved "
                              "sha256:")


def test_approval_rules(document: Path, demo_keys: DemoKeys, signatories: Signatories, tmp_path: Path) -> None:
    with pytest.raises(SigningRefused, match="has no valid 'reviewed' approval yet"):
        _approve(document, "demo-qa", "approved", demo_keys, signatories, tmp_path)
    with pytest.raises(SigningRefused, match=r"may not sign with meaning 'approved' \(allowed: reviewed\)"):
        _approve(document, "demo-reviewer", "approved", demo_keys, signatories, tmp_path)
    _approve(document, "demo-reviewer", "reviewed", demo_keys, signatories, tmp_path)
    with pytest.raises(SigningRefused, match="'demo-reviewer' already signed this version of VG-OQ as 'reviewed'"):
        _approve(document, "demo-reviewer", "reviewed", demo_keys, signatories, tmp_path)
    _approve(document, "demo-qa", "approved", demo_keys, signatories, tmp_path)


@pytest.mark.parametrize(("before", "after"), [
    ("  approvals: []\nitems: []\n", "  approvals:\n    - signer: \"a\"\nitems: []\n"),
    ("  approvals:\nitems: []\n", "  approvals:\n    - signer: \"a\"\nitems: []\n"),
    ("  approvals:\n    - signer: \"x\"\n      name: \"X\"\nitems: []\n",
     "  approvals:\n    - signer: \"x\"\n      name: \"X\"\n    - signer: \"a\"\nitems: []\n"),
    ("  approvals:\n  - signer: x\nitems: []\n", "  approvals:\n  - signer: x\n  - signer: \"a\"\nitems: []\n"),
    ("  status: draft\nitems: []\n", "  status: draft\n  approvals:\n    - signer: \"a\"\nitems: []\n"),
])
def test_insert_approval_is_a_minimal_edit(before: str, after: str) -> None:
    head = "document:\n  id: VG-X\n"
    assert insert_approval(head + before, {"signer": "a"}) == head + after


def test_cli_approve(document: Path, demo_keys: DemoKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VALGEN_SIGNING_PASSPHRASE", demo_keys.passphrases["demo-reviewer"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = main(["approve", str(document), "--signer", "demo-reviewer", "--meaning", "reviewed", "--keys",
                 str(demo_keys.directory), "--state", str(tmp_path / "s"), "--signatories",
                 str(demo_keys.signatories)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith(f"approved {document}: Riley Reviewer (demo-reviewer), meaning reviewed, ")
    assert main(["approve", str(tmp_path / "nope.yaml"), "--signer", "demo-qa", "--meaning", "approved",
                 "--keys", str(demo_keys.directory), "--signatories", str(demo_keys.signatories)]) == 2


def test_binder_counts_a_document_approved_by_a_valid_signature_of_its_current_version(
        document: Path, demo_keys: DemoKeys, other_keys: DemoKeys, signatories: Signatories, tmp_path: Path) -> None:
    """AC-01 and the deliverables: a draft whose QA approval of exactly this version holds counts as approved;
    without a verifier, with a verifier of other signers, or after the content changed, it does not."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "binder"))
    from binder_factory import make_model

    from generator.binder import build_binder
    from generator.esign.signatories import load_signatories
    from generator.model import Criterion, Model

    _approve(document, "demo-reviewer", "reviewed", demo_keys, signatories, tmp_path)
    _approve(document, "demo-qa", "approved", demo_keys, signatories, tmp_path)
    signed, _ = load_file(document)
    assert signed is not None and signed.status == "in-review"

    def binder_with(doc: object, check: object):  # type: ignore[no-untyped-def]
        base = make_model(approved=False)
        docs = []
        for d in base.documents:
            if d.id == "VG-OQ":
                d = doc  # type: ignore[assignment]
            elif d.criteria:  # the plan: add the documents-approved criterion (AC-01 of the real plan)
                extra = Criterion(id="AC-09", text="Every document is approved.", measure="documents_approved",
                                  stages=(), level=None, source=d.criteria[0].source)
                d = dataclasses.replace(d, criteria=(*d.criteria, extra))
            docs.append(d)
        return build_binder(Model.of(docs), (), approval_check=check)  # type: ignore[arg-type]

    def oq_state(binder) -> tuple[bool, str, str]:  # type: ignore[no-untyped-def]
        deliverable = next(d for d in binder.vsr.deliverables if d.reference.startswith("VG-OQ "))
        ac01 = next(c for c in binder.vsr.criteria if c.measure == "documents_approved")
        return deliverable.done, deliverable.state, ac01.detail

    ours = lambda a: verify_approval(a, signatories)  # noqa: E731
    done, state, detail = oq_state(binder_with(signed, ours))
    assert done and state.startswith("approved by signature: ") and "VG-OQ" not in detail

    done, state, detail = oq_state(binder_with(signed, None))
    assert not done and state == "in-review" and "VG-OQ (in-review)" in detail

    others = load_signatories(other_keys.signatories)
    done, _, detail = oq_state(binder_with(signed, lambda a: verify_approval(a, others)))
    assert not done and "VG-OQ (in-review)" in detail

    changed = dataclasses.replace(signed, title=signed.title + " (edited)")
    assert fingerprint(changed) != fingerprint(signed)
    done, _, detail = oq_state(binder_with(changed, ours))
    assert not done and "VG-OQ (in-review)" in detail
