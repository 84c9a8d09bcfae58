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
import re
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
    """A mapping that knows where it, each key and each value came from.

    Positions are kept as (line, column) pairs and become `Source` objects only
    when asked for, which keeps loading large corpora fast.
    """

    __slots__ = ("_keys", "_mark", "_path", "_values")
    _path: Path
    _mark: Any  # the parser's Mark (0-based line and column)
    _keys: dict[str, Any]
    _values: dict[str, Any]

    @property
    def source(self) -> Source:
        return _src(self._path, self._mark)

    def key_at(self, key: str) -> Source:
        mark = self._keys.get(key)
        return self.source if mark is None else _src(self._path, mark)

    def value_at(self, key: str) -> Source:
        mark = self._values.get(key)
        return self.key_at(key) if mark is None else _src(self._path, mark)


class YList(list[Any]):
    """A sequence that knows where it and each element came from."""

    __slots__ = ("_items", "_mark", "_path")
    _path: Path
    _mark: Any
    _items: list[Any]

    @property
    def source(self) -> Source:
        return _src(self._path, self._mark)

    def at(self, index: int) -> Source:
        if index < len(self._items):
            return _src(self._path, self._items[index])
        return self.source


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
    """Parse YAML text (one document) into positioned values, straight from the parser's events."""
    builder = _Builder(path)
    try:
        value = builder.run(_events(text))
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
    if builder.problems:
        raise YamlReadError(builder.problems)
    return value


def _events(text: str) -> Any:
    """Parser events straight from the (C) parser, without PyYAML's per-event generator wrapper."""
    loader = _Loader(text)
    try:
        get = loader.get_event
        while True:
            event = get()
            yield event
            if type(event) is yaml.StreamEndEvent:
                return
    finally:
        loader.dispose()


_TYPED = frozenset({_INT, _FLOAT, _BOOL, _NULL})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
          "yes": True, "Yes": True, "YES": True, "no": False, "No": False, "NO": False,
          "on": True, "On": True, "ON": True, "off": False, "Off": False, "OFF": False}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT_RE = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
_SPECIAL_INT_RE = re.compile(r"^[-+]?0(b[0-1_]+|o?[0-7_]+|x[0-9a-fA-F_]+)$")
_NUMBER_START = frozenset("-+0123456789.")


def _plain_scalar(value: str) -> Any:
    """YAML 1.1 implicit typing of a plain scalar (the same result as PyYAML's SafeLoader)."""
    if value in _NULLS:
        return None
    flag = _BOOLS.get(value)
    if flag is not None:
        return flag
    if value and value[0] in _NUMBER_START:
        if _INT_RE.match(value):
            return int(value.replace("_", ""))
        if _FLOAT_RE.match(value) and any(c.isdigit() for c in value):
            return float(value.replace("_", ""))
        if _SPECIAL_INT_RE.match(value) or value.lower() in (".inf", "-.inf", "+.inf", ".nan"):
            node = yaml.ScalarNode(tag=_Loader.resolve(_Loader, yaml.ScalarNode, value, (True, False)), value=value)
            try:
                return yaml.constructor.SafeConstructor().construct_object(node)
            except (yaml.YAMLError, ValueError):
                return value
    return value


