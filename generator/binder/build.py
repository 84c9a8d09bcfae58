"""Computing the binder from the content model and run records: matrix, coverage, results, VSR.

Everything a reader of the binder is asked to trust is decided here, once, so the
PDF, the HTML site and the spreadsheets cannot disagree. The VSR is computed,
never typed (issue 6): a release-for-use conclusion is given only when every
required case passed, none is not run, every deviation is closed, every run is
formal evidence and every acceptance criterion of the plan is met.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from generator.binder.model import (
    SIGNATURE_SLOTS,
    Binder,
    CaseOutcomeCount,
    Coverage,
    CriterionResult,
    Deliverable,
    DeviationEntry,
    EvidenceRef,
    ExecutedCase,
    ExecutedStep,
    Gap,
    MatrixRow,
    RiskRef,
    RunSummary,
    Vsr,
)
from generator.binder.runs import RunBundle
from generator.model import (
    Approval,
    Clause,
    Criterion,
    DesignSpec,
    Document,
    DocumentKind,
    FunctionalSpec,
    Item,
    LinkKind,
    Model,
    Risk,
    Sop,
    TestCase,
    Urs,
    current_approvals,
)
from generator.model.run import CaseResult, Outcome

__all__ = ["DOCUMENT_ORDER", "MEASURES", "STAGES", "build_binder"]

STAGES = ("iq", "oq", "pq")

# Binder order of the content documents (GAMP 5 package order).
DOCUMENT_ORDER = ("plan", "regulations", "urs", "risk", "fs", "ds", "sop", "iq", "oq", "pq")

DELIVERABLE_NAMES = {
    "plan": "Validation Plan",
    "regulations": "Regulation catalogue",
    "urs": "User Requirements Specification",
    "risk": "Risk assessment",
    "fs": "Functional Specification",
    "ds": "Design Specification",
    "sop": "Standard Operating Procedures",
    "iq": "Installation Qualification protocol",
    "oq": "Operational Qualification protocol",
    "pq": "Performance Qualification protocol",
}

# The closed set of acceptance-criterion measures (requirements/FORMAT.md, "Plan").
MEASURES = ("cases_passed", "no_case_not_run", "deviations_closed", "coverage_complete", "documents_approved")

# Files of a run directory that are the run's own records rather than evidence of a step.
RUN_RECORD_FILES = frozenset({"run.json", "SHA256SUMS", "junit.xml", "report.html"})

NOT_EXECUTED = "not executed in any run given to the build"


def _active(items: Iterable[Item]) -> list[Item]:
    return [i for i in items if i.status != "retired"]


def _latest_results(runs: Sequence[RunBundle]) -> dict[str, tuple[CaseResult, RunBundle]]:
    """Latest result per case across the runs, ordered by finish time then run ID."""
    latest: dict[str, tuple[CaseResult, RunBundle]] = {}
    for bundle in sorted(runs, key=lambda b: (b.run.finished, b.run.run_id)):
        for result in bundle.run.cases:
            latest[result.case] = (result, bundle)
    return latest


def _executed(case: TestCase, found: tuple[CaseResult, RunBundle] | None) -> ExecutedCase:
    if found is None:
        steps = tuple(
            ExecutedStep(
                number=s.number, action=s.action, expected=s.expected, actual="",
                outcome=Outcome.NOT_RUN, evidence=(), time="",
            )
            for s in case.steps
        )
        return ExecutedCase(
            case=case, outcome=Outcome.NOT_RUN, reason=NOT_EXECUTED, run_id=None, executed_by="",
            started="", finished="", steps=steps, deviations=(), evidence=(),
        )
    result, bundle = found
    run_id = bundle.run.run_id
    recorded = {s.step: s for s in result.steps}
    steps_out: list[ExecutedStep] = []
    evidence: list[str] = []
    for s in case.steps:
        r = recorded.pop(s.number, None)
        names = tuple(f"runs/{run_id}/{p}" for p in (r.evidence if r else ()))
        evidence.extend(n for n in names if n not in evidence)
        steps_out.append(
            ExecutedStep(
                number=s.number, action=s.action, expected=s.expected,
                actual=r.actual if r else "",
                # a step the run did not record is not run, never passed
                outcome=r.outcome if r else Outcome.NOT_RUN,
                evidence=names, time=r.time if r else "",
            )
        )
    for number in sorted(recorded):  # steps the run recorded beyond the protocol's
        r = recorded[number]
        names = tuple(f"runs/{run_id}/{p}" for p in r.evidence)
        evidence.extend(n for n in names if n not in evidence)
        steps_out.append(
            ExecutedStep(number=r.step, action=r.action, expected=r.expected, actual=r.actual,
                         outcome=r.outcome, evidence=names, time=r.time)
        )
    executor = bundle.run.executor.caller_arn or bundle.run.executor.os_user
    return ExecutedCase(
        case=case, outcome=result.outcome, reason=result.reason, run_id=run_id, executed_by=executor,
        started=result.started, finished=result.finished, steps=tuple(steps_out),
        deviations=result.deviations, evidence=tuple(evidence),
    )


def _gather_deviations(runs: Sequence[RunBundle]) -> tuple[DeviationEntry, ...]:
    found: dict[str, DeviationEntry] = {}
    for bundle in sorted(runs, key=lambda b: (b.run.finished, b.run.run_id)):
        for dev in bundle.run.deviations:
            found[dev.id] = DeviationEntry(deviation=dev, run_id=bundle.run.run_id)
    return tuple(sorted(found.values(), key=lambda d: d.id))


def _evidence_index(runs: Sequence[RunBundle]) -> tuple[EvidenceRef, ...]:
    refs: list[EvidenceRef] = []
    for bundle in sorted(runs, key=lambda b: b.run.run_id):
        users: dict[str, list[str]] = {}
        for result in bundle.run.cases:
            for step in result.steps:
                for path in step.evidence:
                    users.setdefault(path, [])
                    if result.case not in users[path]:
                        users[path].append(result.case)
        for f in bundle.files:
            refs.append(EvidenceRef(run_id=bundle.run.run_id, path=f.path, sha256=f.sha256, size=f.size,
                                    cases=tuple(users.get(f.path, ()))))
    return tuple(refs)


class _Graph:
    """Link lookups the matrix and coverage need, built once."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.children: dict[str, list[tuple[LinkKind, Item]]] = {}
        for item in _active(model.all_items()):
            for link in item.links:
                self.children.setdefault(link.target, []).append((link.kind, item))

    def kids(self, target: str, kind: LinkKind) -> list[Item]:
        return [item for k, item in self.children.get(target, ()) if k is kind]

    def verifying(self, targets: Iterable[str]) -> list[TestCase]:
        seen: dict[str, TestCase] = {}
        for target in targets:
            for item in self.kids(target, LinkKind.VERIFIES):
                if isinstance(item, TestCase):
                    seen.setdefault(item.id, item)
        return list(seen.values())


