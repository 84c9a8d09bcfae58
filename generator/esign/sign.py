"""Signing a binder: the refusal rules, the PAdES signature into the next field, and the signature event.

Rules (issue 7): unknown or revoked signer, meaning not allowed, approver who is
the author, out of order (authored -> reviewed -> approved, 21 CFR 11.10(f)),
approval of a binder whose VSR does not conclude release. Every rule is checked
before the passphrase is asked, so a refused signing never costs an attempt.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding

from generator.errors import ValgenError
from generator.esign.binderfile import FieldInfo, attachments, release_conclusion, signature_fields
from generator.esign.identity import Credential, Lockout, PassphraseSource, SigningRefused, unlock_credential
from generator.esign.signatories import Signatories, Signer, format_time, now_utc

__all__ = ["FONT_CANDIDATES", "SignResult", "event_path", "existing_signers", "plan_binder_signature", "sign_binder"]

EVENT_FORMAT = "valgen-signature-event/1"
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
# An embedded TrueType font keeps the appearance PDF/A-conformant (ISO 19005: all fonts embedded).
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/freefont/FreeSans.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
MEANING_TEXT = {
    "authored": "Authored: I am the author of this document",
    "reviewed": "Reviewed: I have reviewed this document",
    "approved": "Approved: I approve this report and its conclusion",
    "released": "Released: I release the system for its intended use",
}


@dataclass(frozen=True, slots=True)
class SignResult:
    """A signature made: the field, the event written and its content."""

    binder: Path
    field: str
    event_path: Path
    event: dict[str, Any]


def event_path(binder: Path, field: str) -> Path:
    """Where the signature event of `field` is written: beside the binder."""
    return binder.with_name(f"{binder.stem}.{field}.event.json")


def _fingerprint_der(der: bytes) -> str:
    return "sha256:" + hashlib.sha256(der).hexdigest()


def existing_signers(reader: Any) -> dict[str, str]:
    """field name -> certificate fingerprint of each signature already in the binder."""
    found: dict[str, str] = {}
    for sig in reader.embedded_regular_signatures:
        found[sig.field_name] = _fingerprint_der(sig.signer_cert.dump())
    return found


def _refuse_signer(signatories: Signatories, signer_id: str, meaning: str, now: datetime) -> Signer:
    """Checks shared by binder signing and content approval."""
    signer = signatories.signer(signer_id)
    if signer is None:
        known = ", ".join(s.id for s in signatories.signers) or "none"
        raise SigningRefused(f"unknown signer '{signer_id}' (the signatories file {signatories.path} lists: {known})",
                             fix="use your own signer ID; new signers are added to the signatories file under review")
    if signer.status == "retired":
        raise SigningRefused(
            f"signer '{signer_id}' ({signer.name}) is retired: the ID stays in the signatories file so past "
            "signatures remain attributable, and cannot sign (FS-033)", where=str(signer.source),
            fix="a person signs only under their own active signer ID; a new holder gets a new ID")
    revoked = signatories.revocation(signer, now)
    if revoked is not None:
        raise SigningRefused(
            f"signer '{signer_id}' was revoked at {format_time(revoked.revoked_at)} ({revoked.reason}); "
            "revoked credentials cannot sign (21 CFR 11.300(c))", where=str(revoked.source),
            fix="a revoked signer needs a new credential issued and listed in the signatories file")
    # FS-034 (in part): a certificate outside its validity period cannot sign. The 730-day limit on the
    # period itself is not enforced yet: the demo certificates are valid for ten years.
    cert = signer.certificate
    if now < cert.not_valid_before_utc:
        outside = f"is not valid before {format_time(cert.not_valid_before_utc)}"
    elif now > cert.not_valid_after_utc:
        outside = f"expired at {format_time(cert.not_valid_after_utc)}"
    else:
        outside = ""
    if outside:
        raise SigningRefused(f"signer '{signer_id}': the certificate {signer.fingerprint} {outside}; it cannot sign "
                             f"at {format_time(now)} (FS-034)", where=str(signer.source),
                             fix="have a new certificate issued and listed in the signatories file")
    if meaning not in signer.meanings:
        raise SigningRefused(f"signer '{signer_id}' may not sign with meaning '{meaning}' "
                             f"(allowed: {', '.join(signer.meanings)})",
                             fix="sign with an allowed meaning, or have QA change the signatories file")
    return signer


def plan_binder_signature(binder: Path, signatories: Signatories, signer_id: str, meaning: str,
                          now: datetime, reader: Any = None) -> tuple[Signer, FieldInfo]:
    """Every refusal rule for signing `binder`; returns the signer and the field to sign."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    signer = _refuse_signer(signatories, signer_id, meaning, now)
    try:
        if reader is None:
            reader = PdfFileReader(io.BytesIO(binder.read_bytes()), strict=False)
        fields = signature_fields(reader)
        signed = existing_signers(reader)
        files = attachments(reader)
    except OSError as exc:
        raise ValgenError(f"cannot read {binder}: {exc.strerror}", fix="give the path of a binder PDF") from None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ValgenError(f"{binder} is not a readable PDF: {exc}", fix="give the binder PDF `valgen build` wrote") from None
    if not fields:
        raise SigningRefused(f"{binder} has no signature fields named sig-N-<meaning>",
                             fix="sign a binder built by `valgen build`; it carries the empty signature fields")
    empty = [f for f in fields if not f.signed]
    if not empty:
        raise SigningRefused(f"every signature field of {binder} is already signed",
                             fix="a signed binder is final; build a new version to sign again")
    target = empty[0]
    later_signed = [f.name for f in fields if f.signed and f.number > target.number]
    if later_signed:
        raise SigningRefused(f"{binder} is out of order: {', '.join(later_signed)} signed while {target.name} is empty",
                             fix="the binder's signatures must be made in order; build and sign a new version")
    # the approver's field takes either an approval of the report or, when the VSR concludes release, the release
    if target.meaning != meaning and not (target.meaning == "approved" and meaning == "released"):
        raise SigningRefused(
            f"out of order: the next signature of {binder.name} is '{target.meaning}' (field {target.name}), "
            f"not '{meaning}'; signatures follow authored -> reviewed -> approved (21 CFR 11.10(f))",
            fix=f"the next signer signs with --meaning {target.meaning}")
    by_fp = {fp: field for field, fp in signed.items()}
    if signer.fingerprint in by_fp:
        earlier = by_fp[signer.fingerprint]
        if earlier.endswith("-authored") and meaning in ("reviewed", "approved", "released"):
            raise SigningRefused(
                f"'{signer_id}' authored {binder.name} ({earlier}) and cannot also sign it as '{meaning}': "
                "segregation of duties (the approver is not the author)",
                fix="another person signs this field")
        raise SigningRefused(f"'{signer_id}' already signed {binder.name} ({earlier}); one person signs a binder once",
                             fix="another person signs this field")
    if meaning == "released":
        release = release_conclusion(files)
        if release is None:
            raise SigningRefused(f"{binder.name} carries no readable manifest.json with the VSR conclusion, "
                                 "so release cannot be checked",
                                 fix="release only a binder built by `valgen build`")
        if not release:
            raise SigningRefused(f"the Validation Summary Report of {binder.name} does not conclude release for use; "
                                 "the system cannot be released on it",
                                 fix="resolve the failed and not-run cases and the open deviations, rebuild, then "
                                     "sign; or approve the report as it stands with --meaning approved")
    return signer, target


