"""Publishing a signed binder to the compliance bucket as one Quilt package, and verifying it from S3.

`publish_binder` refuses a binder that does not verify offline, then registers one
package of workflow ``signed-record`` through the records client: the signed PDF,
a README, the signature events written by `valgen sign`, the build's manifest,
the HTML site as a zip, the matrix and the run records found beside the binder.
With a signer it also stores a record signature event (specs/workflows/
signature-event.schema.json) for the new revision under ``signatures/``,
Object-Locked by the bucket (21 CFR 11.10(c), 11.70). `verify_published`
re-hashes the revision from S3 and then checks the PDF exactly as the offline
`valgen verify` does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from generator.errors import ValgenError
from generator.esign.binderfile import MANIFEST_JSON, attachments
from generator.esign.identity import Lockout, PassphraseSource, SigningRefused, unlock_credential
from generator.esign.sign import _refuse_signer, event_path
from generator.esign.signatories import Signatories, format_time, now_utc, parse_time
from generator.esign.verify import BinderReport, read_events, verify_bytes
from generator.model import canonical_json

__all__ = ["PublishResult", "PublishedReport", "publish_binder", "record_event", "verify_published"]

WORKFLOW = "signed-record"
DOCUMENT_FILE = "binder.pdf"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same site gives the same zip bytes


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The registered revision and what it holds."""

    package: str
    revision: int
    top_hash: str
    files: tuple[str, ...]
    record_event_key: str | None


@dataclass(slots=True)
class PublishedReport:
    """Remote verification: the S3 re-hash, the PDF checks, the package metadata and the record events."""

    package: str
    revision: int
    top_hash: str
    rehash_problems: list[str] = field(default_factory=list)
    binder: BinderReport | None = None
    problems: list[str] = field(default_factory=list)
    record_events: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.rehash_problems and not self.problems and self.binder is not None and self.binder.ok)


