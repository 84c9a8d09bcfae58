"""`valgen qualify` end to end on a tiny repository: summary table, exit codes, run record, SHA256SUMS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

PROFILE = """\
name: moto
kind: moto
primary_region: us-east-1
replica_region: us-west-2
buckets: {compliance: vg-records, replica: vg-records-replica, trail: vg-trail}
resources: {kms_key: alias/vg-records, replica_kms_key: alias/vg-records-replica, trail: vg-trail,
            config_recorder: default, backup_vault: vg-vault, backup_plan: vg-plan, registrar_role: vg-registrar,
            signer_role: vg-signer, auditor_role: vg-auditor, admin_role: vg-admin}
"""

IQ = """\
document: {id: VG-IQ, kind: iq, title: Installation Qualification, version: "1.0", owner: QA, status: draft,
           approvals: []}
items:
  - id: IQ-001
    title: Component versions are recorded
    objective: The versions are recorded.
    polarity: positive
    verifies: [DS-001]
    steps:
      - {step: 1, action: Read the versions, expected: Versions are listed}
    acceptance: Listed.
"""

OQ = """\
document: {id: VG-OQ, kind: oq, title: Operational Qualification, version: "1.0", owner: QA, status: draft,
           approvals: []}
items:
  - id: OQ-001
    title: Sum is right
    objective: The sum is right.
    polarity: positive
    verifies: [FS-001]
    steps:
      - {step: 1, action: Add one and one, expected: "2"}
    acceptance: Two.
  - id: OQ-002
    title: Shortening is refused
    objective: Refused.
    polarity: negative
    verifies: [FS-001]
    steps:
      - {step: 1, action: Shorten, expected: AccessDenied}
    acceptance: Refused.
    requires: [retention_shortening_denied]
"""

SUITE = """\
import pytest

@pytest.mark.case("IQ-001")
def test_versions(evidence):
    with evidence.step(1) as step:
        step.attach("versions", {"python": "3"})
        step.record("python 3")

@pytest.mark.case("OQ-001")
def test_sum(evidence):
    with evidence.step(1) as step:
        step.expect_equal("1 + 1", 1 + 1, SUM)

@pytest.mark.case("OQ-002")
def test_shorten(evidence):
    raise AssertionError("never runs on moto")
"""


def _repo(tmp_path: Path, total: int) -> Path:
    root = tmp_path / "repo"
    (root / "qualification" / "targets").mkdir(parents=True)
    (root / "qualification" / "targets" / "moto.yaml").write_text(PROFILE)
    (root / "qualification" / "iq.yaml").write_text(IQ)
    (root / "qualification" / "oq.yaml").write_text(OQ)
    (root / "qualification" / "test_suite.py").write_text(SUITE.replace("SUM", str(total)))
    return root


def _valgen(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["COLUMNS"] = "160"
    return subprocess.run([sys.executable, "-m", "generator", "qualify", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_all_pass_or_not_run_exits_0_with_summary(tmp_path: Path) -> None:
    root = _repo(tmp_path, 2)
    done = _valgen(root, "--target", "moto", "--stage", "iq,oq", "-o", "runs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "│ IQ    │      1 │      0 │     0 │       0 │" in done.stdout
    assert "│ OQ    │      1 │      0 │     0 │       1 │" in done.stdout
    assert "not run OQ OQ-002: target moto does not enforce COMPLIANCE retention" in done.stdout
    assert "informal (not formal evidence)" in done.stdout
    (run_dir,) = (root / "runs").iterdir()
    data = json.loads((run_dir / "run.json").read_text())
    assert data["complete"] is True and data["stages"] == ["iq", "oq"]
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=run_dir, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_failure_exits_1_and_opens_a_deviation(tmp_path: Path) -> None:
    root = _repo(tmp_path, 3)
    done = _valgen(root, "--stage", "oq", "-o", "runs")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DEV-001 OQ-001 step 1: expected '2'; actual '1 + 1 = 2 (expected 3)'" in done.stdout


def test_bad_stage_and_unknown_profile_exit_2(tmp_path: Path) -> None:
    root = _repo(tmp_path, 2)
    done = _valgen(root, "--stage", "iq,xq")
    assert done.returncode == 2
    assert "unknown stage(s) in --stage: xq" in done.stderr
    done = _valgen(root, "--target", "nowhere")
    assert done.returncode == 2
    assert "no target profile named 'nowhere'" in done.stderr
    assert "Traceback" not in done.stderr


def test_binding_error_exits_2_and_leaves_an_incomplete_record(tmp_path: Path) -> None:
    root = _repo(tmp_path, 2)
    suite = root / "qualification" / "test_suite.py"
    suite.write_text(suite.read_text().replace('"OQ-002"', '"OQ-077"'))
    done = _valgen(root, "--stage", "oq", "-o", "runs")
    assert done.returncode == 2
    assert "unknown case ID 'OQ-077'" in done.stderr
    assert "automated case OQ-002 (Shortening is refused) has no implementation" in done.stderr
    (run_dir,) = (root / "runs").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["complete"] is False


@pytest.mark.parametrize("workers", ["2"])
def test_parallel_workers_give_the_same_result(tmp_path: Path, workers: str) -> None:
    root = _repo(tmp_path, 2)
    done = _valgen(root, "--stage", "iq,oq", "-n", workers, "-o", "runs")
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = (root / "runs").iterdir()
    data = json.loads((run_dir / "run.json").read_text())
    assert {c["case"]: c["outcome"] for c in data["cases"]} == {"IQ-001": "passed", "OQ-001": "passed",
                                                                "OQ-002": "not run"}


def test_long_running_cases_start_first_only_on_xdist_workers(tmp_path: Path) -> None:
    """A case marked long_running is started first when the run is distributed (one worker here, so the order is
    the worker's); a serial run keeps the protocol order (IQ before OQ)."""
    root = _repo(tmp_path, 2)
    suite = root / "qualification" / "test_suite.py"
    suite.write_text(suite.read_text().replace('@pytest.mark.case("OQ-001")',
                                               '@pytest.mark.long_running\n@pytest.mark.case("OQ-001")'))
    order: dict[str, list[str]] = {}
    for workers in ("0", "1"):
        done = _valgen(root, "--stage", "iq,oq", "-n", workers, "-o", f"runs-{workers}")
        assert done.returncode == 0, done.stdout + done.stderr
        (run_dir,) = (root / f"runs-{workers}").iterdir()
        # JUnit XML lists the test cases in the order their reports arrived, that is the order they ran in.
        tree = ElementTree.parse(run_dir / "junit.xml")
        order[workers] = [case.get("name", "") for case in tree.iter("testcase")]
    assert order["0"] == ["test_versions", "test_sum", "test_shorten"]
    assert order["1"] == ["test_sum", "test_versions", "test_shorten"]
