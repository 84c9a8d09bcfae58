"""Fixtures for the render tests: a real (synthetic) content tree with a run, built once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "binder"))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(content root, run directory): the bench corpus at N=24 and a run over every case."""
    from build_bench import write_run
    from corpus import generate

    base = tmp_path_factory.mktemp("corpus")
    generate(24, base / "content")
    return base / "content", write_run(base / "content", base / "runs")


@pytest.fixture(scope="session")
def built(corpus: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full build (PDF, HTML, CSV, XLSX) with a pinned clock; returns the output folder."""
    from generator.render.build import build

    root, run = corpus
    out = tmp_path_factory.mktemp("build") / "out"
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1767225600")
    try:
        build(root, [run], out, jobs=2)
    finally:
        mp.undo()
    return out
