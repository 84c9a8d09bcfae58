"""The content model: frozen value objects for documents, items and links. No I/O.

Every node remembers where it was read from (`Source`), so any finding can name
``path:line:col``. The loader (`generator.load`) is the only producer of these
objects from files; everything downstream consumes them read-only.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "APPROVAL_MEANINGS",
    "ID_PATTERNS",
    "LINK_RULES",
    "Approval",
    "Clause",
    "Criterion",
    "DesignSpec",
    "Document",
    "DocumentKind",
    "FunctionalSpec",
    "Item",
    "Link",
    "LinkKind",
    "Model",
    "Risk",
    "Section",
    "Setting",
    "Sop",
    "Source",
    "Step",
    "TestCase",
    "Urs",
    "canonical_json",
    "classify_risk",
    "current_approvals",
    "fingerprint",
    "kind_of_id",
]


class Source(NamedTuple):
    """Where a node was read from (1-based line and column).

    A named tuple rather than a frozen dataclass: a large corpus creates one per
    node, and tuples are built several times faster.
    """

    path: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class DocumentKind(enum.StrEnum):
    """The kinds of content file; each has its own JSON Schema."""

    REGULATIONS = "regulations"
    PLAN = "plan"
    URS = "urs"
    RISK = "risk"
    FS = "fs"
    DS = "ds"
    SOP = "sop"
    IQ = "iq"
    OQ = "oq"
    PQ = "pq"


# Stable ID formats. Regulation clauses: 21 CFR Part 11 paragraphs and EU GMP Annex 11 clauses.
ID_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "clause": re.compile(r"^(21CFR11\.\d+(\([a-z]\)(\(\d+\))?)?|ANNEX11-\d+(\.\d+)?)$"),
    "urs": re.compile(r"^URS-\d{3,}$"),
    "risk": re.compile(r"^RISK-\d{3,}$"),
    "fs": re.compile(r"^FS-\d{3,}$"),
    "ds": re.compile(r"^DS-\d{3,}$"),
    "sop": re.compile(r"^SOP-\d{3,}$"),
    "iq": re.compile(r"^IQ-\d{3,}$"),
    "oq": re.compile(r"^OQ-\d{3,}$"),
    "pq": re.compile(r"^PQ-\d{3,}$"),
    "section": re.compile(r"^VP-\d{1,}(\.\d+)*$"),
    "criterion": re.compile(r"^AC-\d{2,}$"),
    "document": re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"),
}

ID_EXAMPLES: Mapping[str, str] = {
    "clause": "21CFR11.10(e) or ANNEX11-9", "urs": "URS-001", "risk": "RISK-001", "fs": "FS-001",
    "ds": "DS-001", "sop": "SOP-001", "iq": "IQ-001", "oq": "OQ-001", "pq": "PQ-001", "section": "VP-1",
    "criterion": "AC-01", "document": "VG-URS",
}

# Item kinds as a sentence names them, with their article.
KIND_NAMES: Mapping[str, str] = {
    "clause": "a regulation clause", "urs": "a URS", "risk": "a risk", "fs": "an FS", "ds": "a DS",
    "sop": "an SOP", "iq": "an IQ case", "oq": "an OQ case", "pq": "a PQ case", "section": "a plan section",
    "unknown": "an item of unknown kind",
}

# Which item kind a document kind holds.
ITEM_KIND_OF_DOCUMENT: Mapping[DocumentKind, str] = {
    DocumentKind.REGULATIONS: "clause",
    DocumentKind.PLAN: "section",
    DocumentKind.URS: "urs",
    DocumentKind.RISK: "risk",
    DocumentKind.FS: "fs",
    DocumentKind.DS: "ds",
    DocumentKind.SOP: "sop",
    DocumentKind.IQ: "iq",
    DocumentKind.OQ: "oq",
    DocumentKind.PQ: "pq",
}

TEST_KINDS = frozenset({"iq", "oq", "pq"})


@functools.lru_cache(maxsize=65536)
def kind_of_id(item_id: str) -> str | None:
    """The item kind an ID's format says, or None if it matches no known format."""
    for kind, pattern in ID_PATTERNS.items():
        if kind != "document" and pattern.match(item_id):
            return kind
    return None


class LinkKind(enum.StrEnum):
    """Typed links, always from child to parent (see DESIGN.md, the content model)."""

    TRACES_TO = "traces_to"  # URS -> regulation clause
    SATISFIES = "satisfies"  # FS -> URS
    IMPLEMENTS = "implements"  # DS -> FS
    AFFECTS = "affects"  # RISK -> URS
    MITIGATED_BY = "mitigated_by"  # RISK -> FS / DS / SOP
    VERIFIES = "verifies"  # test case -> FS / DS / URS / RISK
    FULFILS = "fulfils"  # SOP -> URS
    RELATED = "related"  # clause -> clause (Part 11 <-> Annex 11)


