"""Turning pytest reports into case results, deviations and the run record (controller side only).

Outcome rules (honest outcomes, DESIGN.md "Qualification"):
- a skip (including a missing target capability) is NOT RUN with its reason, never passed;
- an AssertionError in the test body is FAILED: the system did not do what the protocol expects;
- any other exception, or any setup/teardown problem, is ERROR: the case could not be executed;
- an automated case of an executed stage that produced no report is NOT RUN (not selected);
- a manual case is NOT RUN here: a person executes it and records an execution record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.model import Model, TestCase
from generator.model.run import (
    RUN_SCHEMA_VERSION,
    CaseResult,
    Deviation,
    Executor,
    Outcome,
    Run,
    StepResult,
    TargetIdentity,
)

__all__ = ["CaseAccumulator", "build_run", "epoch_to_utc", "stage_order"]

STAGES = ("iq", "oq", "pq")
MANUAL_REASON = "manual case: executed by a person and recorded in a signed execution record, not by this run"
NOT_SELECTED_REASON = "automated case not selected in this run"


def epoch_to_utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def stage_order(case_id: str) -> tuple[int, str]:
    stage = case_id.split("-", 1)[0].lower()
    return (STAGES.index(stage) if stage in STAGES else len(STAGES), case_id)


@dataclass
class CaseAccumulator:
    """What the controller has heard about one case so far (one per bound test)."""

    case: str
    nodeid: str
    outcome: Outcome | None = None
    reason: str = ""
    start: float = 0.0
    stop: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    case_evidence: list[str] = field(default_factory=list)

    def add(self, when: str, outcome: str, failure_kind: str | None, message: str, start: float, stop: float) -> None:
        """Fold one phase report (setup, call, teardown) into the case outcome."""
        if when == "setup" or not self.start:
            self.start = start
        self.stop = max(self.stop, stop)
        if outcome == "skipped":
            if self.outcome is None:
                self.outcome = Outcome.NOT_RUN
                self.reason = message
            return
        if outcome == "failed":
            kind = Outcome.FAILED if (when == "call" and failure_kind == "failed") else Outcome.ERROR
            if self.outcome in (None, Outcome.PASSED):
                self.outcome = kind
                self.reason = message if when == "call" else f"{when}: {message}"
            return
        if when == "call" and self.outcome is None:
            self.outcome = Outcome.PASSED


def _short(message: str, limit: int = 2000) -> str:
    message = message.strip()
    return message if len(message) <= limit else message[: limit - 1] + "…"


def build_run(
    *,
    run_id: str,
    model: Model | None,
    stages: Sequence[str],
    accumulated: Iterable[CaseAccumulator],
    target: TargetIdentity,
    executor: Executor,
    started: str,
    finished: str,
    complete: bool,
    formal_check: Callable[[Model, Sequence[str]], tuple[bool, list[str]]],
    incomplete_reason: str = "",
    versions: dict[str, str] | None = None,
    inputs: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Run:
    """The run record: every case of the executed stages, each with an honest outcome."""
    by_case = {acc.case: acc for acc in accumulated}
    protocol: dict[str, TestCase] = {}
    if model is not None:
        for case in model.test_cases():
            if case.stage in stages and case.status == "active":
                protocol.setdefault(case.id, case)
    case_ids = sorted(set(protocol) | set(by_case), key=stage_order)
    results: list[CaseResult] = []
    deviations: list[Deviation] = []
    any_unselected = False
    for case_id in case_ids:
        spec = protocol.get(case_id)
        acc = by_case.get(case_id)
        title = spec.title if spec else ""
        stage = case_id.split("-", 1)[0].lower()
        if acc is None or acc.outcome is None:
            manual = bool(spec and spec.manual)
            if not manual and acc is None:
                any_unselected = True
            reason = MANUAL_REASON if manual else (NOT_SELECTED_REASON if acc is None else "no result was reported")
            results.append(
                CaseResult(case=case_id, stage=stage, title=title, outcome=Outcome.NOT_RUN, reason=reason, manual=manual)
            )
            continue
        dev_ids: list[str] = []
        if acc.outcome in (Outcome.FAILED, Outcome.ERROR):
            bad = next((s for s in acc.steps if s.outcome in (Outcome.FAILED, Outcome.ERROR)), None)
            dev = Deviation(
                id=f"DEV-{len(deviations) + 1:03d}",
                case=case_id,
                step=bad.step if bad else None,
                expected=bad.expected if bad else (spec.acceptance if spec else ""),
                actual=bad.actual if bad and bad.actual else _short(acc.reason),
                opened=epoch_to_utc(acc.stop or acc.start),
            )
            deviations.append(dev)
            dev_ids.append(dev.id)
        results.append(
            CaseResult(
                case=case_id,
                stage=stage,
                title=title,
                outcome=acc.outcome,
                reason=_short(acc.reason) if acc.outcome is not Outcome.PASSED else "",
                started=epoch_to_utc(acc.start) if acc.start else "",
                finished=epoch_to_utc(acc.stop) if acc.stop else "",
                manual=False,
                steps=tuple(acc.steps),
                deviations=tuple(dev_ids),
            )
        )
    reasons: list[str] = []
    if not complete:
        reasons.append(incomplete_reason or "the run did not complete")
    if any_unselected:
        reasons.append("only part of the protocol was executed (automated cases were not selected)")
    if model is None:
        reasons.append("the protocols could not be loaded")
    else:
        _formal, why = formal_check(model, stages)
        reasons.extend(why)
    run_extra = dict(extra or {})
    case_evidence = {acc.case: acc.case_evidence for acc in by_case.values() if acc.case_evidence}
    if case_evidence:
        run_extra["case_evidence"] = case_evidence
    return Run(
        schema_version=RUN_SCHEMA_VERSION,
        run_id=run_id,
        stages=tuple(s for s in STAGES if s in stages) + tuple(s for s in stages if s not in STAGES),
        target=target,
        executor=executor,
        started=started,
        finished=finished,
        complete=complete,
        formal=not reasons,
        informal_reasons=tuple(reasons),
        versions=dict(versions or {}),
        inputs=dict(inputs or {}),
        cases=tuple(results),
        deviations=tuple(deviations),
        extra=run_extra,
    )
