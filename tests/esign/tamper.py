"""Ways to alter a signed binder, for the tamper tests (each returns the altered bytes or writes the file)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def _writer(path: Path) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(path.read_bytes()), strict=False)


def _save(writer: IncrementalPdfFileWriter, path: Path) -> None:
    out = io.BytesIO()
    writer.write(out)
    path.write_bytes(out.getvalue())


def flip_content_byte(path: Path) -> int:
    """Flip one bit of a byte inside the first page's content stream; returns its offset."""
    data = bytearray(path.read_bytes())
    match = re.search(rb"/Filter /FlateDecode[^>]*>>\s*stream\r?\n", bytes(data))
    assert match is not None
    offset = match.end() + 5
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return offset


def change_page_content(path: Path) -> None:
    """Incremental update: draw extra text on page 1."""
    writer = _writer(path)
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (APPROVED BY NOBODY) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))
    _save(writer, path)


def replace_attachment(path: Path, name: str, data: bytes) -> None:
    """Incremental update: point an attachment's file spec at new bytes."""
    writer = _writer(path)
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    for index in range(0, len(names), 2):
        if str(names[index]) == name:
            spec_ref = names[index + 1]
            spec = spec_ref.get_object()
            new = EmbeddedFileObject.from_file_data(writer, data)
            spec["/EF"] = generic.DictionaryObject({generic.NameObject("/F"): writer.add_object(new)})
            writer.update_container(spec)
            _save(writer, path)
            return
    raise AssertionError(f"no attachment {name}")


def change_form_field(path: Path, field_name: str) -> None:
    """Incremental update: change a form field's tooltip text (/TU)."""
    writer = _writer(path)
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if str(field.get("/T")) == field_name:
            field["/TU"] = generic.TextStringObject("changed after signing")
            writer.mark_update(ref)
            _save(writer, path)
            return
    raise AssertionError(f"no field {field_name}")


def signature_contents_span(data: bytes, field_number: int) -> tuple[int, int]:
    """(start, end) of the hex /Contents of the n-th signature (1-based, in file order of /ByteRange)."""
    ranges = [m for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)]
    match = ranges[field_number - 1]
    start, end = int(match.group(2)), int(match.group(3))
    return start + 1, end - 1  # inside the < >


def copy_signature(source: Path, target: Path, field_number: int = 1) -> None:
    """Put the CMS of `source`'s n-th signature into `target`'s n-th signature slot."""
    src = source.read_bytes()
    dst = bytearray(target.read_bytes())
    s0, s1 = signature_contents_span(src, field_number)
    d0, d1 = signature_contents_span(bytes(dst), field_number)
    hex_cms = src[s0:s1].rstrip(b"0")
    if len(hex_cms) % 2:
        hex_cms += b"0"
    assert len(hex_cms) <= d1 - d0
    dst[d0:d1] = hex_cms + b"0" * (d1 - d0 - len(hex_cms))
    target.write_bytes(bytes(dst))


def sign_with_extra_change(path: Path, key_file: Path, passphrase: str, field: str, meaning: str) -> None:
    """A signer's tool that also changes page 1 in the revision it signs (a valid, trusted signature)."""
    from pyhanko.sign import signers

    writer = _writer(path)
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (SLIPPED IN) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))
    signer = signers.SimpleSigner.load_pkcs12(str(key_file), passphrase=passphrase.encode())
    assert signer is not None
    meta = signers.PdfSignatureMetadata(field_name=field, reason=meaning, md_algorithm="sha256",
                                        subfilter=signers.pdf_signer.SigSeedSubFilter.PADES)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer).sign_pdf(writer, existing_fields_only=True, output=out)
    path.write_bytes(out.getvalue())