# For each link kind: the item kinds it may start from and the kinds it may point at.
LINK_RULES: Mapping[LinkKind, tuple[frozenset[str], frozenset[str]]] = {
    LinkKind.TRACES_TO: (frozenset({"urs"}), frozenset({"clause"})),
    LinkKind.SATISFIES: (frozenset({"fs"}), frozenset({"urs"})),
    LinkKind.IMPLEMENTS: (frozenset({"ds"}), frozenset({"fs"})),
    LinkKind.AFFECTS: (frozenset({"risk"}), frozenset({"urs"})),
    LinkKind.MITIGATED_BY: (frozenset({"risk"}), frozenset({"fs", "ds", "sop"})),
    LinkKind.VERIFIES: (TEST_KINDS, frozenset({"fs", "ds", "urs", "risk"})),
    LinkKind.FULFILS: (frozenset({"sop"}), frozenset({"urs"})),
    LinkKind.RELATED: (frozenset({"clause"}), frozenset({"clause"})),
}

APPROVAL_MEANINGS = ("authored", "reviewed", "approved")


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """A typed link to another item; `fingerprint` is the target's fingerprint at last review."""

    kind: LinkKind
    target: str
    fingerprint: str | None
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval:
    """One approval of one version of a document (21 CFR 11.50: who, meaning, when)."""

    signer: str
    name: str
    meaning: str
    time: str  # ISO 8601 UTC with Z
    fingerprint: str  # the document fingerprint that was approved
    signature: str | None  # detached signature over the approval statement (base64), if any
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One protocol step with its expected result."""

    number: int
    action: str
    expected: str
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    """A machine-checkable configuration value a DS item expects.

    `resource` names a deployment parameter (such as ``compliance_bucket``) that
    the target profile resolves; the engine does not interpret names or values.
    """

    name: str
    resource: str
    value: Any
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """Fields every traceable item has."""

    id: str
    title: str
    text: str
    status: str  # active | retired
    links: tuple[Link, ...]
    source: Source
    document_id: str

    @property
    def kind(self) -> str:
        found = kind_of_id(self.id)
        return found if found is not None else "unknown"

    def links_of(self, kind: LinkKind) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.kind is kind)

    def content(self) -> dict[str, Any]:
        """The item's normalized content: what its fingerprint covers.

        Source positions and the fingerprints recorded on its own links are left
        out, so re-reviewing a link does not make the item's children suspect.
        """
        body: dict[str, Any] = {"id": self.id, "title": self.title, "text": self.text, "status": self.status}
        body["links"] = sorted([link.kind.value, link.target] for link in self.links)
        body.update(self._extra_content())
        return body

    def _extra_content(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Clause(Item):
    """A regulation clause of the catalogue; `exclusion` justifies leaving it out of scope."""

    regulation: str  # "21 CFR Part 11" or "EU GMP Annex 11"
    exclusion: str | None

    def _extra_content(self) -> dict[str, Any]:
        return {"regulation": self.regulation, "exclusion": self.exclusion}


@dataclass(frozen=True, slots=True, kw_only=True)
class Section(Item):
    """A numbered section of the Validation Plan."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    """An acceptance criterion of the Validation Plan, evaluated by the VSR.

    `measure` is one of a closed set (see generator.binder), with `stages` or
    `level` where the measure needs them.
    """

    id: str
    text: str
    measure: str
    stages: tuple[str, ...]
    level: str | None
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class Urs(Item):
    """A user requirement."""

    priority: str  # high | medium | low
    rationale: str

    def _extra_content(self) -> dict[str, Any]:
        return {"priority": self.priority, "rationale": self.rationale}


RISK_LEVELS = ("high", "medium", "low")


def classify_risk(severity: str, probability: str, detectability: str) -> tuple[int, str]:
    """GAMP 5: severity x probability -> class 1..3; class x detectability -> priority.

    Low detectability is worse. Returns (risk class, priority).
    """
    score = {"high": 3, "medium": 2, "low": 1}
    product = score[severity] * score[probability]
    risk_class = 1 if product >= 6 else (2 if product >= 3 else 3)
    # class 1 is worst; detectability low is worst
    table = {
        (1, "low"): "high", (1, "medium"): "high", (1, "high"): "medium",
        (2, "low"): "high", (2, "medium"): "medium", (2, "high"): "low",
        (3, "low"): "medium", (3, "medium"): "low", (3, "high"): "low",
    }
    return risk_class, table[(risk_class, detectability)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Risk(Item):
    """A risk with its GAMP 5 assessment and mitigations. `text` holds the scenario."""

    severity: str
    probability: str
    detectability: str
    risk_class: int
    priority: str
    residual_risk: str

    def _extra_content(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "probability": self.probability,
            "detectability": self.detectability,
            "risk_class": self.risk_class,
            "priority": self.priority,
            "residual_risk": self.residual_risk,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionalSpec(Item):
    """A function of the system that satisfies one or more URS."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignSpec(Item):
    """A design element; `settings` are the configuration values IQ reads back."""

    settings: tuple[Setting, ...]

    def _extra_content(self) -> dict[str, Any]:
        return {"settings": [[s.name, s.resource, s.value] for s in self.settings]}


