"""`valgen schema`: a JSON Schema per content file kind, generated from `generator.load.spec`.

The loader validates against the same spec, so an editor using these schemas and
`valgen check` agree on what a file may hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from generator import model as m
from generator.errors import ValgenError
from generator.load import spec

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _key_schema(k: spec.KeySpec) -> dict[str, Any]:
    schema: dict[str, Any]
    if k.type == spec.STRING:
        schema = {"type": "string"}
    elif k.type == spec.INTEGER:
        schema = {"type": "integer"}
    elif k.type == spec.BOOLEAN:
        schema = {"type": "boolean"}
    elif k.type == spec.STRINGS:
        schema = {"type": "array", "items": {"type": "string"}}
    elif k.type == spec.LINKS:
        schema = {"type": "array", "items": {"anyOf": [{"type": "string"}, _object(spec.LINK_KEYS)]}}
    elif k.type == spec.STEPS:
        schema = {"type": "array", "items": _object(spec.STEP_KEYS)}
    elif k.type == spec.SETTINGS:
        schema = {"type": "array", "items": _object(spec.SETTING_KEYS)}
    else:
        schema = {}
    if k.enum is not None:
        schema["enum"] = list(k.enum)
    if k.pattern is not None:
        schema["pattern"] = k.pattern
    schema["description"] = k.description
    return schema


def _object(keys: Iterable[spec.KeySpec]) -> dict[str, Any]:
    keys = list(keys)
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [k.key for k in keys if k.required],
        "properties": {k.key: _key_schema(k) for k in keys},
    }


def schema_for(kind: m.DocumentKind) -> dict[str, Any]:
    """The JSON Schema of one document kind."""
    item_kind = m.ITEM_KIND_OF_DOCUMENT[kind]
    header = _object(spec.DOCUMENT_KEYS)
    header["properties"]["kind"] = {"const": kind.value, "description": "The kind of document."}
    header["properties"]["approvals"] = {"type": "array", "items": _object(spec.APPROVAL_KEYS),
                                         "description": "Approvals, written by 'valgen approve'."}
    properties: dict[str, Any] = {
        "document": header,
        "items": {"type": "array", "items": _object(spec.item_keys(item_kind))},
    }
    if kind is m.DocumentKind.PLAN:
        properties["acceptance_criteria"] = {"type": "array", "items": _object(spec.CRITERION_KEYS)}
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": f"https://valgen.invalid/schemas/{kind.value}.schema.json",
        "title": f"valgen {kind.value} document",
        "type": "object",
        "additionalProperties": False,
        "required": ["document", "items"],
        "properties": properties,
    }


def write_schemas(out: Path, extra: dict[str, dict[str, Any]] | None = None) -> list[Path]:
    """Write one schema per content kind, and the `extra` schemas of other formats, into `out`."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValgenError(f"cannot create '{out}': {exc.strerror}", fix="choose a writable folder with --out") from None
    written = []
    schemas = {kind.value: schema_for(kind) for kind in m.DocumentKind} | dict(extra or {})
    for name, schema in schemas.items():
        path = out / f"{name}.schema.json"
        text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
