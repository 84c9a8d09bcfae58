# mypy: disable-error-code="no-untyped-call"
"""A small binder-shaped PDF for the e-signature tests and benchmark: pages, three empty signature fields,
embedded attachments, a `manifest.json` with the VSR conclusion and a `SHA256SUMS` manifest.

The real binder comes from `generator.binder`/`generator.render`; this builder exists
so signing and verification can be exercised without them, and follows the same
conventions (see `generator.esign.binderfile`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, append_signature_field

from generator.esign.binderfile import MANIFEST, MANIFEST_JSON, SIGNATURE_FIELDS

__all__ = ["build_test_binder", "manifest_json", "manifest_text"]

_A4 = (0, 0, 595, 842)


def manifest_text(files: Mapping[str, bytes]) -> bytes:
    """`sha256sum` lines for the given attachments, as `valgen build` writes SHA256SUMS."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())]
    return "".join(lines).encode()


def manifest_json(files: Mapping[str, bytes], *, title: str, release: bool) -> bytes:
    """A manifest.json like `valgen build` writes: the VSR conclusion and every attachment's SHA-256."""
    listed = [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
              for name, data in sorted(files.items())]
    return (json.dumps({"binder": "VG-BINDER", "version": "1.0", "title": title, "release": release,
                        "files": listed}, indent=2, sort_keys=True)
            + "\n").encode()


def _page(writer: PdfFileWriter, font: generic.IndirectObject, text_lines: list[str]) -> generic.DictionaryObject:
    ops = ["BT /F1 10 Tf 50 800 Td 12 TL"]
    for line in text_lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({safe}) Tj T*")
    ops.append("ET")
    stream = generic.StreamObject(stream_data="\n".join(ops).encode("latin-1"))
    stream.compress()
    return generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Page"),
        generic.NameObject("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in _A4]),
        generic.NameObject("/Resources"): generic.DictionaryObject({
            generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/F1"): font}),
        }),
        generic.NameObject("/Contents"): writer.add_object(stream),
    })


def build_test_binder(path: Path, *, pages: int = 3, release: bool = True,
                      attachments: Mapping[str, bytes] | None = None, title: str = "VG-BINDER test binder",
                      listed: Mapping[str, bytes] | None = None) -> Path:
    """Write a binder-shaped PDF: `pages` text pages plus a signature page with the three empty fields.

    The VSR conclusion `release` goes into manifest.json, as `valgen build` writes it.
    """
    writer = PdfFileWriter()
    font = writer.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Font"),
        generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
        generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
    }))
    for number in range(1, pages + 1):
        body = [f"{title} - page {number} of {pages + 1}"]
        body += [f"URS-{number:03d}.{row:02d} requirement text, traced, tested and passed." for row in range(40)]
        writer.insert_page(_page(writer, font, body))
    writer.insert_page(_page(writer, font, [f"{title} - signature page", "Signatures (21 CFR 11.50)"]))
    sig_page = pages  # zero-based index of the last page
    for index, name in enumerate(SIGNATURE_FIELDS):
        top = 760 - index * 120
        append_signature_field(writer, SigFieldSpec(name, on_page=sig_page, box=(50, top - 100, 400, top)))
    files = dict(attachments if attachments is not None else {"run-record.json": b'{"run": "demo", "passed": 3}\n'})
    # `listed`: what the manifests claim (default: the attachments themselves); tests use it to swap a file.
    claimed = listed if listed is not None else files
    manifest = manifest_text(claimed)
    summary = manifest_json(claimed, title=title, release=release)
    for name, data in sorted({**files, MANIFEST: manifest, MANIFEST_JSON: summary}.items()):
        stream = EmbeddedFileObject.from_file_data(writer, data, params=EmbeddedFileParams(embed_checksum=False))
        embed_file(writer, FileSpec(file_spec_string=name, file_name=name, embedded_data=stream,
                                    af_relationship=generic.NameObject("/Data")))
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    return path
