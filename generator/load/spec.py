"""The YAML shape of every content file kind, derived from the model's dataclasses.

One description serves both the loader's validation and `valgen schema` (JSON
Schema), so the two cannot drift. Field types come from the dataclass type hints;
this module only adds what YAML needs on top: the key's name where it differs
from the attribute, closed value sets, and a sentence of help per key.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator import model as m

# Kind of value a key holds, as the loader and the schema understand it.
STRING, INTEGER, BOOLEAN, STRINGS, LINKS, STEPS, SETTINGS, ANY = (
    "string", "integer", "boolean", "strings", "links", "steps", "settings", "any",
)


@dataclass(frozen=True, slots=True)
class KeySpec:
    key: str
    attr: str
    type: str
    required: bool
    description: str
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    default: Any = None
    form: str | None = None  # the pattern in words, for messages


# Attribute -> (YAML key per item kind where it differs, description, closed set)
_TEXT_KEY = {"risk": "scenario", "sop": "purpose", "iq": "objective", "oq": "objective", "pq": "objective"}
_DOCS: Mapping[str, tuple[str, tuple[Any, ...] | None]] = {
    "id": ("Stable ID of the item; never reused.", None),
    "title": ("One-line title.", None),
    "text": ("The statement, in full sentences.", None),
    "status": ("active, or retired (a retired item keeps its ID).", ("active", "retired")),
    "regulation": ("The regulation the clause belongs to.", ("21 CFR Part 11", "EU GMP Annex 11")),
    "exclusion": ("Justification for leaving the clause out of scope; an excluded clause needs no URS.", None),
    "priority": ("Priority: high, medium or low.", m.RISK_LEVELS),
    "rationale": ("Why the requirement exists.", None),
    "severity": ("Severity of harm if the scenario happens.", m.RISK_LEVELS),
    "probability": ("Probability that the scenario happens.", m.RISK_LEVELS),
    "detectability": ("How likely the failure is detected before harm (low is worse).", m.RISK_LEVELS),
    "risk_class": ("GAMP 5 risk class from severity x probability (1 is worst).", (1, 2, 3)),
    "residual_risk": ("The risk that remains after the mitigations, and why it is acceptable.", None),
    "settings": ("Machine-checkable configuration values read back by IQ.", None),
    "responsibilities": ("Who does what under this SOP.", None),
    "procedure": ("The numbered steps of the procedure.", None),
    "polarity": ("positive: the system does what it should; negative: it refuses what it must.",
                 ("positive", "negative")),
    "manual": ("true when a person executes the case and records the result.", None),
    "prerequisites": ("What must hold before the case starts.", None),
    "steps": ("Steps with their expected results, numbered from 1.", None),
    "acceptance": ("The acceptance criterion of the case.", None),
    "requires": ("Target capabilities the case needs; a target without one reports the case not run.", None),
}
_KIND_TEXT_DOCS = {
    "scenario": "The risk scenario: what goes wrong, how, with what consequence.",
    "purpose": "What the SOP is for.",
    "objective": "What the case demonstrates.",
}
_LINK_DOCS: Mapping[m.LinkKind, str] = {
    m.LinkKind.TRACES_TO: "Regulation clauses this requirement fulfils.",
    m.LinkKind.SATISFIES: "URS this function satisfies.",
    m.LinkKind.IMPLEMENTS: "FS this design element implements.",
    m.LinkKind.AFFECTS: "URS whose fulfilment the risk threatens.",
    m.LinkKind.MITIGATED_BY: "FS, DS or SOP items that control the risk.",
    m.LinkKind.VERIFIES: "FS, DS, URS or RISK items this case verifies.",
    m.LinkKind.FULFILS: "URS this procedure fulfils.",
    m.LinkKind.RELATED: "Related clauses of the other regulation.",
}

ITEM_CLASSES: Mapping[str, type[m.Item]] = {
    "clause": m.Clause, "section": m.Section, "urs": m.Urs, "risk": m.Risk, "fs": m.FunctionalSpec,
    "ds": m.DesignSpec, "sop": m.Sop, "iq": m.TestCase, "oq": m.TestCase, "pq": m.TestCase,
}
_NOT_FROM_YAML = {"links", "source", "document_id"}
_OPTIONAL_STRINGS = {"exclusion"}
_DEFAULTS: Mapping[str, Any] = {
    "status": "active", "manual": False, "prerequisites": (), "requires": (), "settings": (),
    "responsibilities": (), "rationale": "", "exclusion": None,
}


def _type_of(hint: Any) -> str:
    if hint is str or hint == (str | None):
        return STRING
    if hint is int:
        return INTEGER
    if hint is bool:
        return BOOLEAN
    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        return {str: STRINGS, m.Step: STEPS, m.Setting: SETTINGS}[inner]
    return ANY


def item_keys(kind: str) -> tuple[KeySpec, ...]:
    """The YAML keys of one item kind, in the order the model declares them."""
    return _ITEM_KEYS[kind]


def _build_item_keys(kind: str) -> tuple[KeySpec, ...]:
    cls = ITEM_CLASSES[kind]
    hints = typing.get_type_hints(cls, vars(m))
    keys: list[KeySpec] = []
    for f in dataclasses.fields(cls):
        if f.name in _NOT_FROM_YAML:
            continue
        key = _TEXT_KEY.get(kind, "text") if f.name == "text" else f.name
        description, enum = _DOCS[f.name]
        if key in _KIND_TEXT_DOCS:
            description = _KIND_TEXT_DOCS[key]
        pattern = m.ID_PATTERNS[kind].pattern if f.name == "id" else None
        required = f.name not in _DEFAULTS
        keys.append(KeySpec(key, f.name, _type_of(hints[f.name]), required, description, enum, pattern,
                            _DEFAULTS.get(f.name)))
    for link_kind, (sources, _targets) in m.LINK_RULES.items():
        if kind in sources:
            keys.append(KeySpec(link_kind.value, "links", LINKS, False, _LINK_DOCS[link_kind], default=()))
    return tuple(keys)


_ITEM_KEYS: Mapping[str, tuple[KeySpec, ...]] = {kind: _build_item_keys(kind) for kind in ITEM_CLASSES}

DOCUMENT_KEYS: tuple[KeySpec, ...] = (
    KeySpec("id", "id", STRING, True, "Document ID, such as VG-URS.", pattern=m.ID_PATTERNS["document"].pattern),
    KeySpec("kind", "kind", STRING, True, "The kind of document.", tuple(k.value for k in m.DocumentKind)),
    KeySpec("title", "title", STRING, True, "Document title."),
    KeySpec("version", "version", STRING, True, "Document version, as a quoted string such as \"1.0\"."),
    KeySpec("owner", "owner", STRING, True, "The role that owns the document."),
    KeySpec("status", "status", STRING, True, "Document status.", ("draft", "in-review", "approved", "retired")),
    KeySpec("approvals", "approvals", ANY, False, "Approvals, written by 'valgen approve'; never edit by hand.",
            default=()),
)
APPROVAL_KEYS: tuple[KeySpec, ...] = (
    KeySpec("signer", "signer", STRING, True, "Signer ID from the signatories file."),
    KeySpec("name", "name", STRING, True, "Printed name of the signer."),
    KeySpec("meaning", "meaning", STRING, True, "Meaning of the signature.", m.APPROVAL_MEANINGS),
    KeySpec("time", "time", STRING, True, "UTC time of signing, ISO 8601 with Z.",
            pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", form="a UTC time such as 2026-11-28T09:30:00Z"),
    KeySpec("fingerprint", "fingerprint", STRING, True, "Fingerprint of the document content approved.",
            pattern=r"^sha256:[0-9a-f]{64}$", form="'sha256:' and 64 hexadecimal digits"),
    KeySpec("signature", "signature", STRING, False, "Detached signature over the approval (base64)."),
)
STEP_KEYS: tuple[KeySpec, ...] = (
    KeySpec("step", "number", INTEGER, True, "Step number, from 1."),
    KeySpec("action", "action", STRING, True, "What the executor does."),
    KeySpec("expected", "expected", STRING, True, "The expected result."),
)
SETTING_KEYS: tuple[KeySpec, ...] = (
    KeySpec("name", "name", STRING, True, "Setting name (specs/SETTINGS.md)."),
    KeySpec("resource", "resource", STRING, True, "Deployment parameter naming the resource, such as compliance_bucket."),
    KeySpec("value", "value", ANY, True, "The expected value."),
)
LINK_KEYS: tuple[KeySpec, ...] = (
    KeySpec("id", "target", STRING, True, "The linked item's ID."),
    KeySpec("fingerprint", "fingerprint", STRING, False, "The target's fingerprint when the link was last reviewed.",
            pattern=r"^sha256:[0-9a-f]{64}$", form="'sha256:' and 64 hexadecimal digits (see 'valgen trace ID')"),
)
CRITERION_MEASURES = ("cases_passed", "no_case_not_run", "deviations_closed", "coverage_complete",
                      "documents_approved")
COVERAGE_LEVELS = ("regulation", "urs", "fs", "risk")
CRITERION_KEYS: tuple[KeySpec, ...] = (
    KeySpec("id", "id", STRING, True, "Criterion ID, such as AC-01.", pattern=m.ID_PATTERNS["criterion"].pattern),
    KeySpec("text", "text", STRING, True, "The criterion as the plan states it."),
    KeySpec("measure", "measure", STRING, True, "How the summary report evaluates it.", CRITERION_MEASURES),
    KeySpec("stages", "stages", STRINGS, False, "Stages the measure covers (iq, oq, pq).", default=()),
    KeySpec("level", "level", STRING, False, "Coverage level, for coverage_complete.", COVERAGE_LEVELS),
)
TOP_KEYS = ("document", "items", "acceptance_criteria")
