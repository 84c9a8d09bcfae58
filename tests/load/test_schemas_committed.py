"""The committed schemas/ are exactly what `valgen schema` generates, and every content file points at its schema."""

from __future__ import annotations

import json
from pathlib import Path

from generator.load import content_files
from generator.load.schema import schema_for
from generator.load.yamlio import read_yaml
from generator.model import DocumentKind

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_match_the_model() -> None:
    for kind in DocumentKind:
        committed = json.loads((ROOT / "schemas" / f"{kind.value}.schema.json").read_text())
        assert committed == schema_for(kind), f"schemas/{kind.value}.schema.json is stale: run 'valgen schema'"


def test_committed_target_profile_schema_matches_the_validation() -> None:
    from generator.targets.profile import profile_schema

    committed = json.loads((ROOT / "schemas" / "target-profile.schema.json").read_text())
    assert committed == profile_schema(), "schemas/target-profile.schema.json is stale: run 'valgen schema'"
    for path in sorted((ROOT / "qualification" / "targets").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/target-profile.schema.json", path


def test_every_content_file_names_its_schema_on_the_first_line() -> None:
    for path in content_files(ROOT):
        kind = read_yaml(path)["document"]["kind"]
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../schemas/{kind}.schema.json", path
