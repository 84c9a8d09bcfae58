"""The README's CLI reference is generated from the CLI and must not drift; it shows the two commands first."""

from __future__ import annotations

from pathlib import Path

from generator.clidoc import BEGIN, END, reference

README = Path(__file__).resolve().parents[1] / "README.md"


def test_cli_reference_matches_the_cli() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == reference(), "README CLI reference is stale: run `python -m generator.clidoc`"


def test_first_screen_shows_make_demo_then_make_test() -> None:
    first_block = README.read_text(encoding="utf-8").split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
