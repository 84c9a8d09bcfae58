"""Run records as values: what one qualification run executed and found. No I/O.

`run.json` (schema version `RUN_SCHEMA_VERSION`) is the serialized form of `Run`;
`generator.qualify` writes it and `generator.binder` reads it. The JSON keys
are the field names below. Changing a field is a schema change: bump the version.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

RUN_SCHEMA_VERSION = "1.0"


class Outcome(enum.StrEnum):
    """Honest outcomes. NOT_RUN is never counted as PASSED."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_RUN = "not run"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """One executed step: the protocol's expected result against what happened."""

    step: int
    action: str
    expected: str
    actual: str
    outcome: Outcome
    evidence: tuple[str, ...] = ()  # paths of evidence files, relative to the run directory
    time: str = ""  # UTC, ISO 8601 with Z


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseResult:
    """The result of one protocol case in one run."""

    case: str  # IQ-001 ...
    stage: str  # iq | oq | pq
    title: str
    outcome: Outcome
    reason: str = ""  # why not run, or the failure message
    started: str = ""
    finished: str = ""
    manual: bool = False
    steps: tuple[StepResult, ...] = ()
    deviations: tuple[str, ...] = ()  # DEV IDs opened by this case


@dataclass(frozen=True, slots=True, kw_only=True)
class Deviation:
    """A deviation opened for a failure or error; closed by QA after resolution."""

    id: str  # DEV-001
    case: str
    step: int | None
    expected: str
    actual: str
    opened: str  # UTC
    state: str = "open"  # open | closed
    classification: str = ""  # minor | major | critical (set by QA)
    root_cause: str = ""
    corrective_action: str = ""
    closed_by: str = ""
    closed: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetIdentity:
    profile: str
    kind: str  # moto | aws
    account: str
    regions: tuple[str, ...]
    endpoint: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Executor:
    os_user: str
    caller_arn: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One qualification run (the content of run.json)."""

    schema_version: str
    run_id: str
    stages: tuple[str, ...]
    target: TargetIdentity
    executor: Executor
    started: str
    finished: str
    complete: bool  # False while running or when the run was interrupted
    formal: bool  # True only when every executed protocol matches an approved version
    informal_reasons: tuple[str, ...]
    versions: dict[str, str] = field(default_factory=dict)  # tool and dependency versions
    inputs: dict[str, str] = field(default_factory=dict)  # path -> sha256 of protocols and test code
    cases: tuple[CaseResult, ...] = ()
    deviations: tuple[Deviation, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def run_to_dict(run: Run) -> dict[str, Any]:
    """The JSON form of a run (keys are field names; enums by value; tuples as lists)."""
    from dataclasses import asdict

    def clean(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    result: dict[str, Any] = clean(asdict(run))
    return result


def run_from_dict(data: dict[str, Any]) -> Run:
    """Inverse of `run_to_dict`. Raises KeyError/TypeError/ValueError on a malformed record."""
    cases = tuple(
        CaseResult(
            **{
                **c,
                "outcome": Outcome(c["outcome"]),
                "deviations": tuple(c.get("deviations", ())),
                "steps": tuple(
                    StepResult(**{**s, "outcome": Outcome(s["outcome"]), "evidence": tuple(s.get("evidence", ()))})
                    for s in c.get("steps", ())
                ),
            }
        )
        for c in data.get("cases", ())
    )
    target = data["target"]
    return Run(
        schema_version=data["schema_version"],
        run_id=data["run_id"],
        stages=tuple(data["stages"]),
        target=TargetIdentity(**{**target, "regions": tuple(target["regions"])}),
        executor=Executor(**data["executor"]),
        started=data["started"],
        finished=data["finished"],
        complete=bool(data["complete"]),
        formal=bool(data["formal"]),
        informal_reasons=tuple(data.get("informal_reasons", ())),
        versions=dict(data.get("versions", {})),
        inputs=dict(data.get("inputs", {})),
        cases=cases,
        deviations=tuple(Deviation(**d) for d in data.get("deviations", ())),
        extra=dict(data.get("extra", {})),
    )
