"""Safe YAML reading with positions: the only place content bytes become Python values.

Safety (issue 2): no tags beyond plain YAML types, duplicate keys are errors,
alias expansion is bounded (a "billion laughs" file fails fast), files over the
size limit are refused before reading, and encodings are checked (a UTF-8 BOM
is accepted; UTF-16/32 and invalid UTF-8 are reported with their position).

The result is built from `YMap` (dict) and `YList` (list) that remember where
each key and value came from, so every later finding can name file:line:col.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.model import Source

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ALIAS_EXPANSIONS = 10_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_ALLOWED_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, _MAP, _SEQ})


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A problem that stops a file from being read; `code` is a YAML rule code."""

    code: str
    source: Source
    message: str
    expected: str


class YamlReadError(Exception):
    """Raised when a file cannot be read at all; carries every problem found."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__(problems[0].message if problems else "unreadable YAML")
        self.problems = problems


class YMap(dict[str, Any]):
    """A mapping that knows where it, each key and each value came from."""

    source: Source
    key_sources: dict[str, Source]
    value_sources: dict[str, Source]

    def key_at(self, key: str) -> Source:
        return self.key_sources.get(key, self.source)

    def value_at(self, key: str) -> Source:
        return self.value_sources.get(key, self.key_at(key))


class YList(list[Any]):
    """A sequence that knows where it and each element came from."""

    source: Source
    item_sources: list[Source]

    def at(self, index: int) -> Source:
        return self.item_sources[index] if index < len(self.item_sources) else self.source


def _src(path: Path, mark: Any) -> Source:
    return Source(path=path, line=mark.line + 1, column=mark.column + 1)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def decode(path: Path, data: bytes) -> str:
    """Bytes to text: UTF-8 (BOM accepted); anything else is a YAML006 problem."""
    here = Source(path=path, line=1, column=1)
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if data.startswith(bom):
            raise YamlReadError([YamlProblem("YAML006", here, f"the file is encoded as {name}", "UTF-8 text")])
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        line, column = _position(good, len(good))
        byte = data[exc.start]
        raise YamlReadError([YamlProblem(
            "YAML006", Source(path=path, line=line, column=column),
            f"byte 0x{byte:02X} is not valid UTF-8 (the file looks like Latin-1 or Windows-1252 text)",
            "UTF-8 text",
        )]) from None


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n", line + 1)
    if line < len(lines) and column < len(lines[line]):
        return lines[line][column]
    return ""


def read_yaml(path: Path, *, display: Path | None = None) -> Any:
    """Read one YAML file into YMap/YList/scalars. Raises YamlReadError with every problem found.

    `display` is the path findings should show (defaults to `path`).
    """
    shown = display if display is not None else path
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlReadError([YamlProblem("YAML001", Source(path=shown, line=1, column=1),
                                         f"cannot read the file: {exc.strerror}", "a readable file")]) from None
    if size > MAX_FILE_BYTES:
        raise YamlReadError([YamlProblem(
            "YAML005", Source(path=shown, line=1, column=1),
            f"the file is {size / 1048576:.1f} MiB, over the limit of {MAX_FILE_BYTES // 1048576} MiB",
            f"a content file of at most {MAX_FILE_BYTES // 1048576} MiB",
        )])
    with path.open("rb") as handle:
        data = handle.read()
    return parse_yaml(decode(shown, data), shown)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML text (one document) into positioned values."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _src(path, mark) if mark is not None else Source(path=path, line=1, column=1)
        problem = exc.problem or "syntax error"
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            problem = "a tab character; YAML indents with spaces only"
        context = f" ({exc.context})" if exc.context else ""
        raise YamlReadError([YamlProblem("YAML001", where, f"{problem}{context}", "valid YAML")]) from None
    except yaml.YAMLError as exc:
        raise YamlReadError([YamlProblem("YAML001", Source(path=path, line=1, column=1),
                                         str(exc), "valid YAML")]) from None
    if not nodes:
        raise YamlReadError([YamlProblem("YAML007", Source(path=path, line=1, column=1),
                                         "the file is empty", "a 'document:' header and an 'items:' list")])
    if len(nodes) > 1:
        where = _src(path, nodes[1].start_mark)
        raise YamlReadError([YamlProblem("YAML001", where, "the file holds more than one YAML document ('---')",
                                         "one document per file")])
    builder = _Builder(path)
    try:
        value = builder.build(nodes[0])
    except RecursionError:
        raise YamlReadError([YamlProblem("YAML001", Source(path=path, line=1, column=1),
                                         "the YAML is nested too deeply", "at most a few hundred levels")]) from None
    if builder.problems:
        raise YamlReadError(builder.problems)
    return value


class _Builder:
    """Turns composed nodes into positioned values, collecting every problem in one pass."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[YamlProblem] = []
        self.expansions = 0
        self.seen: set[int] = set()
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node) -> Any:
        if id(node) in self.seen:
            # An alias: the composer hands back the same node object again.
            self.expansions += 1
            if self.expansions > MAX_ALIAS_EXPANSIONS:
                raise YamlReadError([YamlProblem(
                    "YAML004", _src(self.path, node.start_mark),
                    f"aliases expand to more than {MAX_ALIAS_EXPANSIONS:,} nodes (a 'billion laughs' pattern?)",
                    f"at most {MAX_ALIAS_EXPANSIONS:,} alias expansions",
                )])
        else:
            self.seen.add(id(node))
        if node.tag not in _ALLOWED_TAGS:
            self.problems.append(YamlProblem(
                "YAML003", _src(self.path, node.start_mark),
                f"the tag '{node.tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed",
                "plain YAML values without tags",
            ))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            result = YList()
            result.source = _src(self.path, node.start_mark)
            result.item_sources = []
            for child in node.value:
                result.item_sources.append(_src(self.path, child.start_mark))
                result.append(self.build(child))
            return result
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag == _STR or node.tag == _TIMESTAMP:
            return str(node.value)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError):
            return str(node.value)

    def _mapping(self, node: yaml.MappingNode) -> YMap:
        result = YMap()
        result.source = _src(self.path, node.start_mark)
        result.key_sources = {}
        result.value_sources = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(YamlProblem("YAML003", _src(self.path, key_node.start_mark),
                                                 "merge keys ('<<') are not allowed", "explicit keys"))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(YamlProblem("YAML001", _src(self.path, key_node.start_mark),
                                                 "a mapping key must be a plain string", "a plain key"))
                continue
            key = str(key_node.value)
            key_src = _src(self.path, key_node.start_mark)
            if key in result:
                first = result.key_sources[key]
                self.problems.append(YamlProblem(
                    "YAML002", key_src, f"key '{key}' is already defined at line {first.line}",
                    "each key once per mapping",
                ))
                continue
            result.key_sources[key] = key_src
            result.value_sources[key] = _src(self.path, value_node.start_mark)
            result[key] = self.build(value_node)
        return result