def _sort_ids(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(ids)))


def _matrix(
    graph: _Graph, clauses: list[Clause], urs: list[Urs], executed: dict[str, ExecutedCase],
    deviations: tuple[DeviationEntry, ...],
) -> tuple[MatrixRow, ...]:
    devs_of_case: dict[str, set[str]] = {}
    for d in deviations:
        devs_of_case.setdefault(d.deviation.case, set()).add(d.id)
    risks_by_id = {r.id: r for r in graph.model.of_kind("risk") if isinstance(r, Risk)}

    def row_for(clause: Clause | None, u: Urs) -> MatrixRow:
        fs = [i.id for i in graph.kids(u.id, LinkKind.SATISFIES)]
        ds = [d.id for f in fs for d in graph.kids(f, LinkKind.IMPLEMENTS)]
        sops = [s.id for s in graph.kids(u.id, LinkKind.FULFILS)]
        risks = [r.id for r in graph.kids(u.id, LinkKind.AFFECTS)]
        cases = graph.verifying([u.id, *fs, *ds, *risks])
        case_ids = _sort_ids(c.id for c in cases)
        devs: set[str] = set()
        evidence: list[str] = []
        for cid in case_ids:
            ex = executed.get(cid)
            if ex is not None:
                devs.update(ex.deviations)
                evidence.extend(e for e in ex.evidence if e not in evidence)
            devs.update(devs_of_case.get(cid, ()))
        gaps = []
        if clause is None:
            gaps.append(f"{u.id} traces to no regulation clause")
        if not fs and not sops:
            gaps.append(f"no FS or SOP satisfies {u.id}")
        if not cases and not sops:
            gaps.append(f"no test case verifies {u.id} or its FS/DS/risks")
        return MatrixRow(
            clause=clause.id if clause else None,
            clause_excluded=clause.exclusion if clause else None,
            urs=u.id, urs_title=u.title,
            fs=_sort_ids(fs), ds=_sort_ids(ds), sops=_sort_ids(sops),
            risks=tuple(
                RiskRef(id=r, risk_class=risks_by_id[r].risk_class, priority=risks_by_id[r].priority)
                for r in _sort_ids(risks) if r in risks_by_id
            ),
            cases=tuple((cid, executed[cid].outcome) for cid in case_ids if cid in executed),
            deviations=_sort_ids(devs), evidence=tuple(evidence), gaps=tuple(gaps),
        )

    cache: dict[str, MatrixRow] = {}
    rows: list[MatrixRow] = []
    traced: set[str] = set()
    for clause in clauses:
        tracing = [u for u in graph.kids(clause.id, LinkKind.TRACES_TO) if isinstance(u, Urs)]
        if not tracing:
            rows.append(MatrixRow(
                clause=clause.id, clause_excluded=clause.exclusion, urs=None, urs_title="",
                fs=(), ds=(), sops=(), risks=(), cases=(), deviations=(), evidence=(),
                gaps=() if clause.exclusion else (f"no URS covers {clause.id}",),
            ))
            continue
        for u in sorted(tracing, key=lambda x: x.id):
            traced.add(u.id)
            base = cache.get(u.id) or row_for(clause, u)
            cache[u.id] = base
            rows.append(MatrixRow(
                clause=clause.id, clause_excluded=clause.exclusion, urs=base.urs, urs_title=base.urs_title,
                fs=base.fs, ds=base.ds, sops=base.sops, risks=base.risks, cases=base.cases,
                deviations=base.deviations, evidence=base.evidence, gaps=base.gaps,
            ))
    for u in urs:
        if u.id not in traced:
            rows.append(row_for(None, u))
    return tuple(rows)


