"""The valgen pytest plugin, exercised with pytester on small protocols written in the real YAML format."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from generator.load import load_model
from generator.model import fingerprint
from generator.qualify.record import verify_sums

pytest_plugins = ["pytester"]

OQ_YAML = """\
document:
  id: VG-OQ
  kind: oq
  title: Operational Qualification
  version: "1.0"
  owner: Quality Assurance
  status: draft
  approvals: {approvals}
items:
  - id: OQ-001
    title: Locked version cannot be deleted
    objective: A locked version of a record cannot be deleted.
    polarity: negative
    verifies: [FS-001]
    steps:
      - {{step: 1, action: Delete the locked version, expected: AccessDenied}}
      - {{step: 2, action: Read the version back, expected: the same bytes}}
    acceptance: The delete is refused and the version is unchanged.
  - id: OQ-002
    title: Retention cannot be shortened
    objective: COMPLIANCE retention cannot be shortened.
    polarity: negative
    verifies: [FS-001]
    steps:
      - {{step: 1, action: Shorten the retention, expected: AccessDenied}}
    acceptance: Refused.
    requires: [retention_shortening_denied]
  - id: OQ-003
    title: Reviewer inspects the console
    objective: A person looks at the console.
    polarity: positive
    manual: true
    verifies: [FS-001]
    steps:
      - {{step: 1, action: Look, expected: Seen}}
    acceptance: Seen.
  - id: OQ-004
    title: Writer can write
    objective: The writer can write.
    polarity: positive
    verifies: [FS-001]
    steps:
      - {{step: 1, action: Write, expected: Written}}
    acceptance: Written.
  - id: OQ-005
    title: Something that errors
    objective: x
    polarity: positive
    verifies: [FS-001]
    steps:
      - {{step: 1, action: Do it, expected: Done}}
    acceptance: Done.