@dataclass(frozen=True, slots=True, kw_only=True)
class Sop(Item):
    """A standard operating procedure: the procedural control for one or more URS. `text` holds the purpose."""

    responsibilities: tuple[str, ...]
    procedure: tuple[str, ...]

    @property
    def purpose(self) -> str:
        return self.text

    def _extra_content(self) -> dict[str, Any]:
        return {
            "responsibilities": list(self.responsibilities),
            "procedure": list(self.procedure),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TestCase(Item):
    """An IQ/OQ/PQ protocol case. `text` holds the objective."""

    __test__ = False  # not a pytest class

    polarity: str  # positive | negative
    manual: bool
    prerequisites: tuple[str, ...]
    steps: tuple[Step, ...]
    acceptance: str
    requires: tuple[str, ...]  # target capabilities the case needs (see the capability table)

    @property
    def stage(self) -> str:
        return self.id.split("-", 1)[0].lower()

    @property
    def objective(self) -> str:
        return self.text

    def _extra_content(self) -> dict[str, Any]:
        return {
            "polarity": self.polarity,
            "manual": self.manual,
            "prerequisites": list(self.prerequisites),
            "steps": [[s.number, s.action, s.expected] for s in self.steps],
            "acceptance": self.acceptance,
            "requires": list(self.requires),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """One content file: a header and its items. The unit that gets approved."""

    id: str
    kind: DocumentKind
    title: str
    version: str
    owner: str
    status: str  # draft | in-review | approved | retired
    approvals: tuple[Approval, ...]
    items: tuple[Item, ...]
    criteria: tuple[Criterion, ...]
    source: Source
    # the approvals list's own position, so a new approval can be written back in place
    approvals_source: Source | None = None

    def content(self) -> dict[str, Any]:
        """What the document fingerprint covers: the header (not approvals) and every item."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "title": self.title,
            "version": self.version,
            "owner": self.owner,
            "items": [item.content() for item in self.items],
            "criteria": [[c.id, c.text, c.measure, list(c.stages), c.level] for c in self.criteria],
        }


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def fingerprint(node: Item | Document) -> str:
    """SHA-256 of a node's normalized content, as ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(canonical_json(node.content())).hexdigest()


def current_approvals(document: Document, verify: Callable[[Approval], str | None],
                      meaning: str | None = None) -> list[Approval]:
    """The approvals of exactly this version of `document` (optionally of one meaning) that `verify` accepts
    (it returns the problem with an approval's signature and signer, or None when they hold)."""
    current = fingerprint(document)
    return [a for a in document.approvals
            if a.fingerprint == current and (meaning is None or a.meaning == meaning) and verify(a) is None]


@dataclass(frozen=True, slots=True)
class Model:
    """All loaded documents, with an index of items by ID (first definition wins) and its reverse links."""

    documents: tuple[Document, ...]
    items: Mapping[str, Item] = field(default_factory=dict)
    child_index: Mapping[str, list[tuple[LinkKind, Item]]] = field(default_factory=dict)

    @classmethod
    def of(cls, documents: Iterable[Document]) -> Model:
        docs = tuple(documents)
        index: dict[str, Item] = {}
        reverse: dict[str, list[tuple[LinkKind, Item]]] = {}
        for doc in docs:
            for item in doc.items:
                index.setdefault(item.id, item)
                for link in item.links:
                    reverse.setdefault(link.target, []).append((link.kind, item))
        return cls(docs, index, reverse)

    def all_items(self) -> Iterator[Item]:
        for doc in self.documents:
            yield from doc.items

    def of_kind(self, kind: str) -> Iterator[Item]:
        return (item for item in self.all_items() if item.kind == kind)

    def test_cases(self) -> Iterator[TestCase]:
        return (item for item in self.all_items() if isinstance(item, TestCase))

    def document(self, doc_id: str) -> Document | None:
        return next((d for d in self.documents if d.id == doc_id), None)

    def children(self) -> Mapping[str, list[tuple[LinkKind, Item]]]:
        """Reverse index: target ID -> [(link kind, child item)]. Read-only."""
        return self.child_index
