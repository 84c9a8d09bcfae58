"""Convert a valgen-format benchmark corpus into Doorstop, StrictDoc and sphinx-needs projects with the same items and links.

The corpus (bench/corpus.py) is read back from its YAML files, not regenerated, so
every anchor sees exactly the items, texts and links that `valgen check` reads.
Each item becomes one neutral `Item` (kind, id, title, body text, upward links);
each writer then lays the items out the way its tool expects:

- Doorstop: one document directory per kind (`.doorstop.yml` with a prefix and a
  single parent), one `PREFIX-NNNNN.yml` item file per item with `links`, `text`,
  `header`, `level`, `normative`, ...; plus `git init` (Doorstop finds its tree
  from a VCS root).
- StrictDoc: one `.sdoc` document per kind, `[REQUIREMENT]` nodes with UID, TITLE,
  STATEMENT and `RELATIONS` of type Parent.
- sphinx-needs: a Sphinx project with one `.rst` page per kind, `.. req::`
  (clauses, URS, risks, SOPs), `.. spec::` (FS, DS) and `.. test::` (IQ, OQ, PQ)
  needs carrying `:id:` and `:links:`.

Regulation clause IDs such as `21CFR11.10(a)` are not valid IDs in Doorstop or
StrictDoc, so every tool gets them renamed to `CLAUSE-00001`... in corpus order;
all other IDs are kept as they are.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Kinds in corpus order (parents before children), with the one parent kind a
# Doorstop document may have (Doorstop's tree is strictly one parent per
# document; links to other kinds are still followed and validated).
KINDS = ("clause", "urs", "risk", "fs", "ds", "sop", "iq", "oq", "pq")
DOORSTOP_PARENT = {"urs": "clause", "risk": "urs", "fs": "urs", "ds": "fs", "sop": "urs", "iq": "ds", "oq": "fs",
                   "pq": "urs"}
NEED_TYPE = {"clause": "req", "urs": "req", "risk": "req", "sop": "req", "fs": "spec", "ds": "spec", "iq": "test",
             "oq": "test", "pq": "test"}
LINK_FIELDS = ("traces_to", "affects", "mitigated_by", "satisfies", "implements", "fulfils", "verifies")
TEXT_FIELDS = ("text", "scenario", "rationale", "residual_risk", "purpose", "objective", "acceptance")


@dataclass(frozen=True)
class Item:
    """One corpus item reduced to what every anchor can hold: kind, ID, title, body text and upward links."""

    kind: str
    uid: str
    title: str
    text: str
    links: tuple[str, ...]


def _body(record: dict[str, Any]) -> str:
    """All prose of a record, in a fixed order, so each tool stores (and renders) the same amount of text."""
    parts = [str(record[key]) for key in TEXT_FIELDS if record.get(key)]
    for key in ("responsibilities", "prerequisites", "procedure"):
        parts += [str(line) for line in record.get(key) or []]
    for step in record.get("steps") or []:
        parts.append(f"Step {step['step']}: {step['action']} Expected: {step['expected']}")
    return "\n\n".join(parts)


def read_corpus(folder: Path) -> list[Item]:
    """Read a bench/corpus.py corpus back into neutral items, kinds in `KINDS` order and IDs in file order."""
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for path in sorted(folder.rglob("*.yaml")):
        kind = path.stem.rsplit("-", 1)[0]
        if kind not in by_kind:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        by_kind[kind].extend(data["items"])
    rename = {str(record["id"]): f"CLAUSE-{i + 1:05d}" for i, record in enumerate(by_kind["clause"])}
    items: list[Item] = []
    for kind in KINDS:
        for record in by_kind[kind]:
            links = [str(target) for key in LINK_FIELDS for target in record.get(key) or []]
            items.append(Item(kind=kind, uid=rename.get(str(record["id"]), str(record["id"])),
                              title=str(record["title"]).strip(), text=_body(record),
                              links=tuple(dict.fromkeys(rename.get(link, link) for link in links))))
    return items


def _by_kind(items: Iterable[Item]) -> dict[str, list[Item]]:
    grouped: dict[str, list[Item]] = {kind: [] for kind in KINDS}
    for item in items:
        grouped[item.kind].append(item)
    return {kind: group for kind, group in grouped.items() if group}


def _yaml_block(text: str, indent: str = "  ") -> str:
    """A YAML literal block scalar (`|`) body; the corpus prose never needs escaping inside one."""
    return "\n".join(indent + line if line else "" for line in text.splitlines())


def write_doorstop(items: list[Item], out: Path, git_init: bool = True) -> Path:
    """Write a Doorstop tree (one document per kind) under `out`; returns the tree root to run `doorstop` in."""
    out.mkdir(parents=True, exist_ok=True)
    for kind, group in _by_kind(items).items():
        prefix = kind.upper()
        folder = out / kind
        folder.mkdir(exist_ok=True)
        settings = [f"  digits: 5\n  prefix: {prefix}\n  sep: '-'"]
        if kind in DOORSTOP_PARENT:
            settings.append(f"  parent: {DOORSTOP_PARENT[kind].upper()}")
        (folder / ".doorstop.yml").write_text("settings:\n" + "\n".join(settings) + "\n", encoding="utf-8")
        for index, item in enumerate(group, start=1):
            links = "".join(f"\n- {link}: null" for link in item.links) if item.links else " []"
            # Fields in Doorstop's own (alphabetical) order; header carries the title.
            (folder / f"{item.uid}.yml").write_text(
                f"active: true\nderived: false\nheader: {_quote(item.title)}\nlevel: '1.{index}'\n"
                f"links:{links}\nnormative: true\nref: ''\nreviewed: null\ntext: |\n{_yaml_block(item.text)}\n",
                encoding="utf-8")
    if git_init and not (out / ".git").exists():
        subprocess.run(["git", "init", "-q", str(out)], check=True)
    return out


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def write_strictdoc(items: list[Item], out: Path) -> Path:
    """Write one StrictDoc `.sdoc` document per kind under `out`; returns the folder to export."""
    out.mkdir(parents=True, exist_ok=True)
    for kind, group in _by_kind(items).items():
        lines = ["[DOCUMENT]", f"TITLE: Benchmark {kind.upper()}", ""]
        for item in group:
            lines += ["[REQUIREMENT]", f"UID: {item.uid}", f"TITLE: {item.title}", "STATEMENT: >>>", item.text,
                      "<<<"]
            if item.links:
                lines.append("RELATIONS:")
                for link in item.links:
                    lines += ["- TYPE: Parent", f"  VALUE: {link}"]
            lines.append("")
        (out / f"{kind}.sdoc").write_text("\n".join(lines), encoding="utf-8")
    return out


SPHINX_CONF = '''"""Sphinx configuration of the sphinx-needs benchmark anchor (generated by bench/anchors/convert.py)."""

project = "valgen benchmark corpus"
extensions = ["sphinx_needs"]
# The corpus IDs contain hyphens (URS-00001); the default regex does not allow them.
needs_id_regex = r"^[A-Z0-9_-]{5,}"
needs_types = [
    {"directive": "req", "title": "Requirement", "prefix": "R_", "color": "#BFD8D2", "style": "node"},
    {"directive": "spec", "title": "Specification", "prefix": "S_", "color": "#FEDCD2", "style": "node"},
    {"directive": "test", "title": "Test Case", "prefix": "T_", "color": "#DCB239", "style": "node"},
]
html_theme = "alabaster"
'''


def write_sphinx_needs(items: list[Item], out: Path) -> Path:
    """Write a Sphinx project (conf.py, index.rst, one page per kind) under `out`; returns the source folder."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "conf.py").write_text(SPHINX_CONF, encoding="utf-8")
    groups = _by_kind(items)
    index = ["Benchmark corpus", "================", "", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {kind}" for kind in groups]
    (out / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")
    for kind, group in groups.items():
        heading = f"Benchmark {kind.upper()}"
        lines = [heading, "=" * len(heading), ""]
        for item in group:
            lines += [f".. {NEED_TYPE[kind]}:: {item.title}", f"   :id: {item.uid}"]
            if item.links:
                lines.append(f"   :links: {', '.join(item.links)}")
            lines += ["", _yaml_block(item.text, "   "), ""]
        (out / f"{kind}.rst").write_text("\n".join(lines), encoding="utf-8")
    return out