def _coverage(
    graph: _Graph, clauses: list[Clause], urs: list[Urs], fs: Sequence[Item], risks: list[Risk],
) -> tuple[Coverage, ...]:
    levels: list[Coverage] = []

    in_scope = [c for c in clauses if not c.exclusion]
    gaps = [Gap(item=c.id, reason="no URS traces to this clause") for c in in_scope
            if not graph.kids(c.id, LinkKind.TRACES_TO)]
    levels.append(Coverage(level="regulation", title="Regulation clauses covered by a URS (exclusions justified)",
                           total=len(in_scope), covered=len(in_scope) - len(gaps), gaps=tuple(gaps)))

    gaps = []
    for u in urs:
        fs_ids = [i.id for i in graph.kids(u.id, LinkKind.SATISFIES)]
        ds_ids = [d.id for f in fs_ids for d in graph.kids(f, LinkKind.IMPLEMENTS)]
        sops = graph.kids(u.id, LinkKind.FULFILS)
        risk_ids = [r.id for r in graph.kids(u.id, LinkKind.AFFECTS)]
        if not fs_ids and not sops:
            gaps.append(Gap(item=u.id, reason="no FS satisfies it and no SOP fulfils it"))
        elif not sops and not graph.verifying([u.id, *fs_ids, *ds_ids, *risk_ids]):
            gaps.append(Gap(item=u.id, reason="no test case verifies it, its FS/DS or its risks"))
    levels.append(Coverage(level="urs", title="URS satisfied (FS or SOP) and verified",
                           total=len(urs), covered=len(urs) - len(gaps), gaps=tuple(gaps)))

    gaps = []
    for f in fs:
        ds_ids = [d.id for d in graph.kids(f.id, LinkKind.IMPLEMENTS)]
        if not graph.verifying([f.id, *ds_ids]):
            gaps.append(Gap(item=f.id, reason="no test case verifies it or its DS"))
    levels.append(Coverage(level="fs", title="FS verified by a test case (directly or through its DS)",
                           total=len(fs), covered=len(fs) - len(gaps), gaps=tuple(gaps)))

    gaps = []
    for r in risks:
        mitigations = [link.target for link in r.links_of(LinkKind.MITIGATED_BY)]
        cases = graph.verifying([r.id, *mitigations])
        if not mitigations:
            gaps.append(Gap(item=r.id, reason="no mitigation (FS/DS/SOP) named"))
        elif not cases and not all(graph.model.items.get(m) and graph.model.items[m].kind == "sop"
                                   for m in mitigations):
            gaps.append(Gap(item=r.id, reason="no test case verifies it or its mitigations"))
        elif r.priority == "high":
            scripted = [c for c in cases if c.steps]
            polarities = {c.polarity for c in scripted}
            missing = [p for p in ("positive", "negative") if p not in polarities]
            if missing:
                gaps.append(Gap(item=r.id, reason=f"high priority: no {' or '.join(missing)} scripted case"))
    levels.append(Coverage(level="risk", title="Risks mitigated and verified (high: positive and negative cases)",
                           total=len(risks), covered=len(risks) - len(gaps), gaps=tuple(gaps)))
    return tuple(levels)


