"""The signatories and revocations files: their formats, validation with file:line:col, and lookups.

Both files are content under review (issue 7): QA approves who may sign and with
which meaning (21 CFR 11.100(a): one signer ID, one person, forever) and records
revoked credentials (11.300(c): deauthorize lost or compromised credentials).
Their formats are documented at the top of the files themselves and in
`SIGNATORIES_HEADER` / `REVOCATIONS_HEADER` below.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from generator.errors import ContentError
from generator.model import APPROVAL_MEANINGS, Source

__all__ = [
    "REVOCATIONS_FORMAT",
    "REVOCATIONS_HEADER",
    "SIGNATORIES_FORMAT",
    "SIGNATORIES_HEADER",
    "Revocation",
    "Signatories",
    "Signer",
    "cert_fingerprint",
    "format_time",
    "load_signatories",
    "parse_time",
]

SIGNATORIES_FORMAT = "valgen-signatories/1"
REVOCATIONS_FORMAT = "valgen-revocations/1"
MEANINGS = APPROVAL_MEANINGS  # content approvals: authored -> reviewed -> approved, in this order
# Binder signatures add "released": QA releases the system for use, in the approver's field, and only
# when the Validation Summary Report concludes release. "approved" approves the report and its conclusion.
SIGNATURE_MEANINGS = (*APPROVAL_MEANINGS, "released")

SIGNATORIES_HEADER = """\
# Signatories (format valgen-signatories/1): who may sign binders and approve content, and with which meaning.
# Not a content kind: `valgen check` skips this file; `valgen sign|verify|approve` read it.
#   format:      valgen-signatories/1
#   trust_root:  {fingerprint: sha256:<hex of the DER certificate>, certificate: <PEM>}
#                the CA every signer certificate must chain to (verify --trust overrides it)
#   signers:     a list of
#     id:          signer ID, lower case letters, digits and dashes; one person forever (21 CFR 11.100(a))
#     name:        printed name shown in every signature manifestation (11.50(a))
#     title:       job title
#     fingerprint: sha256:<hex> of the signer's DER certificate
#     certificate: the signer's certificate (PEM); its SHA-256 must equal `fingerprint`
#     meanings:    the meanings this signer may sign with: authored, reviewed, approved, released
#     status:      active (the default) or retired: the holder left; the ID stays listed, never reused,
#                  so past signatures stay attributable, and cannot sign (FS-033)
# Revoked credentials are listed in revocations.yaml beside this file.
"""

REVOCATIONS_HEADER = """\
# Revocations (format valgen-revocations/1): signer credentials withdrawn, with the time (21 CFR 11.300(c)).
# Not a content kind: `valgen check` skips this file; `valgen sign|verify|approve` read it.
#   format:       valgen-revocations/1
#   revocations:  a list of
#     signer:       signer ID from signatories.yaml
#     fingerprint:  optional sha256:<hex>; only this certificate is revoked (absent: every certificate of the signer)
#     revoked_at:   UTC time, ISO 8601 with Z, such as "2026-03-01T12:00:00Z"; signatures made at or after it are invalid
#     reason:       why (lost token, left the company, suspected misuse, ...)
"""

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def cert_fingerprint(cert: x509.Certificate) -> str:
    """`sha256:<hex>` of a certificate's DER encoding."""
    return "sha256:" + hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def format_time(moment: datetime) -> str:
    """UTC ISO 8601 with Z, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse a UTC ISO 8601 time with Z (raises ValueError otherwise)."""
    if not _TIME.match(text):
        raise ValueError(f"'{text}' is not a UTC time such as 2026-03-01T12:00:00Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Signer:
    """One person allowed to sign, with the certificate that identifies them."""

    id: str
    name: str
    title: str
    fingerprint: str
    certificate: x509.Certificate
    meanings: tuple[str, ...]
    source: Source
    status: str = "active"  # active | retired (FS-033: the holder left; the ID is kept and cannot sign)


@dataclass(frozen=True, slots=True, kw_only=True)
class Revocation:
    """A withdrawn credential: every certificate of `signer`, or only `fingerprint`."""

    signer: str
    fingerprint: str | None
    revoked_at: datetime
    reason: str
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Signatories:
    """The loaded signatories file and its revocation list."""

    path: Path
    trust_root: x509.Certificate | None
    signers: tuple[Signer, ...]
    revocations: tuple[Revocation, ...]

    def signer(self, signer_id: str) -> Signer | None:
        return next((s for s in self.signers if s.id == signer_id), None)

    def by_fingerprint(self, fingerprint: str) -> Signer | None:
        return next((s for s in self.signers if s.fingerprint == fingerprint), None)

    def revocation(self, signer: Signer, at: datetime) -> Revocation | None:
        """The revocation in force at `at` for this signer's certificate, if any."""
        for rev in self.revocations:
            if rev.signer != signer.id:
                continue
            if rev.fingerprint is not None and rev.fingerprint != signer.fingerprint:
                continue
            if rev.revoked_at <= at:
                return rev
        return None


class _Problems:
    """Collects every problem of one file, then raises them together (report all in one pass)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: Source, message: str, expected: str) -> None:
        self.lines.append(f"{where}: error[SIG001] {message}\n  expected: {expected}")

    def raise_if_any(self, path: Path) -> None:
        if self.lines:
            raise ContentError(
                "\n".join(self.lines) if len(self.lines) > 1 else self.lines[0],
                fix=f"correct {path.name} (its format is described in the comment block at its top)",
                where=None,
            )


def _read(path: Path) -> Any:
    from generator.load.yamlio import YamlReadError, read_yaml

    if not path.is_file():
        raise ContentError(f"{path}: no such file", fix="give the path of an existing file, or run `valgen demo-keys DIR`")
    try:
        return read_yaml(path)
    except YamlReadError as exc:
        text = "\n".join(f"{p.source}: error[{p.code}] {p.message}\n  expected: {p.expected}" for p in exc.problems)
        raise ContentError(text, fix=f"correct the YAML in {path.name}") from None


def _field(data: Any, key: str, problems: _Problems, expected: str, *, required: bool = True) -> Any:
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and required:
        where = data.source if hasattr(data, "source") else Source(path=Path("?"), line=1, column=1)
        problems.add(where, f"missing key '{key}'", expected)
    return value


def _at(data: Any, key: str) -> Source:
    at = getattr(data, "value_at", None)
    if at is not None:
        found: Source = at(key)
        return found
    return Source(path=Path("?"), line=1, column=1)


def _key_at(data: Any, key: str) -> Source:
    at = getattr(data, "key_at", None)
    if at is not None:
        found: Source = at(key)
        return found
    return _at(data, key)


def _item_at(items: Any, index: int, path: Path) -> Source:
    at = getattr(items, "at", None)
    if at is not None:
        found: Source = at(index)
        return found
    return Source(path=path, line=1, column=1)


def _load_cert(text: Any, where: Source, problems: _Problems) -> x509.Certificate | None:
    if not isinstance(text, str) or "BEGIN CERTIFICATE" not in text:
        problems.add(where, "not a PEM certificate", "a block starting with -----BEGIN CERTIFICATE-----")
        return None
    try:
        return x509.load_pem_x509_certificate(text.encode())
    except ValueError as exc:
        problems.add(where, f"the certificate cannot be read: {exc}", "a valid PEM certificate")
        return None


SIGNER_STATUSES = ("active", "retired")
_SIGNER_KEYS = ("id", "name", "title", "fingerprint", "certificate", "meanings", "status")
_SIGNER_KEYS_TEXT = ", ".join(_SIGNER_KEYS) + " (optional)"


def _signers(data: Any, path: Path, problems: _Problems) -> Iterator[Signer]:
    items = _field(data, "signers", problems, "a list of signers")
    if items is None:
        return
    if not isinstance(items, list):
        problems.add(_at(data, "signers"), "'signers' is not a list", "a list of signers")
        return
    seen: dict[str, Source] = {}
    seen_fp: dict[str, str] = {}
    for index, entry in enumerate(items):
        where = _item_at(items, index, path)
        if not isinstance(entry, dict):
            problems.add(where, "a signer must be a mapping", _SIGNER_KEYS_TEXT)
            continue
        unknown = sorted(set(entry) - set(_SIGNER_KEYS))
        for key in unknown:
            problems.add(_key_at(entry, key), f"unknown key '{key}'", _SIGNER_KEYS_TEXT)
        signer_id = _field(entry, "id", problems, "a signer ID such as demo-author")
        name = _field(entry, "name", problems, "the printed name")
        title = _field(entry, "title", problems, "a job title")
        fingerprint = _field(entry, "fingerprint", problems, "sha256:<64 hex digits>")
        pem = _field(entry, "certificate", problems, "the signer's PEM certificate")
        meanings = _field(entry, "meanings", problems, "a list of meanings: authored, reviewed, approved")
        status = _field(entry, "status", problems, "active or retired", required=False)
        ok = True
        if status is None:
            status = "active"
        elif status not in SIGNER_STATUSES:
            problems.add(_at(entry, "status"), f"unknown status '{status}'",
                         "active, or retired for a signer who left (the ID is kept and cannot sign)")
            ok = False
        if signer_id is not None and (not isinstance(signer_id, str) or not _ID.match(signer_id)):
            problems.add(_at(entry, "id"), f"signer ID '{signer_id}' is not valid", "lower case letters, digits, dashes")
            ok = False
        elif isinstance(signer_id, str):
            if signer_id in seen:
                problems.add(_at(entry, "id"), f"signer ID '{signer_id}' is already used at line {seen[signer_id].line}",
                             "one entry per signer ID (21 CFR 11.100(a))")
                ok = False
            seen[signer_id] = _at(entry, "id")
        if fingerprint is not None and (not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint)):
            problems.add(_at(entry, "fingerprint"), f"'{fingerprint}' is not a certificate fingerprint",
                         "sha256:<64 lower-case hex digits>")
            ok = False
        if isinstance(fingerprint, str) and isinstance(signer_id, str):
            if fingerprint in seen_fp:
                # 21 CFR 11.100(a): a credential identifies one person; two IDs on one certificate break that.
                problems.add(_at(entry, "fingerprint"), f"this certificate is already registered for signer "
                             f"'{seen_fp[fingerprint]}'", "one certificate per signer (21 CFR 11.100(a))")
                ok = False
            seen_fp.setdefault(fingerprint, signer_id)
        cert = _load_cert(pem, _at(entry, "certificate"), problems) if pem is not None else None
        if cert is not None and isinstance(fingerprint, str) and cert_fingerprint(cert) != fingerprint:
            problems.add(_at(entry, "fingerprint"), f"the certificate's SHA-256 is {cert_fingerprint(cert)}, "
                         f"not {fingerprint}", "the fingerprint of the certificate given under 'certificate'")
            ok = False
        if meanings is not None:
            if not isinstance(meanings, list) or not meanings:
                problems.add(_at(entry, "meanings"), "'meanings' must be a non-empty list", "e.g. [reviewed, approved]")
                ok = False
            else:
                for i, meaning in enumerate(meanings):
                    if meaning not in SIGNATURE_MEANINGS:
                        problems.add(_item_at(meanings, i, path), f"unknown meaning '{meaning}'",
                                     "one of " + ", ".join(SIGNATURE_MEANINGS))
                        ok = False
        for key, value in (("name", name), ("title", title)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                problems.add(_at(entry, key), f"'{key}' must be non-empty text", "text")
                ok = False
        if ok and None not in (signer_id, name, title, fingerprint, cert, meanings) and cert is not None:
            yield Signer(id=signer_id, name=name, title=title, fingerprint=fingerprint, certificate=cert,
                         meanings=tuple(meanings), source=where, status=status)


def _revocations(path: Path, known: set[str]) -> tuple[Revocation, ...]:
    data = _read(path)
    problems = _Problems()
    if not isinstance(data, dict):
        raise ContentError(f"{path}:1:1: error[SIG001] the file is not a mapping",
                           fix="start the file with 'format: valgen-revocations/1' and 'revocations: []'")
    if data.get("format") != REVOCATIONS_FORMAT:
        problems.add(_at(data, "format"), f"format is '{data.get('format')}'", f"format: {REVOCATIONS_FORMAT}")
    items = _field(data, "revocations", problems, "a list (may be empty: [])")
    result: list[Revocation] = []
    if items is not None and not isinstance(items, list):
        problems.add(_at(data, "revocations"), "'revocations' is not a list", "a list (may be empty: [])")
        items = []
    for index, entry in enumerate(items or []):
        where = _item_at(items, index, path)
        if not isinstance(entry, dict):
            problems.add(where, "a revocation must be a mapping", "signer, revoked_at, reason (and fingerprint)")
            continue
        for key in sorted(set(entry) - {"signer", "fingerprint", "revoked_at", "reason"}):
            problems.add(_key_at(entry, key), f"unknown key '{key}'", "signer, fingerprint, revoked_at, reason")
        signer = _field(entry, "signer", problems, "a signer ID from signatories.yaml")
        fingerprint = _field(entry, "fingerprint", problems, "", required=False)
        when = _field(entry, "revoked_at", problems, "a UTC time such as 2026-03-01T12:00:00Z")
        reason = _field(entry, "reason", problems, "why the credential was withdrawn")
        ok = True
        if signer is not None and signer not in known:
            problems.add(_at(entry, "signer"), f"signer '{signer}' is not in the signatories file",
                         "a signer ID listed in signatories.yaml")
            ok = False
        if fingerprint is not None and (not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint)):
            problems.add(_at(entry, "fingerprint"), f"'{fingerprint}' is not a certificate fingerprint",
                         "sha256:<64 lower-case hex digits>")
            ok = False
        moment: datetime | None = None
        if when is not None:
            try:
                moment = parse_time(str(when))
            except ValueError as exc:
                problems.add(_at(entry, "revoked_at"), str(exc), "a quoted UTC time such as \"2026-03-01T12:00:00Z\"")
                ok = False
        if ok and signer is not None and moment is not None and reason is not None:
            result.append(Revocation(signer=signer, fingerprint=fingerprint, revoked_at=moment, reason=str(reason),
                                     source=where))
    problems.raise_if_any(path)
    return tuple(result)


def load_signatories(path: Path, revocations: Path | None = None) -> Signatories:
    """Load and validate a signatories file and its revocation list (default: revocations.yaml beside it).

    A missing revocations file beside the signatories means no revocations; a
    named one that is missing is an error. Raises ContentError naming file:line:col.
    """
    data = _read(path)
    problems = _Problems()
    if not isinstance(data, dict):
        raise ContentError(f"{path}:1:1: error[SIG001] the file is not a mapping",
                           fix=f"start the file with 'format: {SIGNATORIES_FORMAT}'")
    if data.get("format") != SIGNATORIES_FORMAT:
        problems.add(_at(data, "format"), f"format is '{data.get('format')}'", f"format: {SIGNATORIES_FORMAT}")
    for key in sorted(set(data) - {"format", "trust_root", "signers"}):
        problems.add(_key_at(data, key), f"unknown key '{key}'", "format, trust_root, signers")
    trust: x509.Certificate | None = None
    root = data.get("trust_root")
    if root is not None:
        if not isinstance(root, dict):
            problems.add(_at(data, "trust_root"), "'trust_root' must be a mapping", "fingerprint and certificate")
        else:
            trust = _load_cert(_field(root, "certificate", problems, "the CA's PEM certificate"),
                               _at(root, "certificate"), problems)
            fp = _field(root, "fingerprint", problems, "sha256:<hex>")
            if trust is not None and fp is not None and cert_fingerprint(trust) != fp:
                problems.add(_at(root, "fingerprint"), f"the CA certificate's SHA-256 is {cert_fingerprint(trust)}, "
                             f"not {fp}", "the fingerprint of the certificate given under 'certificate'")
    signers = tuple(_signers(data, path, problems))
    problems.raise_if_any(path)
    rev_path = revocations if revocations is not None else path.with_name("revocations.yaml")
    revoked: tuple[Revocation, ...] = ()
    if revocations is not None or rev_path.is_file():
        revoked = _revocations(rev_path, {s.id for s in signers})
    return Signatories(path=path, trust_root=trust, signers=signers, revocations=revoked)


def now_utc() -> datetime:
    """The current time in UTC (one place, so callers can pass a pinned clock instead)."""
    return datetime.now(UTC)
