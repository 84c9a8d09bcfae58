"""Per-case evidence: each protocol step's actual result against its expected result, with attachments.

The protocol (YAML that QA approved) owns the action and the expected result of
every step; the test code only says which step it is executing and what actually
happened. 21 CFR 11.10(e) asks for time-stamped, attributable records, so every
step carries its UTC time and every AWS response is attached as redacted JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from generator.model import TestCase
from generator.model.run import Outcome
from generator.qualify.redact import redact

__all__ = ["Attachment", "Evidence", "StepError", "StepFailed", "StepRecord", "utc_now"]


def utc_now() -> str:
    """Now, UTC, ISO 8601 with Z (millisecond precision)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class StepFailed(AssertionError):
    """The system did not show the protocol's expected result (the case fails)."""


class StepError(Exception):
    """The step could not be executed as the protocol says (the case ends in error)."""


@dataclass(slots=True)
class Attachment:
    """One evidence file: its name inside the case's evidence folder and its JSON text."""

    name: str
    content: str


@dataclass(slots=True)
class StepRecord:
    """One executed protocol step; `actual` must be set before the step ends."""

    number: int
    action: str
    expected: str
    actual: str = ""
    outcome: Outcome = Outcome.PASSED
    time: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    _case: str = ""

    def attach(self, label: str, data: Any) -> str:
        """Attach `data` (an AWS response or any JSON-able value) with secrets redacted; returns its file name."""
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "data"
        name = f"step-{self.number:02d}-{len(self.attachments) + 1:02d}-{slug}.json"
        text = json.dumps(redact(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        self.attachments.append(Attachment(name=name, content=text))
        return name

    def record(self, actual: str) -> None:
        """State what actually happened, in words an inspector can compare with the expected result."""
        self.actual = actual

    def check(self, condition: bool, actual: str) -> None:
        """Record `actual`; fail the step (and the case) when `condition` is false."""
        self.actual = actual
        if not condition:
            raise StepFailed(f"step {self.number}: expected {self.expected!r}; actual {actual!r}")

    def compare(self, what: str, actual: Any, expected: Any, *, same: bool | None = None) -> bool:
        """Record a comparison without stopping: a mismatch marks the step failed and the case goes on.

        Used where the protocol asks for every value to be read (IQ reads back every DS
        setting even after one differs); call `Evidence.raise_if_failed` at the end.
        """
        matches = (actual == expected) if same is None else same
        self.actual = f"{what} = {actual!r}" + ("" if matches else f" (expected {expected!r})")
        if not matches:
            self.outcome = Outcome.FAILED
        return matches

    def expect_equal(self, what: str, actual: Any, expected: Any) -> None:
        """Compare one value; records ``what = actual (expected expected)``."""
        same = actual == expected
        self.check(same, f"{what} = {actual!r}" + ("" if same else f" (expected {expected!r})"))

    def expect_error(self, call: Callable[[], Any], codes: tuple[str, ...], label: str = "response") -> Any:
        """Run `call` expecting an AWS error whose code is one of `codes`; attaches the error response.

        Returns the error response. A call that succeeds fails the step: the system
        allowed what the protocol says it must refuse.
        """
        from botocore.exceptions import ClientError

        try:
            result = call()
        except ClientError as exc:
            response = dict(exc.response)
            self.attach(label, response)
            code = str(response.get("Error", {}).get("Code", ""))
            self.check(code in codes, f"refused with {code}: {response.get('Error', {}).get('Message', '')}".strip())
            return response
        self.attach(label, result)
        self.check(False, f"the call succeeded (expected refusal with {' or '.join(codes)})")
        return None

    def expect_denied(self, call: Callable[[], Any], label: str = "response") -> Any:
        """Run `call` expecting an access denial (the identity, a policy or the lock refuses it).

        AWS answers AccessDenied (S3, STS, IAM) or AccessDeniedException (KMS, CloudTrail,
        Config); moto's server answers the JSON-protocol services with the bare HTTP status
        '403', which is accepted only together with HTTP status 403.
        """
        from botocore.exceptions import ClientError

        try:
            result = call()
        except ClientError as exc:
            response = dict(exc.response)
            self.attach(label, response)
            error = response.get("Error", {})
            code = str(error.get("Code", ""))
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            denied = code in ("AccessDenied", "AccessDeniedException") or (code == "403" and status == 403)
            self.check(denied, f"refused with {code} (HTTP {status}): {error.get('Message', '')}".strip())
            return response
        self.attach(label, result)
        self.check(False, "the call succeeded (expected an access denial)")
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "action": self.action,
            "expected": self.expected,
            "actual": self.actual,
            "outcome": self.outcome.value,
            "time": self.time,
            "attachments": [{"name": a.name, "content": a.content} for a in self.attachments],
        }


class Evidence:
    """The `evidence` fixture's value: records the steps of one protocol case."""

    def __init__(self, case: TestCase) -> None:
        self.case = case
        self.steps: list[StepRecord] = []
        self.attachments: list[Attachment] = []  # case-level attachments (not tied to one step)
        self._protocol_steps = {s.number: s for s in case.steps}

    @contextmanager
    def step(self, number: int) -> Iterator[StepRecord]:
        """Execute protocol step `number`; the `with` body must record the actual result.

        An AssertionError inside the body marks the step failed; any other exception
        marks it error; both propagate so pytest reports the case.
        """
        spec = self._protocol_steps.get(number)
        if spec is None:
            known = ", ".join(str(n) for n in sorted(self._protocol_steps)) or "none"
            raise StepError(f"{self.case.id} has no step {number} in its protocol (steps: {known})")
        if any(s.number == number for s in self.steps):
            raise StepError(f"{self.case.id} step {number} executed twice")
        record = StepRecord(number=number, action=spec.action, expected=spec.expected, _case=self.case.id)
        record.time = utc_now()
        self.steps.append(record)
        try:
            yield record
        except AssertionError as exc:
            record.outcome = Outcome.FAILED
            if not record.actual:
                record.actual = str(exc) or "assertion failed"
            raise
        except BaseException as exc:
            record.outcome = Outcome.ERROR
            if not record.actual:
                record.actual = f"{type(exc).__name__}: {exc}"
            raise
        if not record.actual:
            record.outcome = Outcome.ERROR
            raise StepError(f"{self.case.id} step {number} recorded no actual result (call step.record or step.check)")

    def attach(self, label: str, data: Any) -> str:
        """Attach data to the case as a whole (for example the load scenario's latencies)."""
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "data"
        name = f"case-{len(self.attachments) + 1:02d}-{slug}.json"
        text = json.dumps(redact(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        self.attachments.append(Attachment(name=name, content=text))
        return name

    def raise_if_failed(self) -> None:
        """Fail the case when any step was marked failed by `StepRecord.compare`."""
        failed = [s for s in self.steps if s.outcome is Outcome.FAILED]
        if failed:
            detail = "; ".join(f"step {s.number}: {s.actual}" for s in failed)
            raise StepFailed(f"{self.case.id}: {len(failed)} step(s) did not meet the expected result: {detail}")

    def missing_steps(self) -> list[int]:
        """Protocol steps that were not executed."""
        done = {s.number for s in self.steps}
        return [n for n in sorted(self._protocol_steps) if n not in done]

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "attachments": [{"name": a.name, "content": a.content} for a in self.attachments],
        }
