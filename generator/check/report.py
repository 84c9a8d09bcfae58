"""Text and JSON renderings of a check result, and the rule list for `--list-rules`."""

from __future__ import annotations

import json
from typing import Any

from generator.check import CheckResult
from generator.model.findings import RULES, Severity


def format_text(result: CheckResult) -> str:
    lines: list[str] = []
    for f in result.findings:
        where = str(f.source) if f.source is not None else "valgen"
        lines.append(f"{where}: {f.severity.value}[{f.code}] {f.message}")
        lines.append(f"  expected: {f.expected}")
        lines.append(f"  fix: {f.fix}")
    items = sum(len(d.items) for d in result.model.documents)
    counts = ", ".join(
        f"{result.count(s)} {s.value}{'' if result.count(s) == 1 else 's'}" for s in (Severity.ERROR, Severity.WARNING)
    )
    lines.append(f"checked {len(result.files)} file{'s' if len(result.files) != 1 else ''}, "
                 f"{items} item{'s' if items != 1 else ''}: {counts}")
    cov = " · ".join(f"{c.level} {c.covered}/{c.total} ({c.percent:.0f}%)" for c in result.coverage)
    lines.append(f"coverage: {cov}")
    return "\n".join(lines) + "\n"


def format_json(result: CheckResult) -> str:
    data: dict[str, Any] = {
        "files": [str(p) for p in result.files],
        "items": sum(len(d.items) for d in result.model.documents),
        "counts": {s.value: result.count(s) for s in Severity},
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "path": str(f.source.path) if f.source else None,
                "line": f.source.line if f.source else None,
                "column": f.source.column if f.source else None,
                "message": f.message,
                "expected": f.expected,
                "fix": f.fix,
            }
            for f in result.findings
        ],
        "coverage": [
            {"level": c.level, "covered": c.covered, "total": c.total} for c in result.coverage
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def list_rules_text() -> str:
    lines = []
    for code, r in RULES.items():
        lines.append(f"{code:8} {r.severity.value:8} {r.category:9} {r.title}")
        lines.append(f"{'':8} fix: {r.fix}")
    return "\n".join(lines) + "\n"
