"""The safe YAML reader: typing, positions, and refusal of unsafe input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.load.yamlio import YamlReadError, YList, YMap, parse_yaml

P = Path("x.yaml")


def test_plain_scalars_are_typed_like_safe_load() -> None:
    text = "a: 1\nb: 0x1F\nd: .inf\ne: yes\nf: ~\ng: '1'\nh: !!int '7'\nj: 1_000\nl: 010\nn: 1.0\np: [x, 'y']\n"
    assert parse_yaml(text, P) == yaml.safe_load(text)


def test_timestamps_stay_strings() -> None:
    assert parse_yaml("t: 2026-11-28T09:30:00Z\n", P) == {"t": "2026-11-28T09:30:00Z"}


def test_positions_of_keys_values_and_list_items() -> None:
    data = parse_yaml("top:\n  key: value\n  list:\n    - one\n    - {k: v}\n", P)
    assert isinstance(data, YMap)
    inner = data["top"]
    assert (inner.key_at("key").line, inner.key_at("key").column) == (2, 3)
    assert (inner.value_at("key").line, inner.value_at("key").column) == (2, 8)
    items = inner["list"]
    assert isinstance(items, YList)
    assert (items.at(1).line, items.at(1).column) == (5, 7)
    assert str(items[1].source) == "x.yaml:5:7"


def test_every_duplicate_key_and_tag_is_reported_in_one_pass() -> None:
    with pytest.raises(YamlReadError) as caught:
        parse_yaml("a: 1\na: 2\nb: !!python/object:os.system x\nc: {d: 1, d: 2}\n", P)
    codes = [(p.code, p.source.line) for p in caught.value.problems]
    assert codes == [("YAML002", 2), ("YAML003", 3), ("YAML002", 4)]


def test_small_aliases_are_allowed_and_shared() -> None:
    data = parse_yaml("base: &b [1, 2]\ncopy: *b\n", P)
    assert data["copy"] == [1, 2]
