"""`valgen check` beyond the corpus: JSON output, rule listing, trace, schemas, module entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from generator.check import registered_codes
from generator.cli import main
from generator.load import content_files
from generator.load.schema import schema_for
from generator.load.yamlio import read_yaml
from generator.model import DocumentKind
from generator.model.findings import RULES

CORPUS = Path(__file__).parent / "corpus"


def test_json_output_lists_findings_with_positions(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS / "dangling-link")
    code = main(["check", ".", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["counts"] == {"error": 1, "warning": 0, "info": 0}
    (only,) = data["findings"]
    assert (only["code"], only["path"], only["line"], only["column"]) == ("LNK001", "fs.yaml", 12, 26)
    assert "URS-099" in only["message"]


def test_clean_content_exits_zero_with_full_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(CORPUS / "clean"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["findings"] == []
    assert all(c["covered"] == c["total"] for c in data["coverage"])


def test_every_rule_code_is_listed_and_every_model_rule_is_in_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--list-rules"]) == 0
    out = capsys.readouterr().out
    for code in RULES:
        assert f"\n{code} " in "\n" + out
    assert set(registered_codes()) <= set(RULES)


def test_trace_prints_chain_up_and_down(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "FS-001", "--path", str(CORPUS / "clean")]) == 0
    out = capsys.readouterr().out
    assert "satisfies URS-001" in out
    assert "traces_to 21CFR11.10(a)" in out
    assert "DS-001" in out and "OQ-001" in out and "OQ-002" in out
    assert "fingerprint sha256:" in out


def test_trace_unknown_id_suggests_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "FS-01", "--path", str(CORPUS / "clean")]) == 2
    err = capsys.readouterr().err
    assert "no item with ID 'FS-01'" in err and "did you mean FS-001" in err


def test_schemas_are_valid_and_accept_clean_content(tmp_path: Path) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    for kind in DocumentKind:
        schema = json.loads((tmp_path / f"{kind.value}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
    for path in content_files(CORPUS / "clean"):
        data = read_yaml(path)
        kind = DocumentKind(data["document"]["kind"])
        jsonschema.validate(json.loads(json.dumps(data)), schema_for(kind))


def test_schema_rejects_what_the_loader_rejects() -> None:
    data = json.loads(json.dumps(read_yaml(CORPUS / "clean" / "urs.yaml")))
    data["items"][0]["priorty"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema_for(DocumentKind.URS))


def test_python_dash_m_generator_is_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "generator", "check", str(CORPUS / "clean")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "0 errors, 0 warnings" in proc.stdout