def _count(cases: Sequence[ExecutedCase], stage: str) -> CaseOutcomeCount:
    of = [c.outcome for c in cases if c.stage == stage]
    return CaseOutcomeCount(
        stage=stage, passed=of.count(Outcome.PASSED), failed=of.count(Outcome.FAILED),
        error=of.count(Outcome.ERROR), not_run=of.count(Outcome.NOT_RUN),
    )


def _approval_state(document: Document, check: Callable[[Approval], str | None] | None) -> tuple[bool, str]:
    """Whether a document is approved, and its state in words: its status says approved, or it carries an
    approval (meaning "approved") of exactly its current content whose signature and signer hold."""
    if document.status == "approved":
        return True, "approved"
    signed = current_approvals(document, check, "approved") if check is not None else []
    if signed:
        return True, f"approved by signature: {signed[0].name}, {signed[0].time}"
    return False, document.status


def _criterion(
    criterion: Criterion, cases: Sequence[ExecutedCase], deviations: Sequence[DeviationEntry],
    coverage: Sequence[Coverage], documents: Sequence[Document], approvals: dict[str, tuple[bool, str]],
) -> CriterionResult:
    stages = criterion.stages or STAGES
    scoped = [c for c in cases if c.stage in stages and c.case.status != "retired"]
    measure = criterion.measure
    if measure == "cases_passed":
        bad = [c.id for c in scoped if c.outcome is not Outcome.PASSED]
        met, detail = not bad and bool(scoped), (
            f"{len(scoped) - len(bad)} of {len(scoped)} cases of {', '.join(s.upper() for s in stages)} passed"
            + (f"; not passed: {', '.join(bad[:12])}{' …' if len(bad) > 12 else ''}" if bad else "")
        )
    elif measure == "no_case_not_run":
        bad = [c.id for c in scoped if c.outcome is Outcome.NOT_RUN]
        met = not bad and bool(scoped)
        detail = "no case not run" if not bad else f"{len(bad)} not run: {', '.join(bad[:12])}{' …' if len(bad) > 12 else ''}"
    elif measure == "deviations_closed":
        open_ = [d.id for d in deviations if not d.closed]
        met = not open_
        detail = f"{len(deviations)} deviations, all closed" if met else f"open: {', '.join(open_)}"
    elif measure == "coverage_complete":
        level = next((c for c in coverage if c.level == criterion.level), None)
        if level is None:
            met, detail = False, f"unknown coverage level {criterion.level!r}"
        else:
            met = level.complete
            detail = f"{level.covered} of {level.total} covered" + (f"; {len(level.gaps)} gaps" if level.gaps else "")
    elif measure == "documents_approved":
        pending = [f"{d.id} ({state})" for d in documents for ok, state in [approvals[d.id]] if not ok]
        met = not pending
        detail = "every document approved" if met else f"not approved: {', '.join(pending)}"
    else:
        met, detail = False, f"unknown measure {measure!r}; expected one of {', '.join(MEASURES)}"
    return CriterionResult(id=criterion.id, text=criterion.text, measure=measure, met=met, detail=detail)


