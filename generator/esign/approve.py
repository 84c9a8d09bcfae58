"""Approving one version of a content document: the rules, the detached signature, and the YAML edit.

An approval (signer ID, printed name, meaning, UTC time, the document fingerprint,
and an ECDSA/RSA signature over those fields made with the signer's own key) is
appended to the document's `approvals:` list by a minimal text edit, so comments
and layout survive (21 CFR 11.50 manifestation; 11.70: the signature is linked to
exactly the content version it approves). `verify_approval` is what `valgen check`
calls for every approval it reads.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from generator.errors import ContentError, ValgenError
from generator.esign.identity import Lockout, PassphraseSource, PrivateKey, SigningRefused, unlock_credential
from generator.esign.sign import _refuse_signer
from generator.esign.signatories import MEANINGS, Signatories, Signer, format_time, now_utc, parse_time
from generator.model import Approval, Document, canonical_json, current_approvals, fingerprint

__all__ = ["APPROVAL_FORMAT", "approval_statement", "approval_verifier", "approve_document",
           "document_approval_problems", "insert_approval", "sign_statement", "valid_approvals", "verify_approval"]

APPROVAL_FORMAT = b"valgen-approval/1\n"


def approval_statement(signer: str, name: str, meaning: str, time: str, document_fingerprint: str) -> bytes:
    """The exact bytes an approval signature covers: a format tag and the canonical JSON of the fields."""
    return APPROVAL_FORMAT + canonical_json(
        {"signer": signer, "name": name, "meaning": meaning, "time": time, "fingerprint": document_fingerprint})


def sign_statement(key: PrivateKey, statement: bytes) -> str:
    """Detached signature (base64 DER ECDSA-SHA256, or RSA PKCS#1 v1.5 SHA-256) over `statement`."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        raw = key.sign(statement, ec.ECDSA(hashes.SHA256()))
    else:
        raw = key.sign(statement, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def verify_approval(approval: Approval, signatories: Signatories) -> str | None:
    """The problem with one approval's signature and signer, or None when it holds.

    Checks: a known signer whose printed name matches, allowed that meaning, not
    revoked at the approval time, and a signature by the signer's registered key
    over exactly (signer, name, meaning, time, fingerprint). Whether the fingerprint
    still matches the document is the caller's check (`document_approval_problems`).
    """
    signer = signatories.signer(approval.signer)
    if signer is None:
        return f"approval by '{approval.signer}': no such signer in {signatories.path.name}"
    if approval.name != signer.name:
        return f"approval by '{approval.signer}': printed name '{approval.name}' is not the registered '{signer.name}'"
    if approval.meaning not in signer.meanings:
        return (f"approval by '{approval.signer}': meaning '{approval.meaning}' is not allowed for this signer "
                f"(allowed: {', '.join(signer.meanings)})")
    try:
        moment = parse_time(approval.time)
    except ValueError as exc:
        return f"approval by '{approval.signer}': {exc}"
    revoked = signatories.revocation(signer, moment)
    if revoked is not None:
        return (f"approval by '{approval.signer}' at {approval.time}: the signer was revoked at "
                f"{format_time(revoked.revoked_at)} ({revoked.reason})")
    if not approval.signature:
        return f"approval by '{approval.signer}' carries no signature (approvals are written by `valgen approve`)"
    try:
        raw = base64.b64decode(approval.signature, validate=True)
    except ValueError:
        return f"approval by '{approval.signer}': the signature is not base64"
    statement = approval_statement(approval.signer, approval.name, approval.meaning, approval.time,
                                   approval.fingerprint)
    public = signer.certificate.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw, statement, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, statement, padding.PKCS1v15(), hashes.SHA256())
        else:
            return f"approval by '{approval.signer}': unsupported key type in the signer's certificate"
    except InvalidSignature:
        return (f"approval by '{approval.signer}' ({approval.meaning}, {approval.time}): the signature does not "
                "match the approval's fields (edited after signing, or not made with this signer's key)")
    return None


def approval_verifier(root: Path) -> Callable[[Approval], str | None]:
    """Verify approvals against the content's signatories (requirements/signatories.yaml next to or above
    `root`); without such a file every approval reports that it cannot be verified."""
    from generator.esign.signatories import load_signatories

    base = root if root.is_dir() else root.parent
    candidates = [base / "requirements" / "signatories.yaml", base / "signatories.yaml",
                  base.parent / "requirements" / "signatories.yaml"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        def no_signatories(approval: Approval) -> str:
            return f"approval by '{approval.signer}' cannot be verified: no requirements/signatories.yaml"
        return no_signatories
    signatories = load_signatories(path)
    return lambda approval: verify_approval(approval, signatories)


def document_approval_problems(document: Document, signatories: Signatories) -> list[tuple[Approval, str]]:
    """Every approval of `document` with its problem: bad signature/signer, or approved another version."""
    current = fingerprint(document)
    problems: list[tuple[Approval, str]] = []
    for approval in document.approvals:
        problem = verify_approval(approval, signatories)
        if problem is None and approval.fingerprint != current:
            problem = (f"approval by '{approval.signer}' ({approval.meaning}) is for another version of "
                       f"{document.id}: it approved {approval.fingerprint}, the document is now {current}")
        if problem is not None:
            problems.append((approval, problem))
    return problems


def valid_approvals(document: Document, signatories: Signatories, meaning: str | None = None) -> list[Approval]:
    """The approvals of exactly this version of `document` whose signature and signer hold (optionally of one
    meaning): what makes a protocol run formal evidence (DESIGN: approved before execution)."""
    return current_approvals(document, lambda a: verify_approval(a, signatories), meaning)


def _load_document(path: Path) -> Document:
    from generator.load import load_file
    from generator.model.findings import Severity

    if not path.is_file():
        raise ValgenError(f"{path}: no such file", fix="give the path of a content document (YAML)")
    document, findings = load_file(path)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if document is None or errors:
        first = errors[0] if errors else None
        where = str(first.source) if first is not None and first.source else str(path)
        message = first.message if first is not None else "the document cannot be read"
        raise ContentError(f"{message} (the document must be clean before it is approved)", where=where,
                           fix=f"run 'valgen check {path}' and correct the content first")
    return document


def _rules(document: Document, signatories: Signatories, signer_id: str, meaning: str,
           now: datetime) -> tuple[Signer, str]:
    """Refusal rules for approving the document's current version; returns the signer and its fingerprint."""
    signer = _refuse_signer(signatories, signer_id, meaning, now)
    current = fingerprint(document)
    valid = [a for a in document.approvals if a.fingerprint == current and verify_approval(a, signatories) is None]
    for approval in valid:
        if approval.signer == signer.id:
            if approval.meaning == "authored":
                raise SigningRefused(f"'{signer_id}' authored this version of {document.id} and cannot also sign it "
                                     f"as '{meaning}': segregation of duties (the approver is not the author)",
                                     fix="another person reviews and approves")
            raise SigningRefused(f"'{signer_id}' already signed this version of {document.id} as '{approval.meaning}'",
                                 fix="another person signs; one person signs a version once")
    rank = MEANINGS.index(meaning)
    later = [a for a in valid if MEANINGS.index(a.meaning) > rank]
    if later:
        raise SigningRefused(f"out of order: this version of {document.id} is already '{later[0].meaning}' by "
                             f"'{later[0].signer}'; '{meaning}' must come before (authored -> reviewed -> approved)",
                             fix="a new version needs new approvals in order")
    if meaning == "approved" and not any(a.meaning == "reviewed" for a in valid):
        raise SigningRefused(f"out of order: this version of {document.id} has no valid 'reviewed' approval yet; "
                             "it is reviewed before it is approved (authored -> reviewed -> approved)",
                             fix="have a reviewer run `valgen approve ... --meaning reviewed` first")
    return signer, current


def _yaml_item(indent: int, fields: dict[str, str]) -> str:
    pad = " " * indent
    lines = []
    for index, (key, value) in enumerate(fields.items()):
        lead = f"{pad}- " if index == 0 else f"{pad}  "
        lines.append(f"{lead}{key}: {json.dumps(value, ensure_ascii=False)}\n")
    return "".join(lines)


def insert_approval(text: str, fields: dict[str, str]) -> str:
    """Append one approval to `document: approvals:` in YAML text, touching nothing else."""
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    header = None
    if isinstance(root, yaml.MappingNode):
        header = next((v for k, v in root.value if k.value == "document"), None)
    if not isinstance(header, yaml.MappingNode):
        raise ValgenError("the file has no 'document:' header mapping", fix="approve a content document")
    entry = next(((k, v) for k, v in header.value if k.value == "approvals"), None)

    def line_end(at: int) -> int:
        return (text.find("\n", at) + 1) or len(text)

    if entry is None:
        # No approvals key: add one after the header's last line.
        last_value = header.value[-1][1]
        at = line_end(last_value.end_mark.index - 1) if last_value.end_mark.index else len(text)
        indent = header.start_mark.column
        return text[:at] + " " * indent + "approvals:\n" + _yaml_item(indent + 2, fields) + text[at:]
    key, value = entry
    if isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null"):
        start, end = value.start_mark.index, value.end_mark.index
        at = line_end(key.start_mark.index)
        return text[:start] + text[end:at] + _yaml_item(key.start_mark.column + 2, fields) + text[at:]
    if not isinstance(value, yaml.SequenceNode):
        raise ContentError("'approvals' is not a list", where=f"line {value.start_mark.line + 1}",
                           fix="write 'approvals: []'")
    if value.flow_style:
        if value.value:
            raise ContentError("'approvals' is written as a flow list [...] with entries",
                               where=f"line {value.start_mark.line + 1}", fix="write it as a block list (- signer: ...)")
        start, end = value.start_mark.index, value.end_mark.index
        at = line_end(end - 1)
        # Blank out the '[]' (a comment after it keeps its column) and put the block list under the key.
        rest = text[end:at]
        line = text[:start] + " " * (end - start) + rest if rest.strip() else text[:start].rstrip(" ") + "\n"
        return line + _yaml_item(key.start_mark.column + 2, fields) + text[at:]
    last = value.value[-1]
    at = line_end(max(last.end_mark.index - 1, last.start_mark.index))
    return text[:at] + _yaml_item(value.start_mark.column, fields) + text[at:]


def approve_document(path: Path, signatories: Signatories, signer_id: str, meaning: str, *, key_file: Path,
                     source: PassphraseSource, lockout: Lockout, now: datetime | None = None) -> dict[str, str]:
    """Check the rules and identity, sign the approval, write it into the document's approvals; return it."""
    from generator.model import Approval as ApprovalValue

    moment = (now or now_utc()).replace(microsecond=0)
    document = _load_document(path)
    person, current = _rules(document, signatories, signer_id, meaning, moment)
    credential = unlock_credential(person, key_file, source, lockout, moment)
    signer = credential.signer
    when = format_time(moment)
    statement = approval_statement(signer.id, signer.name, meaning, when, current)
    fields = {"signer": signer.id, "name": signer.name, "meaning": meaning, "time": when, "fingerprint": current,
              "signature": sign_statement(credential.private_key, statement)}
    original = path.read_text(encoding="utf-8")
    updated = insert_approval(original, fields)
    tmp = path.with_name(path.name + ".approving")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, path)
    # Read it back: the edit must add exactly this approval and leave the approved content unchanged.
    try:
        again = _load_document(path)
        added = [a for a in again.approvals if a.signature == fields["signature"]]
        ok = fingerprint(again) == current and len(added) == 1 and len(again.approvals) == len(document.approvals) + 1
        if ok:
            probe = ApprovalValue(signer=added[0].signer, name=added[0].name, meaning=added[0].meaning,
                                  time=added[0].time, fingerprint=added[0].fingerprint,
                                  signature=added[0].signature, source=added[0].source)
            ok = verify_approval(probe, signatories) is None
    except ValgenError:
        ok = False
    if not ok:
        path.write_text(original, encoding="utf-8")
        raise ValgenError(f"could not write the approval into {path} without changing its content; the file is "
                          "unchanged", fix="make sure 'approvals:' is a block list or '[]' in the document header")
    return fields