def _signed_range_digest(signed: bytes, appended_from: int) -> str:
    """SHA-256 over the /ByteRange of the signature just appended (what its CMS messageDigest states)."""
    found = list(_BYTE_RANGE.finditer(signed, appended_from))
    if not found:
        raise ValgenError("the signed binder has no /ByteRange in its new revision", fix="report this as a bug")
    start1, len1, start2, len2 = (int(found[-1].group(i)) for i in range(1, 5))
    digest = hashlib.sha256(signed[start1:start1 + len1])
    digest.update(signed[start2:start2 + len2])
    return "sha256:" + digest.hexdigest()


def _refuse_unverified(binder: Path, data: bytes, signatories: Signatories, reader: Any = None) -> None:
    """Nobody signs what does not verify: earlier signatures, later changes, attachments vs manifest (11.10(a))."""
    from generator.esign.verify import read_events, verify_bytes

    report = verify_bytes(data, binder.name, signatories, None, events=read_events(binder), reader=reader)
    found = [p for p in report.all_problems() if p != "the binder carries no signature"]
    if found:
        listed = "\n  ".join(found[:10]) + (f"\n  (and {len(found) - 10} more)" if len(found) > 10 else "")
        raise SigningRefused(f"{binder.name} does not verify, so it cannot be signed:\n  {listed}",
                             fix=f"run `valgen verify {binder}`; sign only an unaltered binder built by `valgen build`")


# Latin text, punctuation and the symbols the appearance uses; other text falls back to the full font.
_SUBSET = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x250), 0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D,
                     0x2022, 0x2026, 0x20AC])


def _font(text: str = "") -> Path:
    """The appearance font: a cached Latin subset of the system font (subsetting the full font on every
    signature took about a second), or the full font when the text needs glyphs outside the subset."""
    source = next((c for c in FONT_CANDIDATES if c.is_file()), None)
    if source is None:
        raise ValgenError("no TrueType font for the signature appearance (looked for FreeSans and DejaVu Sans)",
                          fix="install fonts-freefont-ttf")
    if any(ord(ch) not in _SUBSET for ch in text if ch not in "\n"):
        return source
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "valgen"
    data = source.read_bytes()
    target = cache / f"{source.stem}-latin-{hashlib.sha256(data).hexdigest()[:16]}.ttf"
    if target.is_file():
        return target
    try:
        from fontTools import subset  # type: ignore[import-untyped]
        from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

        options = subset.Options()
        options.layout_features = []
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = TTFont(io.BytesIO(data))
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(_SUBSET))
        subsetter.subset(font)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        font.save(str(tmp))
        os.replace(tmp, target)
        return target
    except OSError:
        return source  # no writable cache: the full font works, only slower