def _deliverables(
    documents: Sequence[Document], cases: Sequence[ExecutedCase], coverage: Sequence[Coverage],
    deviations: Sequence[DeviationEntry], approvals: dict[str, tuple[bool, str]],
) -> tuple[Deliverable, ...]:
    out: list[Deliverable] = []
    for kind in DOCUMENT_ORDER:
        docs = [d for d in documents if d.kind.value == kind]
        if not docs:
            out.append(Deliverable(name=DELIVERABLE_NAMES[kind], reference="—", state="missing", done=False))
            continue
        for d in docs:
            approved, state = approvals[d.id]
            out.append(Deliverable(name=DELIVERABLE_NAMES[kind] if len(docs) == 1 else f"{DELIVERABLE_NAMES[kind]}: {d.title}",
                                   reference=f"{d.id} v{d.version}", state=state, done=approved))
    for stage in STAGES:
        of = [c for c in cases if c.stage == stage]
        executed = [c for c in of if c.run_id is not None]
        out.append(Deliverable(
            name=f"{stage.upper()} execution", reference=", ".join(sorted({c.run_id for c in executed if c.run_id})) or "—",
            state=f"{len(executed)} of {len(of)} cases executed", done=bool(of) and len(executed) == len(of),
        ))
    gaps = sum(len(c.gaps) for c in coverage)
    out.append(Deliverable(name="Traceability matrix", reference="this binder",
                           state="complete" if not gaps else f"{gaps} gaps", done=not gaps))
    open_ = sum(1 for d in deviations if not d.closed)
    out.append(Deliverable(name="Deviation log", reference="this binder",
                           state=f"{len(deviations)} deviations, {open_} open", done=open_ == 0))
    return tuple(out)


def _system_name(plan: Document | None) -> str:
    """The system's name from the plan's title ("Validation Plan — X", "Validation Plan for X")."""
    if plan is None:
        return "System under validation"
    title = plan.title.strip()
    for marker in (" for the ", " for ", " — ", " – ", " - ", ": "):
        if marker in title:
            rest = title.split(marker, 1)[1].strip()
            if rest:
                return rest
    return title


