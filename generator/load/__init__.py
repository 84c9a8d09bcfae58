"""YAML content files -> the model: the only place that reads content files.

`load_content(root)` reads every content file under a repository (or a folder,
or one file), validates each against the shape in `generator.load.spec`, and
returns the model built from whatever is valid together with every problem
found, all in one pass. `load_model(root)` is the strict form for commands that
need clean content: it raises `ContentError` on the first file that has errors.
"""

from __future__ import annotations

import difflib
import gc
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import model as m
from generator.errors import ContentError, ValgenError
from generator.load import spec
from generator.load.yamlio import YamlReadError, YList, YMap, read_yaml
from generator.model.findings import Finding, Severity

__all__ = ["LoadResult", "content_files", "load_content", "load_file", "load_model"]

CONTENT_FOLDERS = ("requirements", "specs", "sops", "qualification")
# YAML files under the content folders that are not content documents (their own formats).
NOT_CONTENT_NAMES = frozenset({"signatories.yaml", "revocations.yaml"})
NOT_CONTENT_DIRS = frozenset({"targets", "workflows", "__pycache__", "schemas"})


@dataclass(frozen=True, slots=True)
class LoadResult:
    model: m.Model
    findings: tuple[Finding, ...]
    files: tuple[Path, ...]


def _display(path: Path) -> Path:
    """The path as the user should see it: relative to the working directory when below it."""
    try:
        return Path(os.path.relpath(path))
    except ValueError:
        return path


def content_files(root: Path) -> list[Path]:
    """Every content YAML file under `root` in a stable order.

    A repository root (it has any of the content folders) is read from those
    folders; any other folder is read whole; a file is read alone.
    """
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ValgenError(f"'{root}' does not exist or is not readable",
                          fix="give the path of a repository, a content folder or a content file")
    folders = [root / name for name in CONTENT_FOLDERS if (root / name).is_dir()]
    if not folders:
        folders = [root]
    found: list[Path] = []
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d not in NOT_CONTENT_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name.endswith((".yaml", ".yml")) and name not in NOT_CONTENT_NAMES:
                    found.append(Path(dirpath) / name)
    return found


def load_content(root: Path) -> LoadResult:
    """Load every content file under `root`; never raises for bad content, only for a missing root."""
    files = content_files(root)
    documents: list[m.Document] = []
    findings: list[Finding] = []
    # Loading creates hundreds of thousands of small acyclic objects; the cyclic garbage collector would
    # rescan them again and again as they accumulate (a third of the load time on a 3,000-item corpus).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in files:
            document, problems = load_file(path)
            findings.extend(problems)
            if document is not None:
                documents.append(document)
        model = m.Model.of(documents)
    finally:
        if collecting:
            gc.enable()
    return LoadResult(model, tuple(findings), tuple(files))


def load_model(root: Path) -> m.Model:
    """Load content that must be clean enough to use: raises ContentError naming the first error."""
    result = load_content(root)
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ContentError(f"{first.message}{more}", where=str(first.source) if first.source else None,
                           fix="run 'valgen check' and correct the content")
    return result.model


def load_file(path: Path) -> tuple[m.Document | None, list[Finding]]:
    """Load one content file: its document (None if unusable) and every problem in it."""
    shown = _display(path)
    try:
        data = read_yaml(path, display=shown)
    except YamlReadError as exc:
        return None, [Finding(code=p.code, source=p.source, message=p.message, expected=p.expected,
                              fix=m_fix(p.code)) for p in exc.problems]
    reader = _DocumentReader(shown)
    document = reader.read(data)
    return document, reader.findings


def m_fix(code: str) -> str:
    from generator.model.findings import RULES

    return RULES[code].fix


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ('{short}')"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    spec.STRING: "a string", spec.INTEGER: "a whole number", spec.BOOLEAN: "true or false",
    spec.STRINGS: "a list of strings", spec.LINKS: "a list of IDs",
    spec.STEPS: "a list of steps ({step, action, expected})",
    spec.SETTINGS: "a list of settings ({name, resource, value})", spec.ANY: "a value",
}


