"""Findings and the one table of rule codes, so the docs and the checker cannot drift.

Every finding `valgen check` or the loader reports carries a code from `RULES`;
the table gives each code its severity, title and fix hint. No I/O here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from generator.model import Source


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    code: str
    severity: Severity
    category: str
    title: str
    fix: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem at one place: what was found, what was expected, how to fix it."""

    code: str
    source: Source | None
    message: str
    expected: str
    fix: str

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def severity(self) -> Severity:
        return RULES[self.code].severity

    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.source is None:
            return ("", 0, 0, self.code, self.message)
        return (str(self.source.path), self.source.line, self.source.column, self.code, self.message)


def _rules(*rules: Rule) -> Mapping[str, Rule]:
    table: dict[str, Rule] = {}
    for r in rules:
        if r.code in table:  # a duplicate code is a programming error: refuse at import time
            raise RuntimeError(f"rule code {r.code} is defined twice")
        table[r.code] = r
    return table


E, W = Severity.ERROR, Severity.WARNING

RULES: Mapping[str, Rule] = _rules(
    # reading files
    Rule(code="YAML001", severity=E, category="yaml", title="the file is not valid YAML",
         fix="correct the YAML syntax at the position shown (indent with spaces, close quotes and brackets)"),
    Rule(code="YAML002", severity=E, category="yaml", title="a key appears twice in one mapping",
         fix="remove or rename one of the two keys; YAML would silently keep only the last"),
    Rule(code="YAML003", severity=E, category="yaml", title="a YAML tag that could run code or build objects",
         fix="remove the tag; content files hold plain strings, numbers, booleans, lists and mappings"),
    Rule(code="YAML004", severity=E, category="yaml", title="too many alias expansions",
         fix="write the content out instead of nesting anchors and aliases"),
    Rule(code="YAML005", severity=E, category="yaml", title="the file is larger than the size limit",
         fix="split the document into several files of at most 10 MiB"),
    Rule(code="YAML006", severity=E, category="yaml", title="the file is not UTF-8 text",
         fix="save the file as UTF-8 (without a byte order mark)"),
    Rule(code="YAML007", severity=E, category="yaml", title="the file is empty or is not a mapping",
         fix="start the file with a 'document:' header and an 'items:' list (see requirements/FORMAT.md)"),
    # schema
    Rule(code="SCH001", severity=E, category="schema", title="unknown key",
         fix="correct the key's spelling or remove it (see requirements/FORMAT.md)"),
    Rule(code="SCH002", severity=E, category="schema", title="wrong type or value",
         fix="give the value the type and form shown"),
    Rule(code="SCH003", severity=E, category="schema", title="required field missing",
         fix="add the field"),
    Rule(code="SCH004", severity=E, category="schema", title="bad ID format",
         fix="use the ID format of the item's kind, such as URS-001 or 21CFR11.10(e)"),
    Rule(code="SCH005", severity=E, category="schema", title="item of the wrong kind for its document",
         fix="move the item to a document of its kind, or correct its ID prefix"),
    # identity and links
    Rule(code="ID001", severity=E, category="ids", title="the same item ID is defined twice",
         fix="give one of the items a new ID; IDs are unique across all files and stable forever"),
    Rule(code="ID002", severity=E, category="ids", title="the same document ID is used by two files",
         fix="give each document its own ID"),
    Rule(code="LNK001", severity=E, category="ids", title="link to an ID that is not defined",
         fix="correct the ID, or add the missing item"),
    Rule(code="LNK002", severity=E, category="ids", title="link of the wrong kind",
         fix="link to an item of a kind the link allows (see requirements/FORMAT.md, Links)"),
    Rule(code="LNK003", severity=E, category="ids", title="links form a cycle",
         fix="remove one link of the cycle; links run from child to parent only"),
    Rule(code="LNK004", severity=W, category="ids", title="link to a retired item",
         fix="link to the item that replaced it, or retire this item too"),
    # coverage
    Rule(code="COV001", severity=E, category="coverage", title="URS traces to no regulation clause",
         fix="add 'traces_to' with the clause(s) the requirement fulfils"),
    Rule(code="COV002", severity=E, category="coverage", title="URS is satisfied by no FS",
         fix="add an FS item whose 'satisfies' names this URS"),
    Rule(code="COV003", severity=E, category="coverage", title="FS is implemented by no DS and verified by no test case",
         fix="add a DS item that implements it or a test case that verifies it"),
    Rule(code="COV004", severity=E, category="coverage", title="regulation clause covered by no URS and not excluded",
         fix="trace a URS to the clause, or give the clause an 'exclusion' with its justification"),
    Rule(code="COV005", severity=E, category="coverage", title="high-priority risk is not mitigated",
         fix="add 'mitigated_by' with the FS, DS or SOP items that control the risk"),
    Rule(code="COV006", severity=E, category="coverage",
         title="high-priority risk lacks a positive and a negative scripted test case",
         fix="add scripted (manual: false) test cases that verify the risk, at least one positive and one negative"),
    Rule(code="RSK001", severity=E, category="coverage", title="risk class or priority disagrees with the risk method",
         fix="set risk_class and priority to the values the method gives (requirements/FORMAT.md, Risk)"),
    Rule(code="TGT001", severity=E, category="schema", title="target profile is not valid",
         fix="correct the profile as shown (format: generator/targets/profile.py, qualification/targets/*.yaml)"),
    Rule(code="TST001", severity=E, category="schema", title="test steps are not numbered 1, 2, 3, ...",
         fix="number the steps consecutively from 1"),
    # change control
    Rule(code="CHG001", severity=W, category="change", title="suspect link: the target changed since the link was reviewed",
         fix="review the link against the target's new content, then record its current fingerprint "
             "(shown by 'valgen trace ID')"),
    Rule(code="CHG002", severity=W, category="change", title="approval out of date: the document changed after it was approved",
         fix="have the document reviewed and approved again ('valgen approve'), or revert the change"),
    Rule(code="CHG003", severity=E, category="change", title="approval signature does not verify",
         fix="the approval was not made by the named signer over this content; approve again with 'valgen approve'"),
)