def build_binder(
    model: Model,
    runs: Sequence[RunBundle] = (),
    *,
    commit: str = "",
    generated: str = "1970-01-01T00:00:00Z",
    doc_id: str | None = None,
    system: str | None = None,
    approval_check: Callable[[Approval], str | None] | None = None,
) -> Binder:
    """The binder for a content model and the runs given (latest result per case wins). `approval_check`
    verifies a signed approval (None when it holds); without it only a document's status counts."""
    order = {k: i for i, k in enumerate(DOCUMENT_ORDER)}
    documents = tuple(sorted(model.documents, key=lambda d: (order.get(d.kind.value, 99), d.id)))
    plan = next((d for d in documents if d.kind is DocumentKind.PLAN), None)
    graph = _Graph(model)

    clauses = [c for c in _active(model.of_kind("clause")) if isinstance(c, Clause)]
    urs = [u for u in _active(model.of_kind("urs")) if isinstance(u, Urs)]
    risks = [r for r in _active(model.of_kind("risk")) if isinstance(r, Risk)]
    fs = [f for f in _active(model.of_kind("fs")) if isinstance(f, FunctionalSpec)]
    ds = [d for d in _active(model.of_kind("ds")) if isinstance(d, DesignSpec)]
    sops = [s for s in _active(model.of_kind("sop")) if isinstance(s, Sop)]

    latest = _latest_results(runs)
    protocol_cases = [c for c in model.test_cases() if c.status != "retired"]
    executed = {c.id: _executed(c, latest.get(c.id)) for c in protocol_cases}
    cases = tuple(sorted(executed.values(), key=lambda e: (STAGES.index(e.stage) if e.stage in STAGES else 9, e.id)))
    deviations = _gather_deviations(runs)
    matrix = _matrix(graph, clauses, urs, executed, deviations)
    coverage = _coverage(graph, clauses, urs, fs, risks)

    criteria_model = plan.criteria if plan else ()
    approvals = {d.id: _approval_state(d, approval_check) for d in documents}
    criteria = tuple(_criterion(c, cases, deviations, coverage, documents, approvals) for c in criteria_model)

    required_stages = sorted(
        {s for c in criteria_model if c.measure in ("cases_passed", "no_case_not_run") for s in c.stages}
        or set(STAGES), key=lambda s: STAGES.index(s) if s in STAGES else 9,
    )
    required = [c for c in cases if c.stage in required_stages]
    blockers: list[str] = []
    if not runs:
        blockers.append("no run record was given to the build")
    # one line per outcome (and per not-run reason), so a QA reader sees the shape at a glance
    for outcome in (Outcome.FAILED, Outcome.ERROR):
        bad = [c.id for c in required if c.outcome is outcome]
        if len(bad) == 1:
            blockers.append(f"{bad[0]} {outcome.value}")
        elif bad:
            blockers.append(f"{len(bad)} cases {outcome.value}: {', '.join(bad)}")
    reasons: dict[str, list[str]] = {}
    for c in required:
        if c.outcome is Outcome.NOT_RUN:
            reasons.setdefault(c.reason or "no reason recorded", []).append(c.id)
    for reason, cids in reasons.items():
        if len(cids) == 1:
            blockers.append(f"{cids[0]} not run: {reason}")
        else:
            blockers.append(f"{len(cids)} cases not run ({reason}): {', '.join(cids)}")
    if not required:
        blockers.append("the protocols hold no case for the required stages")
    blockers.extend(f"{d.id} is {d.deviation.state}" for d in deviations if not d.closed)
    known = {c.id for c in protocol_cases}
    for b in runs:
        unknown = sorted({r.case for r in b.run.cases} - known)
        if unknown:
            # a result for a case the protocols do not hold cannot be traced or reviewed
            blockers.append(f"run {b.run.run_id} has results for cases not in the protocols: {', '.join(unknown)}")
        if not b.run.complete:
            blockers.append(f"run {b.run.run_id} is incomplete")
        if not b.run.formal:
            why = "; ".join(b.run.informal_reasons) or "protocols not approved"
            blockers.append(f"run {b.run.run_id} is not formal evidence: {why}")
    blockers.extend(f"acceptance criterion {c.id} not met: {c.detail}" for c in criteria if not c.met)
    release = not blockers
    demonstration = any(b.run.target.kind == "moto" for b in runs)
    system_name = system or _system_name(plan)
    if release and demonstration:
        conclusion = (
            f"Every required case passed, no required case is not run and every deviation is closed. "
            f"The qualification was executed against the embedded moto demonstration target: {system_name} "
            f"is released for use as a demonstration only. This binder is not evidence for a GxP system."
        )
    elif release:
        conclusion = (
            f"Every required case passed, no required case is not run, every deviation is closed and every "
            f"acceptance criterion of the plan is met. {system_name} is released for its intended use."
        )
    else:
        conclusion = (
            f"{system_name} is NOT released for use: {len(blockers)} "
            f"{'condition is' if len(blockers) == 1 else 'conditions are'} not met (listed below)."
        )
        if demonstration:
            conclusion += " The runs were executed against the embedded moto demonstration target; this binder is not evidence for a GxP system."

    vsr = Vsr(
        deliverables=_deliverables(documents, cases, coverage, deviations, approvals),
        outcomes=tuple(_count(cases, s) for s in STAGES),
        deviations_open=sum(1 for d in deviations if not d.closed),
        deviations_closed=sum(1 for d in deviations if d.closed),
        criteria=criteria, release=release, release_blockers=tuple(blockers),
        conclusion=conclusion, demonstration=demonstration,
    )
    runs_out = tuple(
        RunSummary(
            run_id=b.run.run_id, stages=b.run.stages, target=b.run.target.profile, target_kind=b.run.target.kind,
            account=b.run.target.account, regions=b.run.target.regions,
            executor=b.run.executor.caller_arn or b.run.executor.os_user,
            started=b.run.started, finished=b.run.finished, complete=b.run.complete, formal=b.run.formal,
            informal_reasons=b.run.informal_reasons, cases=len(b.run.cases),
        )
        for b in sorted(runs, key=lambda b: (b.run.finished, b.run.run_id))
    )
    item_pages: dict[str, str] = {}
    for d in documents:
        for item in d.items:
            item_pages.setdefault(item.id, d.kind.value)
    for dev in deviations:
        item_pages.setdefault(dev.id, "deviations")
    prefix = plan.id.split("-", 1)[0] if plan else "VAL"
    return Binder(
        doc_id=doc_id or f"{prefix}-BINDER",
        version=plan.version if plan else "1.0",
        title="Validation Binder",
        system=system_name,
        status="Released for use" if release else "Not released",
        generated=generated,
        commit=commit,
        documents=documents,
        plan=plan,
        clauses=tuple(clauses), urs=tuple(urs), risks=tuple(risks), fs=tuple(fs), ds=tuple(ds), sops=tuple(sops),
        cases=cases, runs=runs_out, deviations=deviations, matrix=matrix, coverage=coverage, vsr=vsr,
        signatures=SIGNATURE_SLOTS, evidence=_evidence_index(runs), item_pages=item_pages,
    )