"""

SUITE = '''
import pytest

@pytest.mark.case("OQ-001")
def test_locked(evidence):
    with evidence.step(1) as step:
        step.attach("delete response", {"Error": {"Code": "AccessDenied"},
                    "Credentials": {"AccessKeyId": "AKIAABCDEFGHIJKLMNOP", "SecretAccessKey": "s3cr3t/value+x",
                                    "SessionToken": "FwoGZXIvYXdzEXAMPLE"},
                    "ResponseMetadata": {"HTTPHeaders": {"authorization": "AWS4-HMAC-SHA256 Credential=AKIAABCDEFGHIJKLMNOP/x, Signature=abcdef0123456789abcdef"}},
                    "url": "https://b.s3.amazonaws.com/k?X-Amz-Signature=deadbeefdeadbeef&X-Amz-Credential=AKIAABCDEFGHIJKLMNOP%2F"})
        step.check(True, "refused with AccessDenied")
    with evidence.step(2) as step:
        step.expect_equal("sha256", "abc", "abc")

@pytest.mark.case("OQ-002")
def test_shorten(evidence):
    raise AssertionError("must not run: moto lacks the capability")

@pytest.mark.case("OQ-004")
def test_write(evidence):
    with evidence.step(1) as step:
        step.expect_equal("status", "Denied", "Written")

@pytest.mark.case("OQ-005")
def test_errors(evidence):
    with evidence.step(1) as step:
        raise RuntimeError("endpoint unreachable")
'''


def _write(pytester: pytest.Pytester, approvals: str = "[]", suite: str = SUITE) -> None:
    (pytester.path / "qualification").mkdir(exist_ok=True)
    (pytester.path / "qualification" / "oq.yaml").write_text(OQ_YAML.format(approvals=approvals))
    (pytester.path / "qualification" / "test_oq.py").write_text(textwrap.dedent(suite))


def _run_dir(pytester: pytest.Pytester) -> Path:
    dirs = [p for p in (pytester.path / "runs").iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def _run_json(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text())
    return data


def _cases(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["case"]: c for c in data["cases"]}


def test_outcomes_evidence_deviations_and_manifest(pytester: pytest.Pytester) -> None:
    _write(pytester)
    result = pytester.runpytest("qualification", "--valgen-out", "runs", "--valgen-stage", "oq")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    run_dir = _run_dir(pytester)
    data = _run_json(run_dir)
    cases = _cases(data)
    assert data["complete"] is True
    assert data["stages"] == ["oq"]
    assert cases["OQ-001"]["outcome"] == "passed"
    assert [s["outcome"] for s in cases["OQ-001"]["steps"]] == ["passed", "passed"]
    assert cases["OQ-001"]["steps"][0]["expected"] == "AccessDenied"  # from the protocol, not the code
    assert cases["OQ-001"]["steps"][1]["actual"] == "sha256 = 'abc'"
    # not run with the capability table's reason, never passed
    assert cases["OQ-002"]["outcome"] == "not run"
    assert "retention" in cases["OQ-002"]["reason"] and "moto" in cases["OQ-002"]["reason"]
    assert cases["OQ-003"]["outcome"] == "not run" and cases["OQ-003"]["manual"] is True
    assert cases["OQ-004"]["outcome"] == "failed"
    assert cases["OQ-004"]["steps"][0]["actual"] == "status = 'Denied' (expected 'Written')"
    assert cases["OQ-005"]["outcome"] == "error"
    assert "endpoint unreachable" in cases["OQ-005"]["steps"][0]["actual"]
    # one deviation per failure and error, naming case and step
    devs = {d["case"]: d for d in data["deviations"]}
    assert sorted(devs) == ["OQ-004", "OQ-005"]
    assert devs["OQ-004"]["id"] == "DEV-001" and devs["OQ-004"]["step"] == 1
    assert devs["OQ-004"]["expected"] == "Written"
    assert cases["OQ-004"]["deviations"] == ["DEV-001"]
    # evidence: a file per attachment, secrets redacted
    evidence = cases["OQ-001"]["steps"][0]["evidence"]
    assert evidence == ["evidence/OQ-001/step-01-01-delete-response.json"]
    text = (run_dir / evidence[0]).read_text()
    for secret in ("AKIAABCDEFGHIJKLMNOP", "s3cr3t", "FwoGZXIvYXdzEXAMPLE", "abcdef0123456789abcdef", "deadbeef"):
        assert secret not in text
    assert "AccessDenied" in text
    # informal: the protocol has no approval
    assert data["formal"] is False
    assert any("no approval" in r for r in data["informal_reasons"])
    assert "qualification/oq.yaml" in data["inputs"] and "qualification/test_oq.py" in data["inputs"]
    # the reports and the manifest
    assert (run_dir / "junit.xml").is_file() and (run_dir / "report.html").is_file()
    assert not list(run_dir.glob(".*"))
    assert verify_sums(run_dir) == []
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=run_dir, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split("  ", 1)[1] for line in (run_dir / "SHA256SUMS").read_text().splitlines()}
    assert {"run.json", "junit.xml", "report.html", evidence[0]} <= listed


def test_tampered_run_folder_is_detected(pytester: pytest.Pytester) -> None:
    _write(pytester)
    pytester.runpytest("qualification", "--valgen-out", "runs")
    run_dir = _run_dir(pytester)
    (run_dir / "junit.xml").write_text("<testsuites/>")
    (run_dir / "extra.txt").write_text("added later")
    problems = verify_sums(run_dir)
    assert "junit.xml: changed (SHA-256 differs)" in problems
    assert "extra.txt: not listed in SHA256SUMS" in problems


def test_unknown_case_id_is_a_collection_error(pytester: pytest.Pytester) -> None:
    _write(pytester, suite=SUITE + '\n@pytest.mark.case("OQ-099")\ndef test_x(evidence):\n    pass\n')
    result = pytester.runpytest("qualification")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*valgen: qualification/test_oq.py:*: unknown case ID 'OQ-099'*"])
    result.stdout.fnmatch_lines(["*1 error during collection*"])


def test_duplicate_implementation_is_a_collection_error(pytester: pytest.Pytester) -> None:
    _write(pytester, suite=SUITE + '\n@pytest.mark.case("OQ-001")\ndef test_again(evidence):\n    pass\n')
    result = pytester.runpytest("qualification")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*valgen: OQ-001 is implemented 2 times:*test_locked*test_again*"])


def test_missing_implementation_is_a_collection_error(pytester: pytest.Pytester) -> None:
    suite = SUITE.replace('@pytest.mark.case("OQ-004")', "")
    _write(pytester, suite=suite)
    result = pytester.runpytest("qualification", "--valgen-stage", "oq")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*valgen: qualification/oq.yaml:*: automated case OQ-004 (Writer can write) "
                                 "has no implementation*"])


def test_manual_case_bound_and_missing_evidence_fixture_are_errors(pytester: pytest.Pytester) -> None:
    extra = '\n@pytest.mark.case("OQ-003")\ndef test_manual(evidence):\n    pass\n'
    suite = SUITE.replace("def test_write(evidence):", "def test_write():") + extra
    _write(pytester, suite=suite)
    result = pytester.runpytest("qualification")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*OQ-003 (*oq.yaml:*) is a manual case*"])
    result.stdout.fnmatch_lines(["*OQ-004 is bound but the test does not use the 'evidence' fixture*"])


def test_skipped_protocol_step_is_an_error(pytester: pytest.Pytester) -> None:
    suite = SUITE.replace("    with evidence.step(2) as step:\n        step.expect_equal(\"sha256\", \"abc\", \"abc\")\n", "")
    _write(pytester, suite=suite)
    pytester.runpytest("qualification", "--valgen-out", "runs")
    cases = _cases(_run_json(_run_dir(pytester)))
    assert cases["OQ-001"]["outcome"] == "error"
    assert "protocol step(s) 2 were not executed" in cases["OQ-001"]["reason"]


def test_step_without_actual_result_is_an_error(pytester: pytest.Pytester) -> None:
    suite = SUITE.replace('step.check(True, "refused with AccessDenied")', "pass")
    _write(pytester, suite=suite)
    pytester.runpytest("qualification", "--valgen-out", "runs")
    cases = _cases(_run_json(_run_dir(pytester)))
    assert cases["OQ-001"]["outcome"] == "error"
    assert "recorded no actual result" in cases["OQ-001"]["reason"]


def test_plugin_is_inert_without_cases(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "runs").exists()


def test_formal_only_when_approval_matches_current_fingerprint(pytester: pytest.Pytester) -> None:
    _write(pytester)
    document = load_model(pytester.path).documents[0]
    approval = (f'[{{signer: qa-lead, name: "Q. A. Lead", meaning: approved, time: "2026-11-27T10:00:00Z", '
                f'fingerprint: "{fingerprint(document)}"}}]')
    _write(pytester, approvals=approval)
    suite = SUITE.replace('"Denied", "Written"', '"Written", "Written"').replace(
        'raise RuntimeError("endpoint unreachable")', 'step.record("done")')
    (pytester.path / "qualification" / "test_oq.py").write_text(textwrap.dedent(suite))
    result = pytester.runpytest("qualification", "--valgen-out", "runs", "--valgen-stage", "oq")
    assert result.ret == pytest.ExitCode.OK
    data = _run_json(_run_dir(pytester))
    assert data["formal"] is True, data["informal_reasons"]
    assert data["deviations"] == []
    # change one expected result after approval: the same suite no longer gives formal evidence
    oq = pytester.path / "qualification" / "oq.yaml"
    oq.write_text(oq.read_text().replace("expected: Written}", "expected: Written and read back}"))
    for p in (pytester.path / "runs").iterdir():
        subprocess.run(["rm", "-rf", str(p)], check=True)
    pytester.runpytest("qualification", "--valgen-out", "runs", "--valgen-stage", "oq")
    data = _run_json(_run_dir(pytester))
    assert data["formal"] is False
    assert any("changed after its approval" in r for r in data["informal_reasons"])


def test_xdist_controller_writes_the_record(pytester: pytest.Pytester) -> None:
    _write(pytester)
    result = pytester.runpytest_subprocess("qualification", "-n", "2", "--valgen-out", "runs", "--valgen-stage", "oq")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    run_dir = _run_dir(pytester)
    data = _run_json(run_dir)
    cases = _cases(data)
    assert data["complete"] is True
    assert {k: v["outcome"] for k, v in cases.items()} == {
        "OQ-001": "passed", "OQ-002": "not run", "OQ-003": "not run", "OQ-004": "failed", "OQ-005": "error"}
    assert (run_dir / cases["OQ-001"]["steps"][0]["evidence"][0]).is_file()
    assert verify_sums(run_dir) == []


def test_xdist_collection_error_is_reported(pytester: pytest.Pytester) -> None:
    _write(pytester, suite=SUITE + '\n@pytest.mark.case("OQ-099")\ndef test_x(evidence):\n    pass\n')
    result = pytester.runpytest_subprocess("qualification", "-n", "2", "--valgen-out", "runs")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*unknown case ID 'OQ-099'*"])
    data = _run_json(_run_dir(pytester))
    assert data["complete"] is False


def test_killed_run_never_claims_complete(pytester: pytest.Pytester) -> None:
    suite = SUITE.replace('raise AssertionError("must not run: moto lacks the capability")', "pass").replace(
        'step.expect_equal("status", "Denied", "Written")', "import os; os._exit(9)")
    _write(pytester, suite=suite)
    result = pytester.runpytest_subprocess("qualification", "--valgen-out", "runs")
    assert result.ret == 9
    run_dir = _run_dir(pytester)
    data = _run_json(run_dir)
    assert data["complete"] is False and data["formal"] is False
    assert not (run_dir / "SHA256SUMS").exists()