class _Builder:
    """Builds positioned values from parser events, collecting every problem in one pass.

    Aliases reuse the anchored value; the expanded size of each anchor is tracked
    so a nest of aliases that would expand beyond the bound is refused (YAML004).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[YamlProblem] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.expanded = 0
        self.documents = 0

    def _problem(self, code: str, mark: Any, message: str, expected: str) -> None:
        self.problems.append(YamlProblem(code, _src(self.path, mark), message, expected))

    def _check_tag(self, event: Any) -> bool:
        tag = event.tag
        if tag is None or tag == "!" or tag in _ALLOWED_TAGS:
            return True
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        self._problem("YAML003", event.start_mark, f"the tag '{shown}' is not allowed", "plain YAML values without tags")
        return False

    def run(self, events: Any) -> Any:
        # Positions are kept as the parser's Mark objects (0-based) and turned into
        # Source (1-based) only when asked for. Stack entries:
        # [container, expanded size, pending key or None, mark of the pending key, anchor, is-mapping]
        stack: list[list[Any]] = []
        result: Any = None
        have_result = False
        path = self.path
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        plain = _plain_scalar
        allowed = _ALLOWED_TAGS
        parent: Any = None
        cls: Any
        for event in events:
            cls = type(event)
            value: Any
            size = 1
            if cls is scalar_event:
                mark = event.start_mark
                if parent is not None and parent[5] and parent[2] is None:
                    # a mapping key: the common case, kept short
                    tag = event.tag
                    if tag is not None and tag != "!" and tag not in allowed:
                        self._check_tag(event)
                    key = event.value
                    if key == "<<" and event.implicit[0]:
                        self._problem("YAML003", mark, "merge keys ('<<') are not allowed", "explicit keys")
                        parent[2] = _BAD_KEY
                    elif key in parent[0]:
                        first = parent[0]._keys[key]
                        self._problem("YAML002", mark, f"key '{key}' is already defined at line {first.line + 1}",
                                      "each key once per mapping")
                        parent[2] = _BAD_KEY
                    else:
                        parent[2] = key
                        parent[3] = mark
                    if event.anchor is not None:
                        self.anchors[event.anchor] = (key, 1)
                    continue
                tag = event.tag
                if tag is None or tag == "!":
                    value = plain(event.value) if event.implicit[0] else event.value
                elif tag in allowed:
                    value = plain(event.value) if tag in _TYPED else event.value
                else:
                    self._check_tag(event)
                    value = None
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
            elif cls is map_start or cls is seq_start:
                if event.tag is not None and event.tag != "!":
                    self._check_tag(event)
                mark = event.start_mark
                container: Any
                if cls is map_start:
                    container = YMap()
                    container._keys = {}
                    container._values = {}
                else:
                    container = YList()
                    container._items = []
                container._path = path
                container._mark = mark
                if parent is not None and parent[5] and parent[2] is None:
                    self._problem("YAML001", mark, "a mapping key must be a plain string", "a plain key")
                    parent[2] = _BAD_KEY
                parent = [container, 1, None, None, event.anchor, cls is map_start]
                stack.append(parent)
                continue
            elif cls is map_end or cls is seq_end:
                container, size, _key, _pos, anchor, _is_map = stack.pop()
                parent = stack[-1] if stack else None
                value = container
                mark = container._mark
                if anchor is not None:
                    self.anchors[anchor] = (value, size)
            elif cls is alias_event:
                mark = event.start_mark
                anchored = self.anchors.get(event.anchor)
                if anchored is None:
                    self._problem("YAML001", mark, f"alias '*{event.anchor}' has no anchor", "a defined anchor")
                    value, size = None, 1
                else:
                    value, size = anchored
                    self.expanded += size
                    if self.expanded > MAX_ALIAS_EXPANSIONS:
                        raise YamlReadError([YamlProblem(
                            "YAML004", _src(path, mark),
                            f"aliases expand to more than {MAX_ALIAS_EXPANSIONS:,} nodes (a 'billion laughs' pattern?)",
                            f"at most {MAX_ALIAS_EXPANSIONS:,} alias expansions",
                        )])
                if parent is not None and parent[5] and parent[2] is None:
                    if isinstance(value, str):
                        parent[2], parent[3] = value, mark
                    else:
                        self._problem("YAML001", mark, "a mapping key must be a plain string", "a plain key")
                        parent[2] = _BAD_KEY
                    continue
            elif cls is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise YamlReadError([YamlProblem("YAML001", _src(path, event.start_mark),
                                                     "the file holds more than one YAML document ('---')",
                                                     "one document per file")])
                continue
            else:  # stream start/end, document end
                continue
            if parent is None:
                result, have_result = value, True
                continue
            parent[1] += size
            holder = parent[0]
            if not parent[5]:
                holder.append(value)
                holder._items.append(mark)
                continue
            key = parent[2]
            parent[2] = None
            if key is _BAD_KEY:
                continue
            holder[key] = value
            holder._keys[key] = parent[3]
            holder._values[key] = mark
        if not have_result:
            raise YamlReadError([YamlProblem("YAML007", Source(path=path, line=1, column=1),
                                             "the file is empty", "a 'document:' header and an 'items:' list")])
        return result


_BAD_KEY: Any = object()
