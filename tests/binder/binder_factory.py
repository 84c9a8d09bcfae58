"""Hand-built content models and run directories for the binder and render tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from generator.model import (
    Clause,
    Criterion,
    DesignSpec,
    Document,
    DocumentKind,
    FunctionalSpec,
    Item,
    Link,
    LinkKind,
    Model,
    Risk,
    Section,
    Setting,
    Sop,
    Source,
    Step,
    TestCase,
    Urs,
)
from generator.model.run import (
    RUN_SCHEMA_VERSION,
    CaseResult,
    Deviation,
    Executor,
    Outcome,
    Run,
    StepResult,
    TargetIdentity,
    run_to_dict,
)

SRC = Source(path=Path("content.yaml"), line=1, column=1)


def _links(kind: LinkKind, *targets: str) -> tuple[Link, ...]:
    return tuple(Link(kind=kind, target=t, fingerprint=None, source=SRC) for t in targets)


def _doc(doc_id: str, kind: DocumentKind, title: str, items: list[Item], status: str = "approved",
         criteria: tuple[Criterion, ...] = ()) -> Document:
    return Document(id=doc_id, kind=kind, title=title, version="1.0", owner="Quality Assurance", status=status,
                    approvals=(), items=tuple(items), criteria=criteria,
                    source=Source(path=Path(f"{kind.value}.yaml"), line=1, column=1))


def _case(case_id: str, title: str, verifies: tuple[str, ...], polarity: str = "positive", steps: int = 2,
          manual: bool = False) -> TestCase:
    doc = {"iq": "VG-IQ", "oq": "VG-OQ", "pq": "VG-PQ"}[case_id[:2].lower()]
    return TestCase(
        id=case_id, title=title, text=f"Show that {title.lower()}.", status="active",
        links=_links(LinkKind.VERIFIES, *verifies), source=SRC, document_id=doc, polarity=polarity, manual=manual,
        prerequisites=("The reference deployment is applied.",),
        steps=tuple(Step(number=n, action=f"Do step {n} of {case_id}", expected=f"Step {n} behaves as specified",
                         source=SRC) for n in range(1, steps + 1)),
        acceptance="Every step meets its expected result.", requires=(),
    )


def make_model(*, approved: bool = True, extra_urs: int = 0) -> Model:
    """A small but complete validation package: every level linked, one clause excluded."""
    status = "approved" if approved else "draft"
    clauses = [
        Clause(id="21CFR11.10(a)", title="Validation", text="Validate systems.", status="active", links=(),
               source=SRC, document_id="VG-REG", regulation="21 CFR Part 11", exclusion=None),
        Clause(id="21CFR11.10(e)", title="Audit trail", text="Secure audit trails.", status="active", links=(),
               source=SRC, document_id="VG-REG", regulation="21 CFR Part 11", exclusion=None),
        Clause(id="21CFR11.200(b)", title="Biometrics", text="Biometric signatures.", status="active", links=(),
               source=SRC, document_id="VG-REG", regulation="21 CFR Part 11",
               exclusion="The system uses no biometric signatures."),
    ]
    urs: list[Item] = [
        Urs(id="URS-001", title="Records are immutable", text="A record cannot be changed or deleted.",
            status="active", links=_links(LinkKind.TRACES_TO, "21CFR11.10(a)"), source=SRC, document_id="VG-URS",
            priority="high", rationale="Integrity."),
        Urs(id="URS-002", title="Audit trail kept", text="Every change is in the audit trail.", status="active",
            links=_links(LinkKind.TRACES_TO, "21CFR11.10(e)", "21CFR11.10(a)"), source=SRC, document_id="VG-URS",
            priority="high", rationale="Attributability."),
        Urs(id="URS-003", title="Users are trained", text="Users are trained before access.", status="active",
            links=_links(LinkKind.TRACES_TO, "21CFR11.10(a)"), source=SRC, document_id="VG-URS",
            priority="medium", rationale="Competence."),
    ]
    for n in range(extra_urs):
        urs.append(Urs(id=f"URS-{100 + n:03d}", title=f"Extra need {n}", text="An extra need with no trace.",
                       status="active", links=(), source=SRC, document_id="VG-URS", priority="low", rationale="-"))
    risks = [
        Risk(id="RISK-001", title="Admin shortens the lock", text="An admin shortens retention.", status="active",
             links=(*_links(LinkKind.AFFECTS, "URS-001"), *_links(LinkKind.MITIGATED_BY, "DS-001")), source=SRC,
             document_id="VG-RISK", severity="high", probability="medium", detectability="low", risk_class=1,
             priority="high", residual_risk="Low."),
        Risk(id="RISK-002", title="Trail stopped", text="Somebody stops the trail.", status="active",
             links=(*_links(LinkKind.AFFECTS, "URS-002"), *_links(LinkKind.MITIGATED_BY, "FS-002")), source=SRC,
             document_id="VG-RISK", severity="medium", probability="low", detectability="high", risk_class=3,
             priority="low", residual_risk="Low."),
    ]
    fs = [
        FunctionalSpec(id="FS-001", title="Object Lock in COMPLIANCE mode", text="Versions are locked.",
                       status="active", links=_links(LinkKind.SATISFIES, "URS-001"), source=SRC, document_id="VG-FS"),
        FunctionalSpec(id="FS-002", title="Trail records data events", text="The trail logs data events.",
                       status="active", links=_links(LinkKind.SATISFIES, "URS-002"), source=SRC, document_id="VG-FS"),
    ]
    ds = [
        DesignSpec(id="DS-001", title="Compliance bucket lock", text="Bucket lock configuration.", status="active",
                   links=_links(LinkKind.IMPLEMENTS, "FS-001"), source=SRC, document_id="VG-DS",
                   settings=(Setting(name="object_lock_mode", resource="compliance_bucket", value="COMPLIANCE",
                                     source=SRC),
                             Setting(name="object_lock_retention_days", resource="compliance_bucket", value=2555,
                                     source=SRC))),
        DesignSpec(id="DS-002", title="Trail configuration", text="Multi-region trail.", status="active",
                   links=_links(LinkKind.IMPLEMENTS, "FS-002"), source=SRC, document_id="VG-DS", settings=()),
    ]
    sops = [Sop(id="SOP-001", title="Training", text="Train users.", status="active", links=_links(LinkKind.FULFILS, "URS-003"),
                source=SRC, document_id="VG-SOP", responsibilities=("QA trains users.",),
                procedure=("Schedule training.", "Record attendance."))]
    iq = [_case("IQ-001", "The bucket lock matches the DS", ("DS-001",)),
          _case("IQ-002", "The trail matches the DS", ("DS-002",), steps=1)]
    oq = [_case("OQ-001", "A locked version cannot be deleted", ("FS-001", "RISK-001"), polarity="negative"),
          _case("OQ-002", "A new version can be written", ("FS-001", "RISK-001")),
          _case("OQ-003", "Data events reach the trail", ("FS-002",))]
    pq = [_case("PQ-001", "A record is registered and retrieved", ("URS-001", "URS-002"), steps=3)]
    plan_sections = [Section(id="VP-1", title="Purpose", text="This plan defines the validation of the system.",
                             status="active", links=(), source=SRC, document_id="VG-VP"),
                     Section(id="VP-2", title="Scope", text="The compliance bucket and its replica.",
                             status="active", links=(), source=SRC, document_id="VG-VP")]
    criteria = (
        Criterion(id="AC-01", text="Every IQ, OQ and PQ case passed.", measure="cases_passed",
                  stages=("iq", "oq", "pq"), level=None, source=SRC),
        Criterion(id="AC-02", text="No case is not run.", measure="no_case_not_run", stages=("iq", "oq", "pq"),
                  level=None, source=SRC),
        Criterion(id="AC-03", text="Every deviation is closed.", measure="deviations_closed", stages=(), level=None,
                  source=SRC),
        Criterion(id="AC-04", text="Every URS is covered.", measure="coverage_complete", stages=(), level="urs",
                  source=SRC),
    )
    docs = [
        _doc("VG-VP", DocumentKind.PLAN, "Validation Plan for the Demo Records System", plan_sections, status,
             criteria),
        _doc("VG-REG", DocumentKind.REGULATIONS, "Regulation catalogue", list(clauses), status),
        _doc("VG-URS", DocumentKind.URS, "User Requirements Specification", urs, status),
        _doc("VG-RISK", DocumentKind.RISK, "Risk assessment", list(risks), status),
        _doc("VG-FS", DocumentKind.FS, "Functional Specification", list(fs), status),
        _doc("VG-DS", DocumentKind.DS, "Design Specification", list(ds), status),
        _doc("VG-SOP", DocumentKind.SOP, "SOPs", list(sops), status),
        _doc("VG-IQ", DocumentKind.IQ, "IQ protocol", list(iq), status),
        _doc("VG-OQ", DocumentKind.OQ, "OQ protocol", list(oq), status),
        _doc("VG-PQ", DocumentKind.PQ, "PQ protocol", list(pq), status),
    ]
    return Model.of(docs)


def make_run(model: Model, *, run_id: str = "20260101T000000Z-abc123", outcomes: dict[str, Outcome] | None = None,
             kind: str = "moto", formal: bool = True, finished: str = "2026-01-01T00:10:00Z",
             deviations_closed: bool = False, stages: tuple[str, ...] = ("iq", "oq", "pq")) -> Run:
    """A run record over the model's cases; `outcomes` overrides the default (passed)."""
    outcomes = outcomes or {}
    cases = []
    devs = []
    for case in model.test_cases():
        if case.stage not in stages:
            continue
        outcome = outcomes.get(case.id, Outcome.PASSED)
        steps = tuple(
            StepResult(step=s.number, action=s.action, expected=s.expected,
                       actual=s.expected if outcome is Outcome.PASSED else f"unexpected result at step {s.number}",
                       outcome=outcome if outcome is not Outcome.NOT_RUN else Outcome.NOT_RUN,
                       evidence=(f"evidence/{case.id}/step-{s.number}.json",) if outcome is not Outcome.NOT_RUN else (),
                       time="2026-01-01T00:01:00Z")
            for s in case.steps
        )
        dev_ids: tuple[str, ...] = ()
        if outcome in (Outcome.FAILED, Outcome.ERROR):
            dev_id = f"DEV-{len(devs) + 1:03d}"
            dev_ids = (dev_id,)
            devs.append(Deviation(id=dev_id, case=case.id, step=1, expected=case.steps[0].expected,
                                  actual="unexpected result at step 1", opened="2026-01-01T00:05:00Z",
                                  state="closed" if deviations_closed else "open",
                                  classification="minor" if deviations_closed else "",
                                  root_cause="test data" if deviations_closed else "",
                                  corrective_action="re-test" if deviations_closed else "",
                                  closed_by="qa" if deviations_closed else "",
                                  closed="2026-01-02T00:00:00Z" if deviations_closed else ""))
        cases.append(CaseResult(
            case=case.id, stage=case.stage, title=case.title, outcome=outcome,
            reason="target moto does not enforce it" if outcome is Outcome.NOT_RUN else "",
            started="2026-01-01T00:01:00Z", finished="2026-01-01T00:02:00Z", manual=case.manual, steps=steps,
            deviations=dev_ids,
        ))
    return Run(
        schema_version=RUN_SCHEMA_VERSION, run_id=run_id, stages=stages,
        target=TargetIdentity(profile=kind, kind=kind, account="123456789012", regions=("us-east-1", "us-west-2"),
                              endpoint="http://127.0.0.1:5000" if kind == "moto" else None),
        executor=Executor(os_user="engineer", caller_arn="arn:aws:iam::123456789012:user/engineer"),
        started="2026-01-01T00:00:00Z", finished=finished, complete=True, formal=formal,
        informal_reasons=() if formal else ("protocol VG-OQ is not approved",),
        versions={"python": "3.11", "valgen": "0.1.0"}, inputs={"qualification/oq.yaml": "0" * 64},
        cases=tuple(cases), deviations=tuple(devs),
    )


def write_run_dir(root: Path, run: Run) -> Path:
    """Write a run directory the way `valgen qualify` lays it out (run.json, evidence, junit, report, SHA256SUMS)."""
    directory = root / run.run_id
    directory.mkdir(parents=True)
    data: dict[str, Any] = run_to_dict(run)
    (directory / "run.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for case in run.cases:
        for step in case.steps:
            for rel in step.evidence:
                path = directory / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"case": case.case, "step": step.step, "response": {"Status": "ok"}}),
                                encoding="utf-8")
    (directory / "junit.xml").write_text('<?xml version="1.0"?><testsuites/>\n', encoding="utf-8")
    (directory / "report.html").write_text("<!DOCTYPE html><html><body>report</body></html>\n", encoding="utf-8")
    lines = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(directory).as_posix()}")
    (directory / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory
