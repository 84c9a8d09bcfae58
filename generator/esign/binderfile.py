# mypy: disable-error-code="no-untyped-call"
"""What e-signatures need to read from a binder PDF: its signature fields, attachments,
the VSR conclusion (`binder.json`) and the attachment manifest (`SHA256SUMS`).

Conventions agreed for the binder (issue 6 / issue 7):
- empty signature fields named ``sig-1-authored``, ``sig-2-reviewed``, ``sig-3-approved``,
  signed in that order (21 CFR 11.10(f): permitted sequencing);
- an embedded ``manifest.json`` (`valgen build`) holding ``"release": true|false``,
  the release-for-use conclusion of the computed VSR, and ``"files"``: a list of
  ``{name, sha256, size}``, one per attachment (``binder.json`` with ``release``
  is read when there is no ``manifest.json``);
- an embedded ``SHA256SUMS`` in ``sha256sum`` format listing every attachment by
  its embedded name (an ``attachments/`` prefix is accepted);
- the two manifests themselves are the only attachments they do not list.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = [
    "BINDER_JSON",
    "MANIFEST",
    "MANIFEST_JSON",
    "SIGNATURE_FIELDS",
    "Attachment",
    "FieldInfo",
    "attachments",
    "field_meaning",
    "manifest_entries",
    "manifest_json_entries",
    "release_conclusion",
    "signature_fields",
]

BINDER_JSON = "binder.json"
MANIFEST = "SHA256SUMS"
MANIFEST_JSON = "manifest.json"
SIGNATURE_FIELDS = ("sig-1-authored", "sig-2-reviewed", "sig-3-approved")
_FIELD = re.compile(r"^sig-(\d+)-([a-z]+)$")


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A signature field: its name, position in the order, the meaning it expects, whether it is signed."""

    name: str
    number: int
    meaning: str
    signed: bool


@dataclass(frozen=True, slots=True)
class Attachment:
    """An embedded file: its name, its bytes and the object number of its stream."""

    name: str
    data: bytes
    object_id: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def field_meaning(name: str) -> tuple[int, str] | None:
    """(order number, meaning) from a field name such as sig-2-reviewed."""
    match = _FIELD.match(name)
    return (int(match.group(1)), match.group(2)) if match else None


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, generic.IndirectObject) else value


def _walk_fields(fields: Any, prefix: str = "") -> Iterator[tuple[str, generic.DictionaryObject]]:
    for ref in _resolve(fields) or []:
        field = _resolve(ref)
        name = prefix + str(field.get("/T", ""))
        kids = field.get("/Kids")
        if kids is not None and "/FT" not in field:
            yield from _walk_fields(kids, name + ".")
        else:
            yield name, field


def signature_fields(reader: PdfFileReader) -> list[FieldInfo]:
    """The binder's sig-N-<meaning> signature fields, ordered by N."""
    acro = _resolve(reader.root.get("/AcroForm"))
    if acro is None:
        return []
    found: list[FieldInfo] = []
    for name, field in _walk_fields(acro.get("/Fields")):
        if field.get("/FT") != "/Sig":
            continue
        parsed = field_meaning(name)
        if parsed is None:
            continue
        found.append(FieldInfo(name=name, number=parsed[0], meaning=parsed[1], signed=field.get("/V") is not None))
    return sorted(found, key=lambda f: f.number)


def _name_tree(node: Any) -> Iterator[tuple[str, Any]]:
    node = _resolve(node)
    if node is None:
        return
    names = node.get("/Names")
    if names is not None:
        names = _resolve(names)
        for index in range(0, len(names) - 1, 2):
            # raw_get keeps the reference, so callers can tell which object a name points at
            value = names.raw_get(index + 1) if hasattr(names, "raw_get") else names[index + 1]
            yield str(names[index]), value
    for kid in _resolve(node.get("/Kids")) or []:
        yield from _name_tree(kid)


def attachments(reader: PdfFileReader) -> dict[str, Attachment]:
    """Every document-level embedded file, by name (the /EmbeddedFiles name tree)."""
    names = _resolve(reader.root.get("/Names"))
    if names is None:
        return {}
    result: dict[str, Attachment] = {}
    for key, spec_ref in _name_tree(names.get("/EmbeddedFiles")):
        spec = _resolve(spec_ref)
        ef = _resolve(spec.get("/EF")) if spec is not None else None
        if ef is None:
            continue
        stream_ref = ef.get_value_as_reference("/F") if "/F" in ef else None
        stream = _resolve(ef.get("/F"))
        if stream is None:
            continue
        name = str(spec.get("/UF", spec.get("/F", key)))
        result[name] = Attachment(name=name, data=stream.data, object_id=stream_ref.idnum if stream_ref else 0)
    return result


def _json(files: dict[str, Attachment], name: str) -> Any:
    found = files.get(name)
    if found is None:
        return None
    try:
        return json.loads(found.data)
    except (ValueError, UnicodeDecodeError):
        return None


def release_conclusion(files: dict[str, Attachment]) -> bool | None:
    """The VSR's release-for-use conclusion (manifest.json, else binder.json), or None when absent or unreadable."""
    for name in (MANIFEST_JSON, BINDER_JSON):
        value = _json(files, name)
        if isinstance(value, dict) and isinstance(value.get("release"), bool):
            release: bool = value["release"]
            return release
    return None


def manifest_json_entries(files: dict[str, Attachment]) -> dict[str, str] | None:
    """`name -> hex` from manifest.json's "files" list, or None when there is no usable manifest.json."""
    value = _json(files, MANIFEST_JSON)
    if not isinstance(value, dict) or not isinstance(value.get("files"), list):
        return None
    entries: dict[str, str] = {}
    for entry in value["files"]:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("sha256"), str):
            entries[entry["name"]] = entry["sha256"].lower().removeprefix("sha256:")
    return entries


def manifest_entries(data: bytes) -> dict[str, str]:
    """`name -> hex` from sha256sum lines (a leading '*' binary marker is accepted)."""
    entries: dict[str, str] = {}
    for raw in data.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            entries[parts[1].lstrip("*").removeprefix("attachments/")] = parts[0].lower()
    return entries
