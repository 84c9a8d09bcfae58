"""The anchor converters carry every corpus item, text and link into Doorstop, StrictDoc and sphinx-needs form."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


corpus = _load("bench_corpus", BENCH / "corpus.py")
convert = _load("bench_anchor_convert", BENCH / "anchors" / "convert.py")


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    folder = tmp_path_factory.mktemp("corpus")
    counts = corpus.generate(120, folder)
    read = convert.read_corpus(folder)
    assert len(read) == sum(counts.values())
    return list(read)


def _links(items: list[Any]) -> dict[str, set[str]]:
    return {item.uid: set(item.links) for item in items}


def test_read_corpus_keeps_ids_links_and_text(items: list[Any]) -> None:
    uids = {item.uid for item in items}
    assert len(uids) == len(items)
    # Clause IDs like 21CFR11.10(a) are renamed for the anchors, and links follow the rename.
    assert "CLAUSE-00001" in uids and not any("CFR" in uid for uid in uids)
    assert all(link in uids for item in items for link in item.links)
    urs = next(item for item in items if item.kind == "urs")
    assert urs.links and all(link.startswith("CLAUSE-") for link in urs.links)
    test_case = next(item for item in items if item.kind == "iq")
    assert "Step 1:" in test_case.text and "Expected:" in test_case.text


def test_doorstop_tree_has_every_item_and_link(items: list[Any], tmp_path: Path) -> None:
    root = convert.write_doorstop(items, tmp_path / "doorstop", git_init=False)
    found: dict[str, set[str]] = {}
    for settings in root.glob("*/.doorstop.yml"):
        config = yaml.safe_load(settings.read_text())["settings"]
        assert config["prefix"] == settings.parent.name.upper()
        parent = convert.DOORSTOP_PARENT.get(settings.parent.name)
        assert config.get("parent") == (parent.upper() if parent else None)
        levels = []
        for path in settings.parent.glob("[A-Z]*.yml"):
            data = yaml.safe_load(path.read_text())
            found[path.stem] = {next(iter(link)) for link in data["links"]}
            levels.append(data["level"])
            assert data["text"].strip() and data["normative"] is True
        assert len(levels) == len(set(levels))  # Doorstop warns on duplicate levels
    assert found == _links(items)


def test_strictdoc_documents_have_every_requirement_and_parent(items: list[Any], tmp_path: Path) -> None:
    folder = convert.write_strictdoc(items, tmp_path / "sdoc")
    found: dict[str, set[str]] = {}
    for path in folder.glob("*.sdoc"):
        text = path.read_text()
        assert text.startswith("[DOCUMENT]\nTITLE: ")
        for block in text.split("[REQUIREMENT]\n")[1:]:
            uid = re.search(r"^UID: (\S+)$", block, re.M)
            assert uid is not None and "STATEMENT: >>>\n" in block and "\n<<<\n" in block
            found[uid.group(1)] = set(re.findall(r"^- TYPE: Parent\n  VALUE: (\S+)$", block, re.M))
    assert found == _links(items)


def test_sphinx_needs_pages_have_every_need_and_link(items: list[Any], tmp_path: Path) -> None:
    folder = convert.write_sphinx_needs(items, tmp_path / "sphinx")
    assert 'extensions = ["sphinx_needs"]' in (folder / "conf.py").read_text()
    found: dict[str, set[str]] = {}
    kinds = set()
    for path in folder.glob("*.rst"):
        for match in re.finditer(r"^\.\. (req|spec|test):: .+\n   :id: (\S+)\n(?:   :links: (.+)\n)?", path.read_text(),
                                 re.M):
            kinds.add(match.group(1))
            found[match.group(2)] = set(match.group(3).split(", ")) if match.group(3) else set()
    assert kinds == {"req", "spec", "test"}
    assert found == _links(items)
