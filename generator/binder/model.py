"""The binder as typed values: every section of the validation package before any format.

Renderers (PDF, HTML, CSV/XLSX) receive a `Binder` and never compute anything that
changes its meaning: the matrix, coverage, deviations and the Validation Summary
Report are decided here, in `generator.binder.build`.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Clause, Document, Item, Risk, Sop, TestCase, Urs
from generator.model.run import Deviation, Outcome

__all__ = [
    "SIGNATURE_SLOTS",
    "Binder",
    "CaseOutcomeCount",
    "Coverage",
    "CriterionResult",
    "Deliverable",
    "DeviationEntry",
    "EvidenceRef",
    "ExecutedCase",
    "ExecutedStep",
    "Gap",
    "MatrixRow",
    "RiskRef",
    "RunSummary",
    "SignatureSlot",
    "Vsr",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceRef:
    """One evidence file of one run, as attached to the binder (``runs/<run_id>/<path>``)."""

    run_id: str
    path: str
    sha256: str
    size: int
    cases: tuple[str, ...]

    @property
    def attachment(self) -> str:
        return f"runs/{self.run_id}/{self.path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutedStep:
    """A protocol step next to what the latest run recorded for it."""

    number: int
    action: str
    expected: str
    actual: str
    outcome: Outcome
    evidence: tuple[str, ...]  # attachment names
    time: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutedCase:
    """A protocol case with its latest result across the given runs (NOT_RUN when never executed)."""

    case: TestCase
    outcome: Outcome
    reason: str
    run_id: str | None
    executed_by: str
    started: str
    finished: str
    steps: tuple[ExecutedStep, ...]
    deviations: tuple[str, ...]
    evidence: tuple[str, ...]  # attachment names, in step order

    @property
    def id(self) -> str:
        return self.case.id

    @property
    def stage(self) -> str:
        return self.case.stage


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviationEntry:
    """A deviation from a run, with the run that opened it."""

    deviation: Deviation
    run_id: str

    @property
    def id(self) -> str:
        return self.deviation.id

    @property
    def closed(self) -> bool:
        return self.deviation.state == "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskRef:
    """A risk as the matrix shows it: ID, class and priority."""

    id: str
    risk_class: int
    priority: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixRow:
    """One line of the traceability matrix: clause -> URS -> FS/DS -> risk -> cases -> result -> deviations -> evidence."""

    clause: str | None  # None: a URS that traces to no clause (a gap)
    clause_excluded: str | None  # the justification when the clause is out of scope
    urs: str | None  # None: a clause no URS covers (a gap unless excluded)
    urs_title: str
    fs: tuple[str, ...]
    ds: tuple[str, ...]
    sops: tuple[str, ...]
    risks: tuple[RiskRef, ...]
    cases: tuple[tuple[str, Outcome], ...]
    deviations: tuple[str, ...]
    evidence: tuple[str, ...]
    gaps: tuple[str, ...]  # human-readable gap notes for this row

    @property
    def result(self) -> Outcome | None:
        """The row's overall result: failed/error beat not run, which beats passed; None without cases."""
        outcomes = {outcome for _, outcome in self.cases}
        for worst in (Outcome.FAILED, Outcome.ERROR, Outcome.NOT_RUN, Outcome.PASSED):
            if worst in outcomes:
                return worst
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """An item not covered at a level, and why."""

    item: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """Coverage at one level of the chain (regulation, urs, fs, risk)."""

    level: str
    title: str
    total: int
    covered: int
    gaps: tuple[Gap, ...]

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total

    @property
    def complete(self) -> bool:
        return not self.gaps


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseOutcomeCount:
    """Cases of one stage by latest outcome."""

    stage: str
    passed: int
    failed: int
    error: int
    not_run: int

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.not_run


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliverable:
    """A deliverable of the validation and whether it is done."""

    name: str
    reference: str
    state: str
    done: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionResult:
    """A plan acceptance criterion evaluated against the binder."""

    id: str
    text: str
    measure: str
    met: bool
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """What the binder says about one run it used."""

    run_id: str
    stages: tuple[str, ...]
    target: str
    target_kind: str
    account: str
    regions: tuple[str, ...]
    executor: str
    started: str
    finished: str
    complete: bool
    formal: bool
    informal_reasons: tuple[str, ...]
    cases: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Vsr:
    """The Validation Summary Report: computed, never typed."""

    deliverables: tuple[Deliverable, ...]
    outcomes: tuple[CaseOutcomeCount, ...]
    deviations_open: int
    deviations_closed: int
    criteria: tuple[CriterionResult, ...]
    release: bool
    release_blockers: tuple[str, ...]
    conclusion: str
    demonstration: bool  # the target is the embedded moto: not evidence for a GxP system


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureSlot:
    """An empty signature box on the signature page; `field` is the PDF form field name."""

    order: int
    meaning: str
    role: str
    field: str


# Field names agreed with the e-signature engineer (issue 7): sig-<order>-<meaning>.
SIGNATURE_SLOTS: tuple[SignatureSlot, ...] = (
    SignatureSlot(order=1, meaning="authored", role="Author (validation lead)", field="sig-1-authored"),
    SignatureSlot(order=2, meaning="reviewed", role="Reviewer (system owner)", field="sig-2-reviewed"),
    SignatureSlot(order=3, meaning="approved", role="Approver (Quality Assurance)", field="sig-3-approved"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Binder:
    """The whole validation package as data."""

    doc_id: str
    version: str
    title: str
    system: str
    status: str
    generated: str  # UTC ISO 8601 with Z, pinned for reproducible output
    commit: str  # git commit of the content, or "" outside git
    documents: tuple[Document, ...]  # every content document, in binder order
    plan: Document | None
    clauses: tuple[Clause, ...]
    urs: tuple[Urs, ...]
    risks: tuple[Risk, ...]
    fs: tuple[Item, ...]
    ds: tuple[Item, ...]
    sops: tuple[Sop, ...]
    cases: tuple[ExecutedCase, ...]
    runs: tuple[RunSummary, ...]
    deviations: tuple[DeviationEntry, ...]
    matrix: tuple[MatrixRow, ...]
    coverage: tuple[Coverage, ...]
    vsr: Vsr
    signatures: tuple[SignatureSlot, ...]
    evidence: tuple[EvidenceRef, ...]
    item_pages: dict[str, str]  # item ID -> section key that shows it (for links)

    def cases_of(self, stage: str) -> tuple[ExecutedCase, ...]:
        return tuple(c for c in self.cases if c.stage == stage)

    def document_of_kind(self, kind: str) -> tuple[Document, ...]:
        return tuple(d for d in self.documents if d.kind.value == kind)
