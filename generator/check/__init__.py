"""Rules over the model: IDs, links, coverage and change control, each a registered function.

Every rule is declared with its code where it is defined (`@rule("LNK001")`); the
code's severity, title and fix live in `generator.model.findings.RULES`, and the
registry refuses a code used twice. Rules yield every finding; none stops early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from generator import model as m
from generator.load import LoadResult, load_content
from generator.model.findings import RULES, Finding, Severity

RuleFunction = Callable[[m.Model], Iterator[Finding]]
# Checks one approval's signature and signer; returns the problem, or None when it holds.
ApprovalVerifier = Callable[[m.Approval], "str | None"]
_REGISTRY: dict[str, RuleFunction] = {}


def rule(code: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a model rule under its code (which must be in the RULES table, once)."""
    if code not in RULES:
        raise RuntimeError(f"rule {code} is not in the RULES table")
    if code in _REGISTRY:
        raise RuntimeError(f"rule {code} is registered twice")

    def register(function: RuleFunction) -> RuleFunction:
        _REGISTRY[code] = function
        return function

    return register


def finding(code: str, source: m.Source | None, message: str, expected: str, fix: str | None = None) -> Finding:
    return Finding(code=code, source=source, message=message, expected=expected,
                   fix=fix if fix is not None else RULES[code].fix)


@dataclass(frozen=True, slots=True)
class Coverage:
    """Covered / total at one level of the trace."""

    level: str
    covered: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total


@dataclass(frozen=True, slots=True)
class CheckResult:
    files: tuple[Path, ...]
    model: m.Model
    findings: tuple[Finding, ...]
    coverage: tuple[Coverage, ...]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def has_errors_or_warnings(self) -> bool:
        return any(f.severity in (Severity.ERROR, Severity.WARNING) for f in self.findings)


def run_check(root: Path, approvals: Callable[[], ApprovalVerifier] | None = None,
              others: Callable[[Path], tuple[list[Path], list[Finding]]] | None = None) -> CheckResult:
    """Load everything under `root` and apply every rule. Raises ValgenError only if root is unreadable.

    `approvals` makes the verifier of approval signatures (rule CHG003); it is
    called only when some document carries approvals, so a content set without
    any does not pay for loading keys. `others` checks files of other formats
    under `root` (target profiles) and returns the files it read and its findings.
    """
    loaded = load_content(root)
    result = check_loaded(loaded, approvals)
    if others is None:
        return result
    files, findings = others(root)
    return CheckResult(result.files + tuple(files), result.model,
                       tuple(sorted([*result.findings, *findings], key=Finding.sort_key)), result.coverage)


def check_loaded(loaded: LoadResult, approvals: Callable[[], ApprovalVerifier] | None = None) -> CheckResult:
    from generator.check import rules as _rules  # noqa: F401  (registers the rules)

    findings = list(loaded.findings)
    for function in _REGISTRY.values():
        findings.extend(function(loaded.model))
    if approvals is not None and any(doc.approvals for doc in loaded.model.documents):
        verify = approvals()
        for doc in loaded.model.documents:
            for approval in doc.approvals:
                problem = verify(approval)
                if problem is not None:
                    findings.append(finding("CHG003", approval.source, f"{doc.id}: {problem}",
                                            "an approval signed by a registered, unrevoked signer over exactly "
                                            "this signer, name, meaning, time and fingerprint"))
    findings.sort(key=Finding.sort_key)
    from generator.check.rules import coverage

    return CheckResult(loaded.files, loaded.model, tuple(findings), tuple(coverage(loaded.model)))


def load_for_trace(root: Path) -> m.Model:
    return load_content(root).model


def registered_codes() -> list[str]:
    from generator.check import rules as _rules  # noqa: F401

    return sorted(_REGISTRY)
