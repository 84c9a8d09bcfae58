"""Offline verification of a signed binder: integrity, coverage, later changes, trust, signers, manifest, order.

Each check that fails adds a precise problem naming what was altered; the
verdict is OK only when none fails (issue 7, item 2). Uses pyHanko for the
cryptographic checks and its difference analysis for what changed between
signed revisions (21 CFR 11.10(a): discern invalid or altered records; 11.70:
signatures cannot be excised, copied or transferred).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from generator.errors import ValgenError
from generator.esign.binderfile import (
    MANIFEST,
    MANIFEST_JSON,
    attachments,
    field_meaning,
    manifest_entries,
    manifest_json_entries,
    signature_fields,
)
from generator.esign.signatories import SIGNATURE_MEANINGS, Signatories, format_time

__all__ = ["BinderReport", "SignatureReport", "load_trust_root", "verify_binder", "verify_bytes"]


@dataclass(slots=True)
class SignatureReport:
    """What one signature says (who, meaning, when) and what is wrong with it."""

    number: int
    field: str
    signer: str | None
    name: str
    meaning: str
    time: str | None
    certificate: str
    revision: int
    problems: list[str] = dataclass_field(default_factory=list)


@dataclass(slots=True)
class BinderReport:
    """The verdict on one binder: each signature, and the problems of the whole document."""

    binder: str
    trust_root: str
    signatures: list[SignatureReport] = dataclass_field(default_factory=list)
    problems: list[str] = dataclass_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(not s.problems for s in self.signatures) and bool(self.signatures)

    def all_problems(self) -> list[str]:
        out = list(self.problems)
        for sig in self.signatures:
            out += [f"signature {sig.number} ({sig.field}): {p}" for p in sig.problems]
        return out


def load_trust_root(path: Path) -> x509.Certificate:
    """Read a PEM (or DER) CA certificate given with --trust."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValgenError(f"cannot read the trust root {path}: {exc.strerror}", fix="give the CA certificate (PEM)") from None
    try:
        if b"BEGIN CERTIFICATE" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise ValgenError(f"{path} is not a certificate", fix="give the CA certificate in PEM form") from None


def _fp_der(der: bytes) -> str:
    return "sha256:" + hashlib.sha256(der).hexdigest()


def verify_binder(binder: Path, signatories: Signatories, trust_root: x509.Certificate | None) -> BinderReport:
    """Verify a binder file offline (see `verify_bytes`)."""
    try:
        data = binder.read_bytes()
    except OSError as exc:
        raise ValgenError(f"cannot read {binder}: {exc.strerror}", fix="give the path of a signed binder PDF") from None
    return verify_bytes(data, binder.name, signatories, trust_root, events=read_events(binder))


def read_events(binder: Path) -> dict[str, dict[str, Any]]:
    """The signature events written beside the binder by `valgen sign`, by field name (absent ones are skipped)."""
    from generator.esign.binderfile import SIGNATURE_FIELDS
    from generator.esign.sign import event_path

    events: dict[str, dict[str, Any]] = {}
    for name in SIGNATURE_FIELDS:
        path = event_path(binder, name)
        if path.is_file():
            try:
                value = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValgenError(f"cannot read the signature event {path}: {exc}",
                                  fix="restore the event file, or move it away to verify the PDF alone") from None
            if isinstance(value, dict):
                events[name] = value
    return events


def _message_digest(sig: Any) -> str | None:
    for attr in sig.signer_info["signed_attrs"]:
        if attr["type"].native == "message_digest":
            return "sha256:" + bytes(attr["values"][0].native).hex()
    return None