def _zip_dir(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _readme(meta: dict[str, Any], files: list[str]) -> str:
    lines = [f"# {meta['title']} ({meta['document_id']}, version {meta['document_version']})", "",
             f"A signed document of workflow `{WORKFLOW}`, published by valgen.", "",
             f"- `{DOCUMENT_FILE}`: the signed binder (PDF/A with PAdES signatures), SHA-256 "
             f"`{meta['document_sha256']}`", "", "## Signatures (21 CFR 11.50)", "",
             "| signer ID | printed name | meaning | date and time (UTC) | certificate SHA-256 |", "|---|---|---|---|---|"]
    for sig in meta["signatures"]:
        lines.append(f"| {sig['signer_id']} | {sig['printed_name']} | {sig['meaning']} | {sig['time']} | "
                     f"`{sig['certificate_sha256'][:16]}…` |")
    lines += ["", "## Files", ""] + [f"- `{name}`" for name in files] + [
        "", "## Verify", "", "Offline: `valgen verify binder.pdf --trust CA.pem --signatories signatories.yaml`.",
        "From the bucket: `valgen verify --target T --package NAME --revision N` re-hashes every object and "
        "checks the signatures.", ""]
    return "\n".join(lines)


def _document_info(pdf: bytes) -> tuple[str, str, str]:
    """(document ID, version, title) from the binder's embedded manifest.json and document information."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    files = attachments(reader)
    doc_id, version = "VG-BINDER", "1"
    found = files.get(MANIFEST_JSON)
    if found is not None:
        try:
            data = json.loads(found.data)
            doc_id = str(data.get("binder") or doc_id)
            version = str(data.get("version") or version)
        except ValueError:
            pass
    info = reader.trailer_view.get("/Info") if hasattr(reader, "trailer_view") else None
    if info is not None and hasattr(info, "get_object"):
        info = info.get_object()  # the trailer holds /Info as an indirect reference in a real binder
    title = str(info.get("/Title")) if info is not None and info.get("/Title") else "Validation binder"
    return doc_id, version, title


def record_event(package: str, top_hash: str, revision: int, signer_id: str, name: str, meaning: str,
                 moment: datetime, certificate_sha256: str, passphrase_source: str, private_key: Any) -> dict[str, Any]:
    """A record signature event (signature-event.schema.json), signed over the canonical JSON of its other fields."""
    is_ec = isinstance(private_key, ec.EllipticCurvePrivateKey)
    event: dict[str, Any] = {
        "schema_version": "1", "package": package, "top_hash": top_hash, "revision": revision,
        "signer_id": signer_id, "printed_name": name, "meaning": meaning, "time": format_time(moment),
        "certificate_sha256": certificate_sha256.removeprefix("sha256:"),
        "identity_components": {"signer_id": True,
                                "passphrase_source": "terminal" if passphrase_source == "terminal" else "environment"},
        "algorithm": "ecdsa-p256-sha256" if is_ec else "rsa-pkcs1v15-sha256",
    }
    body = canonical_json(event)
    raw = (private_key.sign(body, ec.ECDSA(hashes.SHA256())) if is_ec
           else private_key.sign(body, padding.PKCS1v15(), hashes.SHA256()))
    event["signature"] = base64.b64encode(raw).decode()
    return event


def _check_record_event(body: dict[str, Any], signatories: Signatories, top_hash: str) -> str | None:
    """The problem with one stored record signature event, or None."""
    fingerprint = "sha256:" + str(body.get("certificate_sha256", ""))
    signer = signatories.by_fingerprint(fingerprint)
    who = body.get("signer_id", "?")
    if signer is None or signer.id != who:
        return f"record signature by '{who}': its certificate is not that signer's in {signatories.path.name}"
    if body.get("top_hash") != top_hash:
        return f"record signature by '{who}' names another top hash"
    if body.get("meaning") not in signer.meanings:
        return f"record signature by '{who}': meaning '{body.get('meaning')}' is not allowed for this signer"
    try:
        moment = parse_time(str(body.get("time", "")))
    except ValueError as exc:
        return f"record signature by '{who}': {exc}"
    revoked = signatories.revocation(signer, moment)
    if revoked is not None:
        return f"record signature by '{who}' at {body.get('time')}: revoked at {format_time(revoked.revoked_at)}"
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    try:
        raw = base64.b64decode(str(body.get("signature", "")), validate=True)
        public = signer.certificate.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(raw, canonical_json(unsigned), ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(raw, canonical_json(unsigned), padding.PKCS1v15(), hashes.SHA256())
        else:
            return f"record signature by '{who}': unsupported key type"
    except (InvalidSignature, ValueError):
        return f"record signature by '{who}': the signature does not match the event (altered or forged)"
    return None


def publish_binder(client: Any, binder: Path, signatories: Signatories, *, package: str | None = None,
                   signer_id: str | None = None, key_file: Path | None = None, source: PassphraseSource | None = None,
                   lockout: Lockout | None = None, now: datetime | None = None) -> PublishResult:
    """Verify the binder offline, register it as one signed-record package, and (with a signer) sign the record."""
    try:
        pdf = binder.read_bytes()
    except OSError as exc:
        raise ValgenError(f"cannot read {binder}: {exc.strerror}", fix="give the path of a signed binder") from None
    events = read_events(binder)
    report = verify_bytes(pdf, binder.name, signatories, None, events=events)
    if not report.ok:
        raise SigningRefused(f"{binder.name} does not verify, so it is not published:\n  "
                             + "\n  ".join(report.all_problems()), fix=f"run `valgen verify {binder}`")
    moment = (now or now_utc()).replace(microsecond=0)
    signer = None
    if signer_id is not None:
        # The record signature is a signing like any other: same rules before the passphrase is asked.
        signer = _refuse_signer(signatories, signer_id, "approved", moment)
    doc_id, version, title = _document_info(pdf)
    name = package or f"signed/{doc_id.lower()}"
    meta: dict[str, Any] = {
        "record_type": WORKFLOW, "document_id": doc_id, "document_version": version, "title": title,
        "document_file": DOCUMENT_FILE, "document_sha256": hashlib.sha256(pdf).hexdigest(),
        "signatures": [{"signer_id": s.signer or "", "printed_name": s.name, "meaning": s.meaning,
                        "time": s.time or "", "certificate_sha256": s.certificate.removeprefix("sha256:")}
                       for s in report.signatures],
    }
    with tempfile.TemporaryDirectory(prefix="valgen-publish-") as tmp:
        folder = Path(tmp)
        (folder / DOCUMENT_FILE).write_bytes(pdf)
        for field_name in events:
            target = folder / "signatures" / f"{field_name}.event.json"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(event_path(binder, field_name), target)
        # Who was authorized to sign, as of publishing: part of the record an inspector reads (11.100(a)).
        (folder / "signatories").mkdir()
        shutil.copyfile(signatories.path, folder / "signatories" / "signatories.yaml")
        revocations = signatories.path.with_name("revocations.yaml")
        if revocations.is_file() and revocations.stat().st_size > 0:
            shutil.copyfile(revocations, folder / "signatories" / "revocations.yaml")
        beside = binder.parent
        for extra in ("manifest.json", "traceability-matrix.csv", "traceability-matrix.xlsx"):
            if (beside / extra).is_file() and (beside / extra).stat().st_size > 0:
                shutil.copyfile(beside / extra, folder / extra)
        if (beside / "html").is_dir():
            _zip_dir(beside / "html", folder / "html.zip")
        if (beside / "runs").is_dir():
            shutil.copytree(beside / "runs", folder / "runs",
                            ignore=lambda _d, names: [n for n in names if n.startswith(".")])
        for empty in [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size == 0]:
            empty.unlink()  # the workflow refuses empty files; an empty file carries nothing to keep
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        (folder / "README.md").write_text(_readme(meta, ["README.md", *files]), encoding="utf-8")
        files = sorted([*files, "README.md"])
        credential = None
        if signer is not None:
            if key_file is None or source is None or lockout is None:
                raise ValgenError("a record signature needs the signer's key and passphrase",
                                  fix="pass --keys DIR and run at a terminal (or set VALGEN_SIGNING_PASSPHRASE)")
            credential = unlock_credential(signer, key_file, source, lockout, moment)
        revision = client.register(folder, name, message=f"{doc_id} version {version}: signed binder published",
                                   metadata=meta, workflow=WORKFLOW)
    event_key = None
    if credential is not None and source is not None:
        # The record is signed once it exists: the event's time follows the registration (11.50: when).
        signed_at = (now or now_utc()).replace(microsecond=0)
        event = record_event(name, revision.top_hash, revision.number, credential.signer.id, credential.signer.name,
                             "approved", signed_at, credential.signer.fingerprint, source.kind,
                             credential.private_key)
        event_key = client.write_signature(event).key
    return PublishResult(package=name, revision=revision.number, top_hash=revision.top_hash, files=tuple(files),
                         record_event_key=event_key)


def verify_published(client: Any, package: str, revision: int | None, signatories: Signatories,
                     trust_root: x509.Certificate | None) -> PublishedReport:
    """Re-hash a published revision from S3, then verify its binder and events as the offline verify does."""
    rev, manifest = client.browse(package, revision)
    report = PublishedReport(package=package, revision=rev.number, top_hash=rev.top_hash)
    rehash = client.verify(package, top_hash=rev.top_hash)
    report.rehash_problems = list(rehash.failures())
    meta = manifest.user_meta if isinstance(manifest.user_meta, dict) else {}
    document_file = str(meta.get("document_file", DOCUMENT_FILE))
    entries = {e.logical_key: e for e in manifest.entries}
    if document_file not in entries:
        report.problems.append(f"the package has no {document_file}")
        return report
    pdf = b"".join(client.read_entry(entries[document_file]))
    events: dict[str, dict[str, Any]] = {}
    for key, entry in entries.items():
        if key.startswith("signatures/") and key.endswith(".event.json"):
            try:
                value = json.loads(b"".join(client.read_entry(entry)))
            except ValueError:
                report.problems.append(f"{key} is not JSON")
                continue
            if isinstance(value, dict):
                events[key[len("signatures/"):-len(".event.json")]] = value
    report.binder = verify_bytes(pdf, f"{package} revision {rev.number} {document_file}", signatories, trust_root,
                                 events=events)
    if meta.get("document_sha256") != hashlib.sha256(pdf).hexdigest():
        report.problems.append(f"{document_file} does not match the package metadata's document_sha256")
    # The signing time in a PAdES signature without a time-stamp is the signer's own claim. When a signer was
    # revoked before this revision was registered (a time S3 keeps), a claim of signing before the revocation
    # cannot be confirmed from the record (21 CFR 11.300(c)).
    registered = parse_time(rev.registered)
    for sig in report.binder.signatures:
        person = signatories.signer(sig.signer) if sig.signer else None
        if person is None or sig.time is None:
            continue
        revoked = signatories.revocation(person, registered)
        if revoked is not None and parse_time(sig.time) < revoked.revoked_at:
            report.problems.append(
                f"{sig.field} by '{person.id}' claims {sig.time}, before the revocation at "
                f"{format_time(revoked.revoked_at)}, but the binder was registered only at {rev.registered}: "
                "the signing time cannot be confirmed")
    listed = [(s.get("signer_id"), s.get("meaning"), s.get("time")) for s in meta.get("signatures", [])
              if isinstance(s, dict)]
    signed = [(s.signer, s.meaning, s.time) for s in report.binder.signatures]
    if listed != signed:
        report.problems.append(f"the package metadata lists signatures {listed}, the binder carries {signed}")
    for stored in client.signatures(package, rev.top_hash):
        body = dict(stored.body)
        problem = _check_record_event(body, signatories, rev.top_hash)
        line = (f"record signature: {body.get('printed_name')} ({body.get('signer_id')}), meaning "
                f"{body.get('meaning')}, {str(body.get('time', '')).replace('T', ' ').replace('Z', ' UTC')}, "
                f"lock {stored.lock_mode or 'none'} until {stored.retain_until or '-'}")
        report.record_events.append(line)
        for found in (problem, stored.clock_problem()):
            if found is not None:
                report.problems.append(found)
    return report