class _DocumentReader:
    """Validates one parsed file against the spec and builds its Document, collecting findings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.findings: list[Finding] = []

    def add(self, code: str, where: m.Source, message: str, expected: str, fix: str | None = None) -> None:
        self.findings.append(Finding(code=code, source=where, message=message, expected=expected,
                                     fix=fix if fix is not None else m_fix(code)))

    # -- generic key handling -------------------------------------------------------------

    def unknown_keys(self, data: YMap, allowed: Iterable[str], what: str) -> set[str]:
        """Report keys not in `allowed`; returns the allowed keys suggested as their likely spelling."""
        allowed = list(allowed)
        known = set(allowed)
        suggested: set[str] = set()
        for key in data:
            if key in known:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else None
            fix = f"{hint} Rename the key." if hint else f"remove the key; {what} has: {', '.join(allowed)}"
            self.add("SCH001", data.key_at(key), f"unknown key '{key}' in {what}"
                     + (f" ({hint})" if hint else ""), f"one of: {', '.join(allowed)}", fix)
            suggested.update(close)
        return suggested

    def fields(self, data: YMap, keys: tuple[spec.KeySpec, ...], what: str) -> dict[str, Any]:
        """Validate the keys of one mapping; returns attr -> value for the valid ones (defaults filled)."""
        names = _KEY_NAMES.get(id(keys))
        if names is None:
            names = _KEY_NAMES[id(keys)] = frozenset(k.key for k in keys)
        # a misspelt key already reported with its did-you-mean is not reported missing as well
        misspelt = self.unknown_keys(data, [k.key for k in keys], what) if not names.issuperset(data) else set()
        values: dict[str, Any] = {}
        for k in keys:
            if k.key not in data:
                if k.required and k.key not in misspelt:
                    kind_words = f"one of {', '.join(str(e) for e in k.enum)}" if k.enum else _TYPE_WORDS[k.type]
                    self.add("SCH003", data.source, f"{what} has no '{k.key}'",
                             f"'{k.key}': {kind_words} — {k.description}",
                             f"add '{k.key}:' to {what}")
                elif k.type != spec.LINKS:
                    values[k.attr] = k.default
                continue
            value = self.value(data[k.key], k, _At(data, k.key), what)
            if value is not _INVALID:
                if k.type == spec.LINKS:
                    values.setdefault("links", []).extend(value)
                else:
                    values[k.attr] = value
        return values

    def value(self, value: Any, k: spec.KeySpec, where: _At, what: str) -> Any:
        t = k.type
        if t == spec.STRING:
            if not isinstance(value, str):
                fix = f"quote the value: {k.key}: \"{value}\"" if isinstance(value, int | float) and not isinstance(
                    value, bool) else f"give '{k.key}' a string value"
                if value is None and not k.required:
                    return None
                self.add("SCH002", where(), f"'{k.key}' of {what} is {_describe(value)}", "a string", fix)
                return _INVALID
            if k.pattern is not None and k.attr == "id" and not _matches(k.pattern, value):
                return self.bad_id(value, k, where, what)
            if k.pattern is not None and k.attr != "id" and not _matches(k.pattern, value):
                self.add("SCH002", where(), f"'{k.key}' of {what} is '{value}', which is not of the required form",
                         k.form or f"a value matching {k.pattern}", f"write '{k.key}' as {k.form or 'shown'}")
                return _INVALID
        elif t == spec.INTEGER:
            if not isinstance(value, int) or isinstance(value, bool):
                self.add("SCH002", where(), f"'{k.key}' of {what} is {_describe(value)}", "a whole number",
                         f"give '{k.key}' a whole number")
                return _INVALID
        elif t == spec.BOOLEAN:
            if not isinstance(value, bool):
                self.add("SCH002", where(), f"'{k.key}' of {what} is {_describe(value)}", "true or false",
                         f"write {k.key}: true or {k.key}: false")
                return _INVALID
        elif t == spec.STRINGS:
            return self.strings(value, k, where, what)
        elif t == spec.LINKS:
            return self.links(value, k, where, what)
        if k.enum is not None and value not in k.enum:
            allowed = ", ".join(str(e) for e in k.enum)
            close = difflib.get_close_matches(str(value), [str(e) for e in k.enum], n=1, cutoff=0.5)
            fix = f"did you mean '{close[0]}'?" if close else f"use one of: {allowed}"
            self.add("SCH002", where(), f"'{k.key}' of {what} is '{value}', which is not an allowed value",
                     f"one of: {allowed}", fix)
            return _INVALID
        return value

    def bad_id(self, value: str, k: spec.KeySpec, where: _At, what: str) -> Any:
        example = next((ex for kind, ex in m.ID_EXAMPLES.items() if m.ID_PATTERNS[kind].pattern == k.pattern),
                       "URS-001")
        self.add("SCH004", where(), f"'{value}' is not a valid ID in {what}",
                 f"an ID of the form {example}", f"write the ID in that form, for example {example}")
        return _INVALID

    def strings(self, value: Any, k: spec.KeySpec, where: _At, what: str) -> Any:
        if not isinstance(value, list):
            self.add("SCH002", where(), f"'{k.key}' of {what} is {_describe(value)}", "a list of strings",
                     f"write '{k.key}' as a list: one '- text' line per entry")
            return _INVALID
        ok = True
        for i, entry in enumerate(value):
            if not isinstance(entry, str):
                at = value.at(i) if isinstance(value, YList) else where()
                self.add("SCH002", at, f"entry {i + 1} of '{k.key}' in {what} is {_describe(entry)}", "a string",
                         "quote the entry")
                ok = False
        return tuple(value) if ok else _INVALID

    def links(self, value: Any, k: spec.KeySpec, where: _At, what: str) -> Any:
        kind = m.LinkKind(k.key)
        if not isinstance(value, list):
            self.add("SCH002", where(), f"'{k.key}' of {what} is {_describe(value)}", "a list of IDs",
                     f"write '{k.key}: [ID, ...]'")
            return _INVALID
        result: list[m.Link] = []
        for i, entry in enumerate(value):
            at = value.at(i) if isinstance(value, YList) else where()
            if isinstance(entry, str):
                result.append(m.Link(kind=kind, target=entry, fingerprint=None, source=at))
            elif isinstance(entry, YMap):
                got = self.fields(entry, spec.LINK_KEYS, f"a link in '{k.key}'")
                if "target" in got:
                    result.append(m.Link(kind=kind, target=got["target"], fingerprint=got.get("fingerprint"),
                                         source=at))
            else:
                self.add("SCH002", at, f"entry {i + 1} of '{k.key}' in {what} is {_describe(entry)}",
                         "an ID, or {id: ID, fingerprint: sha256:...}", "write the linked item's ID")
        return result

    # -- documents ------------------------------------------------------------------------

    def read(self, data: Any) -> m.Document | None:
        if not isinstance(data, YMap):
            where = getattr(data, "source", m.Source(path=self.path, line=1, column=1))
            self.add("YAML007", where, f"the file holds {_describe(data)}, not a document",
                     "a mapping with 'document:' and 'items:'")
            return None
        self.unknown_keys(data, spec.TOP_KEYS, "the file")
        header = data.get("document")
        if not isinstance(header, YMap):
            if "document" not in data:
                self.add("SCH003", data.source, "the file has no 'document:' header",
                         "'document:' with id, kind, title, version, owner, status", "add the document header")
            else:
                self.add("SCH002", data.value_at("document"), f"'document' is {_describe(header)}",
                         "a mapping with id, kind, title, version, owner, status")
            return None
        head = self.fields(header, spec.DOCUMENT_KEYS, "the document header")
        kind_value = head.get("kind")
        if kind_value is None:
            return None
        doc_kind = m.DocumentKind(kind_value)
        approvals = self.approvals(header.get("approvals"), header)
        doc_id = head.get("id") or f"?{self.path}"
        items = self.items(data, doc_kind, doc_id)
        criteria = self.criteria(data, doc_kind)
        return m.Document(
            id=doc_id, kind=doc_kind, title=head.get("title") or "", version=head.get("version") or "",
            owner=head.get("owner") or "", status=head.get("status") or "draft", approvals=approvals,
            items=tuple(items), criteria=tuple(criteria), source=header.source,
            approvals_source=header.value_at("approvals") if "approvals" in header else None,
        )

    def approvals(self, value: Any, header: YMap) -> tuple[m.Approval, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add("SCH002", header.value_at("approvals"), f"'approvals' is {_describe(value)}",
                     "a list of approvals written by 'valgen approve'", "write 'approvals: []'")
            return ()
        result: list[m.Approval] = []
        for i, entry in enumerate(value):
            at = value.at(i) if isinstance(value, YList) else header.source
            if not isinstance(entry, YMap):
                self.add("SCH002", at, f"approval {i + 1} is {_describe(entry)}", "a mapping written by 'valgen approve'")
                continue
            got = self.fields(entry, spec.APPROVAL_KEYS, f"approval {i + 1}")
            if all(k.attr in got for k in spec.APPROVAL_KEYS if k.required):
                result.append(m.Approval(signer=got["signer"], name=got["name"], meaning=got["meaning"],
                                         time=got["time"], fingerprint=got["fingerprint"],
                                         signature=got.get("signature"), source=entry.source))
        return tuple(result)

    def criteria(self, data: YMap, doc_kind: m.DocumentKind) -> list[m.Criterion]:
        if "acceptance_criteria" not in data:
            return []
        value = data["acceptance_criteria"]
        if doc_kind is not m.DocumentKind.PLAN:
            self.add("SCH001", data.key_at("acceptance_criteria"),
                     "'acceptance_criteria' belongs only in the Validation Plan (kind: plan)",
                     "no 'acceptance_criteria' in this kind of document")
            return []
        if not isinstance(value, YList):
            self.add("SCH002", data.value_at("acceptance_criteria"), f"'acceptance_criteria' is {_describe(value)}",
                     "a list of criteria")
            return []
        result: list[m.Criterion] = []
        for i, entry in enumerate(value):
            if not isinstance(entry, YMap):
                self.add("SCH002", value.at(i), f"criterion {i + 1} is {_describe(entry)}", "a mapping")
                continue
            got = self.fields(entry, spec.CRITERION_KEYS, f"criterion {i + 1}")
            if all(k.attr in got for k in spec.CRITERION_KEYS if k.required):
                result.append(m.Criterion(id=got["id"], text=got["text"], measure=got["measure"],
                                          stages=tuple(got.get("stages") or ()), level=got.get("level"),
                                          source=entry.source))
        return result

    def items(self, data: YMap, doc_kind: m.DocumentKind, doc_id: str) -> list[m.Item]:
        value = data.get("items")
        if value is None:
            if "items" not in data:
                self.add("SCH003", data.source, "the file has no 'items:' list", "'items:' with at least one item",
                         "add 'items:' and the document's items")
            return []
        if not isinstance(value, YList):
            self.add("SCH002", data.value_at("items"), f"'items' is {_describe(value)}", "a list of items")
            return []
        kind = m.ITEM_KIND_OF_DOCUMENT[doc_kind]
        result: list[m.Item] = []
        for i, entry in enumerate(value):
            if not isinstance(entry, YMap):
                self.add("SCH002", value.at(i), f"item {i + 1} is {_describe(entry)}", "a mapping with 'id:'")
                continue
            item = self.item(entry, kind, doc_id, i)
            if item is not None:
                result.append(item)
        return result

    def item(self, data: YMap, kind: str, doc_id: str, index: int) -> m.Item | None:
        raw_id = data.get("id")
        label = f"{kind.upper() if kind not in ('clause', 'section') else kind} item {raw_id}" if isinstance(
            raw_id, str) else f"item {index + 1}"
        if isinstance(raw_id, str):
            other = m.kind_of_id(raw_id)
            if other is not None and other != kind:
                self.add("SCH005", data.value_at("id"),
                         f"{raw_id} has the ID form of {other} items, but this is a {kind} document",
                         f"an ID of the form {m.ID_EXAMPLES[kind]}",
                         f"move {raw_id} to the {other} document, or give it a {kind} ID")
                return None
        got = self.fields(data, spec.item_keys(kind), label)
        if "id" not in got:
            return None
        links = tuple(got.pop("links", ()))
        steps = self.steps(data, label) if kind in m.TEST_KINDS else ()
        settings = self.settings(data, label) if kind == "ds" else ()
        base: dict[str, Any] = {
            "id": got.get("id"), "title": got.get("title", ""), "text": got.get("text", ""),
            "status": got.get("status", "active"), "links": links, "source": data.source, "document_id": doc_id,
        }
        cls = spec.ITEM_CLASSES[kind]
        extra = {k.attr: got.get(k.attr, _fallback(k)) for k in spec.item_keys(kind)
                 if k.attr not in base and k.attr != "links"}
        if kind in m.TEST_KINDS:
            extra["steps"] = steps
        if kind == "ds":
            extra["settings"] = settings
        return cls(**base, **extra)

    def steps(self, data: YMap, label: str) -> tuple[m.Step, ...]:
        value = data.get("steps")
        if not isinstance(value, YList):
            if "steps" in data:
                self.add("SCH002", data.value_at("steps"), f"'steps' of {label} is {_describe(value)}",
                         _TYPE_WORDS[spec.STEPS])
            return ()
        result: list[m.Step] = []
        for i, entry in enumerate(value):
            if not isinstance(entry, YMap):
                self.add("SCH002", value.at(i), f"step {i + 1} of {label} is {_describe(entry)}",
                         "a mapping {step, action, expected}")
                continue
            got = self.fields(entry, spec.STEP_KEYS, f"step {i + 1} of {label}")
            if all(k.attr in got for k in spec.STEP_KEYS):
                result.append(m.Step(number=got["number"], action=got["action"], expected=got["expected"],
                                     source=entry.source))
        numbers = [s.number for s in result]
        if result and numbers != list(range(1, len(numbers) + 1)):
            self.add("TST001", value.source, f"the steps of {label} are numbered {numbers}",
                     f"steps numbered 1 to {len(numbers)}")
        return tuple(result)

    def settings(self, data: YMap, label: str) -> tuple[m.Setting, ...]:
        value = data.get("settings")
        if value is None:
            return ()
        if not isinstance(value, YList):
            self.add("SCH002", data.value_at("settings"), f"'settings' of {label} is {_describe(value)}",
                     _TYPE_WORDS[spec.SETTINGS])
            return ()
        result: list[m.Setting] = []
        for i, entry in enumerate(value):
            if not isinstance(entry, YMap):
                self.add("SCH002", value.at(i), f"setting {i + 1} of {label} is {_describe(entry)}",
                         "a mapping {name, resource, value}")
                continue
            got = self.fields(entry, spec.SETTING_KEYS, f"setting {i + 1} of {label}")
            if all(k.attr in got for k in spec.SETTING_KEYS):
                result.append(m.Setting(name=got["name"], resource=got["resource"], value=_plain(got["value"]),
                                        source=entry.source))
        return tuple(result)


_KEY_NAMES: dict[int, frozenset[str]] = {}  # by id() of the spec tuples, which live for the process


class _At:
    """Where a key's value is, computed only when a finding needs it."""

    __slots__ = ("data", "key")

    def __init__(self, data: YMap, key: str) -> None:
        self.data = data
        self.key = key

    def __call__(self) -> m.Source:
        return self.data.value_at(self.key)


class _Invalid:
    pass


_INVALID: Any = _Invalid()


def _fallback(k: spec.KeySpec) -> Any:
    """A placeholder for a missing or invalid field, so the item can still be checked for links."""
    if k.default is not None:
        return k.default
    return {spec.STRING: "", spec.INTEGER: 0, spec.BOOLEAN: False, spec.STRINGS: ()}.get(k.type)


def _plain(value: Any) -> Any:
    """Strip position-carrying containers down to plain dict/list for setting values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_PATTERN_CACHE: dict[str, Any] = {}


def _matches(pattern: str, value: str) -> bool:
    import re

    compiled = _PATTERN_CACHE.get(pattern)
    if compiled is None:
        compiled = _PATTERN_CACHE[pattern] = re.compile(pattern)
    return compiled.match(value) is not None


def iter_items(model: m.Model) -> Iterator[m.Item]:
    return model.all_items()