def _object_index(reader: Any) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Object number -> page label, attachment name, form field name; to name what a revision changed."""
    from generator.esign.binderfile import _resolve

    pages: dict[int, str] = {}
    counter = [0]

    def walk(node_ref: Any) -> None:
        node = node_ref.get_object() if hasattr(node_ref, "get_object") else node_ref
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            if hasattr(node_ref, "idnum"):
                pages[node_ref.idnum] = "the page tree"
            for kid in node.raw_get("/Kids"):
                walk(kid)
            return
        counter[0] += 1
        label = f"page {counter[0]}"
        if hasattr(node_ref, "idnum"):
            pages[node_ref.idnum] = label
        contents: Any = node.raw_get("/Contents") if "/Contents" in node else None
        refs = list(contents.get_object()) if hasattr(contents, "get_object") and isinstance(
            contents.get_object(), list) else [contents]
        if hasattr(contents, "idnum"):
            refs.append(contents)
        for ref in refs:
            if hasattr(ref, "idnum"):
                pages.setdefault(ref.idnum, label + " content")

    walk(reader.root.raw_get("/Pages"))
    files: dict[int, str] = {}
    names = _resolve(reader.root.get("/Names"))
    if names is not None:
        from generator.esign.binderfile import _name_tree

        tree: Any = names.raw_get("/EmbeddedFiles") if "/EmbeddedFiles" in names else None
        if hasattr(tree, "idnum"):
            files[tree.idnum] = "the attachment list"
        for key, spec_ref in _name_tree(names.get("/EmbeddedFiles")):
            if hasattr(spec_ref, "idnum"):
                files[spec_ref.idnum] = f"attachment {key}"
            spec = _resolve(spec_ref)
            ef = _resolve(spec.get("/EF")) if spec is not None else None
            if ef is not None and "/F" in ef:
                stream_ref: Any = ef.raw_get("/F")
                if hasattr(stream_ref, "idnum"):
                    files[stream_ref.idnum] = f"attachment {key}"
    fields: dict[int, str] = {}
    acro = _resolve(reader.root.get("/AcroForm"))
    if acro is not None:
        for ref in _resolve(acro.get("/Fields")) or []:
            if hasattr(ref, "idnum"):
                fobj = ref.get_object()
                fields[ref.idnum] = f"form field {fobj.get('/T', '?')}"
                value: Any = fobj.raw_get("/V") if "/V" in fobj else None
                if hasattr(value, "idnum"):
                    fields[value.idnum] = f"form field {fobj.get('/T', '?')} value"
    return pages, files, fields


def _describe_revision(reader: Any, revision: int, index: tuple[dict[int, str], dict[int, str], dict[int, str]]) -> str:
    """Name what an incremental update changed: pages, attachments, form fields, other objects."""
    pages, files, fields = index
    named: list[str] = []
    others = 0
    for ref in sorted(reader.xrefs.explicit_refs_in_revision(revision), key=lambda r: r.idnum):
        label = pages.get(ref.idnum) or files.get(ref.idnum) or fields.get(ref.idnum)
        if label is None:
            try:
                obj = ref.get_object()
            except Exception:  # an unreadable object still counts as a change
                obj = None
            kind = obj.get("/Type") if isinstance(obj, dict) else None
            if kind in ("/XRef", "/ObjStm"):
                continue  # the update's own cross-reference plumbing, not content
            if kind == "/Catalog":
                label = "the document catalog"
            elif kind == "/Metadata":
                label = "the XMP metadata"
            elif isinstance(obj, dict) and ("/Producer" in obj or "/ModDate" in obj):
                label = "the document information"
            elif isinstance(obj, dict) and "/FT" in obj:
                label = f"form field {obj.get('/T', '?')}"
            elif isinstance(obj, dict) and obj.get("/Type") == "/EmbeddedFile":
                label = "an attachment stream listed nowhere"
        if label is None:
            others += 1
        elif label not in named:
            named.append(label)
    # What a reader cares about first: pages, attachments, fields; then the plumbing.
    named.sort(key=lambda label: label in ("the document catalog", "the XMP metadata", "the document information"))
    if others:
        named.append(f"{others} other object(s)")
    return ", ".join(named) if named else "no objects"


# What a signature's own incremental update may change in objects that existed before it
# (ISO 32000 12.8.2.2 / PAdES: filling a signature field). Everything else is an alteration.
_FIELD_KEYS = frozenset({"/V", "/AP", "/AS", "/F", "/MK", "/Lock", "/SV"})
_ACROFORM_KEYS = frozenset({"/SigFlags", "/DR", "/DA", "/NeedAppearances"})
_CATALOG_KEYS = frozenset({"/AcroForm", "/Perms", "/DSS", "/Extensions", "/Metadata", "/Version"})
_STRUCTURAL_TYPES = frozenset({"/XRef", "/ObjStm", "/Metadata"})


def _changed_keys(old: Any, new: Any) -> set[str]:
    keys = set(old) | set(new)
    return {k for k in keys if (old.raw_get(k) if k in old else None) != (new.raw_get(k) if k in new else None)}


def _signature_revision_changes(reader: Any, sig: Any) -> list[str]:
    """Objects that `sig`'s own revision changed beyond filling its field; empty when it only signed.

    A fast, structural difference analysis in the spirit of pyHanko's (whose
    reverse-reference pass reads every object and takes tens of seconds on a
    real binder): new objects are fine (they are only reachable through updated
    ones), and an updated old object must be this signature's field, the form
    dictionary, the catalog or the XMP/xref plumbing, each changing only the keys
    signing changes.
    """
    revision = sig.signed_revision
    before = reader.get_historical_resolver(revision - 1)
    after = reader.get_historical_resolver(revision)
    field_ref = sig.sig_field.container_ref if hasattr(sig.sig_field, "container_ref") else None
    problems: list[str] = []
    for ref in sorted(reader.xrefs.explicit_refs_in_revision(revision), key=lambda r: r.idnum):
        if reader.xrefs.get_introducing_revision(ref) == revision:
            continue  # a new object, e.g. the signature value or its appearance
        old, new = before(ref), after(ref)
        kind = new.get("/Type") if isinstance(new, dict) else None
        if isinstance(new, dict) and kind in _STRUCTURAL_TYPES:
            continue
        if not isinstance(old, dict) or not isinstance(new, dict):
            problems.append(f"object {ref.idnum} (not a dictionary)")
            continue
        changed = _changed_keys(old, new)
        if field_ref is not None and ref.idnum == field_ref.idnum:
            allowed = _FIELD_KEYS
            label = f"its field {sig.field_name}"
        elif kind == "/Catalog":
            allowed, label = _CATALOG_KEYS, "the document catalog"
        elif "/Fields" in new and "/FT" not in new:
            allowed, label = _ACROFORM_KEYS, "the form dictionary"
        elif "/Producer" in new or "/ModDate" in new:
            continue  # the document information dictionary: dates and producer only
        else:
            allowed, label = frozenset(), ""
        extra = sorted(changed - allowed)
        if extra:
            if not label:
                pages, files, fields = _object_index(reader)
                label = pages.get(ref.idnum) or files.get(ref.idnum) or fields.get(ref.idnum) or f"object {ref.idnum}"
            problems.append(f"{label} ({', '.join(extra)})")
    return problems


def _check_manifest(reader: Any, report: BinderReport) -> None:
    """Every attachment is listed with its SHA-256 in SHA256SUMS (and manifest.json), and every listed one exists."""
    files = attachments(reader)
    if MANIFEST not in files:
        report.problems.append(f"no {MANIFEST} manifest is embedded, so the attachments cannot be checked")
        return
    manifests = [(MANIFEST, manifest_entries(files[MANIFEST].data))]
    listed_json = manifest_json_entries(files)
    if listed_json is not None:
        manifests.append((MANIFEST_JSON, listed_json))
    for label, entries in manifests:
        for name, attachment in sorted(files.items()):
            if name in (MANIFEST, MANIFEST_JSON):
                continue
            expected = entries.get(name)
            if expected is None:
                report.problems.append(f"attachment {name} is not listed in the embedded {label} "
                                       "(added or renamed after the binder was built)")
            elif expected != attachment.sha256:
                report.problems.append(f"attachment {name} was altered or swapped: its SHA-256 is "
                                       f"{attachment.sha256}, {label} says {expected}")
        for name in sorted(set(entries) - set(files)):
            report.problems.append(f"attachment {name} listed in {label} is missing")


def verify_bytes(data: bytes, label: str, signatories: Signatories, trust_root: x509.Certificate | None, *,
                 events: dict[str, dict[str, Any]] | None = None, reader: Any = None) -> BinderReport:
    """Verify binder bytes offline against the signatories and the trust root; never raises for tampering.

    `events` are the signature events recorded at signing (by field name); when
    given, each signature must be the one its event recorded.
    """
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.general import SignedDataCerts
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    # pyHanko logs each suspicious difference with a traceback; the report states it instead.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    root = trust_root if trust_root is not None else signatories.trust_root
    if root is None:
        raise ValgenError("no trust root: the signatories file has no trust_root and --trust was not given",
                          fix="pass --trust CA.pem")
    report = BinderReport(binder=label, trust_root=f"{root.subject.rfc4514_string()} ({_fp_der(root.public_bytes(Encoding.DER))})")
    if b"%PDF-" not in data[:1024]:
        report.problems.append(f"not a PDF file: it does not start with a %PDF- header ({len(data)} bytes)")
        return report
    tail = data[-1024:].rstrip(b"\r\n\t \x00")
    if not tail.endswith(b"%%EOF"):
        report.problems.append(f"the file is truncated: it does not end with the PDF end-of-file marker "
                               f"(%%EOF); {len(data)} bytes remain")
        return report
    try:
        if reader is None:
            reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = list(reader.embedded_regular_signatures)
        fields = signature_fields(reader)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        report.problems.append(f"the file is damaged and cannot be read as a PDF: {exc}")
        return report
    if not sigs:
        report.problems.append("the binder carries no signature")
    from asn1crypto import x509 as asn1_x509

    trust = asn1_x509.Certificate.load(root.public_bytes(Encoding.DER))
    context = ValidationContext(trust_roots=[trust], allow_fetching=False, revocation_mode="soft-fail")
    sigs.sort(key=lambda s: s.signed_revision)
    revisions = {s.signed_revision for s in sigs}
    total = reader.xrefs.total_revisions
    first_signed = min(revisions) if revisions else total - 1
    # 1. Unsigned incremental updates after the first signature: only signature revisions may follow it.
    for revision in range(first_signed + 1, total):
        if revision not in revisions:
            where = "after the last signature" if revision > max(revisions) else "between signatures"
            report.problems.append(f"unsigned incremental update (revision {revision + 1}) {where} changed: "
                                   f"{_describe_revision(reader, revision, _object_index(reader))}")
    seen_meanings: list[tuple[str, str, str | None]] = []
    for number, sig in enumerate(sigs, start=1):
        fp = _fp_der(sig.signer_cert.dump())
        who = signatories.by_fingerprint(fp)
        reason = str(sig.sig_object.get("/Reason", ""))
        entry = SignatureReport(number=number, field=sig.field_name, signer=who.id if who else None,
                                name=who.name if who else sig.signer_cert.subject.human_friendly,
                                meaning=reason, time=None, certificate=fp, revision=sig.signed_revision + 1)
        report.signatures.append(entry)
        try:
            status = validate_pdf_signature(sig, context, skip_diff=True)
        except (ValueError, KeyError, TypeError, PdfReadError) as exc:
            entry.problems.append(f"the signature cannot be validated: {exc}")
            continue
        moment = status.signer_reported_dt
        entry.time = format_time(moment) if moment is not None else None
        event = (events or {}).get(sig.field_name)
        signed_digest = _message_digest(sig)
        if not status.intact:
            if event is not None and event.get("signed_range_sha256") not in (None, signed_digest):
                entry.problems.append(
                    f"NOT INTACT: this is not the signature made on this binder — it signs {signed_digest}, the "
                    f"signature event recorded {event.get('signed_range_sha256')}: it was copied from another "
                    "document or replaced")
            else:
                entry.problems.append(
                    "NOT INTACT: the bytes it covers do not match the digest it signed — the document was altered "
                    "after signing" + ("" if event is not None else ", or the signature was copied from another "
                                       "document"))
        elif not status.valid:
            entry.problems.append("the cryptographic signature is invalid (the signature value was altered)")
        if status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
            entry.problems.append("it does not cover its whole revision (nonstandard byte range)")
        if status.intact and status.valid and not status.trusted:
            entry.problems.append(f"the signer's certificate does not chain to the trust root {root.subject.rfc4514_string()}")
        # Difference analysis: after this signature, only following signatures may change the document.
        unsigned_after = [r + 1 for r in range(sig.signed_revision + 1, total) if r not in revisions]
        if unsigned_after:
            entry.problems.append("the document was changed after this signature by an unsigned incremental update "
                                  f"(revision {', '.join(map(str, unsigned_after))})")
        if number > 1 and status.intact:
            # 11.10(a): after the first signature, each signature's update may only fill its own field.
            extra = _signature_revision_changes(reader, sig)
            if extra:
                entry.problems.append("its revision also changed what it does not sign for: " + "; ".join(extra))
        # Identity: a known signer, allowed this meaning, not revoked at signing time.
        if who is None:
            entry.problems.append(f"the signing certificate {fp} belongs to no signer in {signatories.path.name}")
        else:
            if reason not in who.meanings:
                entry.problems.append(f"signer '{who.id}' may not sign with meaning '{reason}' "
                                      f"(allowed: {', '.join(who.meanings)})")
            revoked = signatories.revocation(who, moment or datetime.now(UTC))
            if revoked is not None:
                entry.problems.append(f"signer '{who.id}' was revoked at {format_time(revoked.revoked_at)} "
                                      f"({revoked.reason}), before this signature at {entry.time}")
        parsed = field_meaning(sig.field_name)
        if parsed is None or parsed[1] != reason:
            entry.problems.append(f"its meaning '{reason}' is not the meaning of field {sig.field_name}")
        if event is not None:
            for key, actual in (("certificate", fp), ("meaning", reason), ("time", entry.time)):
                if event.get(key) != actual:
                    entry.problems.append(f"its signature event says {key} {event.get(key)}, the signature says {actual}")
        seen_meanings.append((sig.field_name, reason, entry.signer))
        _ = SignedDataCerts  # imported to fail early if pyHanko's API moved
    _check_order(report, seen_meanings, [f.name for f in fields])
    _check_manifest(reader, report)
    return report


def _check_order(report: BinderReport, seen: list[tuple[str, str, str | None]], field_names: list[str]) -> None:
    """authored -> reviewed -> approved, fields in number order, approver not author (11.10(f))."""
    numbers = [(field_meaning(name) or (0, ""))[0] for name, _, _ in seen]
    expected = list(range(1, len(seen) + 1))
    if numbers != expected:
        order = ", ".join(name for name, _, _ in seen)
        report.problems.append(f"signatures are in the wrong order: signed as {order}; "
                               f"each field must be signed after the one before it ({', '.join(field_names)})")
    ranks = [SIGNATURE_MEANINGS.index(m) if m in SIGNATURE_MEANINGS else -1 for _, m, _ in seen]
    for (name, meaning, _), (prev_name, prev_meaning, _), rank, prev_rank in zip(
            seen[1:], seen, ranks[1:], ranks, strict=False):
        if rank < prev_rank:
            report.problems.append(f"signatures are in the wrong order: '{meaning}' ({name}) was signed after "
                                   f"'{prev_meaning}' ({prev_name}); the order is authored -> reviewed -> approved")
    authors = {s for _, m, s in seen if m == "authored" and s}
    for name, meaning, signer in seen:
        if meaning in ("reviewed", "approved", "released") and signer in authors:
            report.problems.append(f"'{signer}' authored the binder and also signed {name} as '{meaning}' "
                                   "(segregation of duties)")
    signers = [s for _, _, s in seen if s]
    for signer in sorted({s for s in signers if signers.count(s) > 1} - authors):
        report.problems.append(f"'{signer}' signed the binder more than once")