def _align_producer(writer: Any) -> None:
    """Keep the document information and the XMP metadata equivalent, as PDF/A requires (ISO 19005-2, 6.6.2.3).

    pyHanko writes its own name as the XMP producer but appends it to an existing
    /Producer in the information dictionary; starting from its name alone keeps both the same.
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    trailer = writer.prev.trailer_view
    info_ref: Any = trailer.raw_get("/Info") if "/Info" in trailer else None
    if info_ref is not None and hasattr(info_ref, "reference"):  # an indirect reference
        info = info_ref.get_object()
        if str(info.get("/Producer", "")) != VENDOR:
            info["/Producer"] = generic.TextStringObject(VENDOR)
            writer.mark_update(info_ref)


def _pades_sign(source: bytes, credential: Credential, field: str, meaning: str, moment: datetime,
                reader: Any = None) -> bytes:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields as sig_fields
    from pyhanko.sign import signers
    from pyhanko.sign.signers.pdf_signer import PdfSigningSession
    from pyhanko.stamp import TextStampStyle

    # fontTools reports tables it drops while subsetting the embedded font; not for the user.
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    signer = credential.signer
    # The CA certificate goes into the CMS so a verifier can build the chain offline.
    chain = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in credential.chain]
    key_signer = signers.SimpleSigner.load_pkcs12_data(credential.pkcs12, chain, passphrase=credential.passphrase)

    class _PinnedTimeSigner(signers.PdfSigner):
        """The CMS signing time equals the time shown and logged (11.50: one date and time)."""

        def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> PdfSigningSession:
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = moment
            return session

    params = {
        "name": signer.name, "title": signer.title, "meaning": MEANING_TEXT.get(meaning, meaning),
        "ts": moment.strftime("%Y-%m-%d %H:%M:%S UTC"), "signer": signer.id, "fp": signer.fingerprint[7:23] + "…",
        "revision": hashlib.sha256(source).hexdigest(),
    }
    stamp = TextStampStyle(
        stamp_text=("%(name)s, %(title)s\n%(meaning)s\nSigned %(ts)s\nSigner ID %(signer)s, certificate %(fp)s\n"
                    "SHA-256 of the revision signed:\n%(revision)s"),
        timestamp_format="%Y-%m-%d %H:%M:%S UTC",
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(str(_font("".join(params.values()))), font_size=8)),
        border_width=1,
        background=None,
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field, reason=meaning, name=signer.name, md_algorithm="sha256",
        subfilter=sig_fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = _PinnedTimeSigner(meta, signer=key_signer, stamp_style=stamp)
    writer = (IncrementalPdfFileWriter.from_reader(reader) if reader is not None
              else IncrementalPdfFileWriter(io.BytesIO(source), strict=False))
    _align_producer(writer)
    out = io.BytesIO()
    pdf_signer.sign_pdf(writer, existing_fields_only=True, output=out, appearance_text_params=params)
    return out.getvalue()


def sign_binder(binder: Path, signatories: Signatories, signer_id: str, meaning: str, *, key_file: Path,
                source: PassphraseSource, lockout: Lockout, now: datetime | None = None) -> SignResult:
    """Check the rules and the signer's identity, sign the next field in place, write the signature event."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    moment = (now or now_utc()).replace(microsecond=0)
    _refuse_signer(signatories, signer_id, meaning, moment)
    try:
        original = binder.read_bytes()
        # One reader for the rules, the verification and the incremental writer (parsing is the slow part).
        reader = PdfFileReader(io.BytesIO(original), strict=False)
    except OSError as exc:
        raise ValgenError(f"cannot read {binder}: {exc.strerror}", fix="give the path of a binder PDF") from None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ValgenError(f"{binder} is not a readable PDF: {exc}", fix="give the binder PDF `valgen build` wrote") from None
    signer, target = plan_binder_signature(binder, signatories, signer_id, meaning, moment, reader=reader)
    _refuse_unverified(binder, original, signatories, reader=reader)
    credential = unlock_credential(signer, key_file, source, lockout, moment)
    signed = _pades_sign(original, credential, target.name, meaning, moment, reader=reader)
    range_digest = _signed_range_digest(signed, len(original))
    event: dict[str, Any] = {
        "format": EVENT_FORMAT,
        "binder": binder.name,
        "field": target.name,
        "signer": signer.id,
        "name": signer.name,
        "title": signer.title,
        "meaning": meaning,
        "time": format_time(moment),
        "revision_signed_sha256": "sha256:" + hashlib.sha256(original).hexdigest(),
        "signed_range_sha256": range_digest,
        "signed_binder_sha256": "sha256:" + hashlib.sha256(signed).hexdigest(),
        "certificate": signer.fingerprint,
        "identity_components": list(credential.components),
        "passphrase_source": source.kind,
    }
    tmp = binder.with_name(binder.name + ".signing")
    tmp.write_bytes(signed)
    os.replace(tmp, binder)
    path = event_path(binder, target.name)
    path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return SignResult(binder=binder, field=target.name, event_path=path, event=event)
