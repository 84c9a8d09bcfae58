"""What registration and listing cost, kept correct: the workflow config is cached by S3 version (a new version
governs the very next push), a push reads nothing back, and one listing gives many packages' revisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.errors import ValgenError
from generator.records import RecordsClient, quiltenv
from generator.targets.deployment import Deployment
from generator.targets.moto import MotoServer, deploy_moto
from generator.targets.profile import TargetProfile
from tests.records.conftest import WORKFLOWS

META = {"study": "ST-042", "operator": "A. Operator"}
SCHEMA_KEY = ".quilt/workflows/ngs-run.schema.json"
CONFIG_KEY = ".quilt/workflows/config.yml"


def _package(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("# NGS run\n")
    (folder / "samples.csv").write_text("sample,reads\nS1,1000\n")
    return folder


def _workflow(client: RecordsClient, name: str) -> dict[str, Any]:
    _revision, manifest = client.browse(name)
    workflow = manifest.workflow
    assert isinstance(workflow, dict)
    return workflow


def test_new_schema_and_config_versions_are_used_at_the_next_push(
        records_server: MotoServer, moto_profile: TargetProfile, tmp_path: Path) -> None:
    target = deploy_moto(records_server, moto_profile, Deployment(workflows_dir=WORKFLOWS), suffix="wfcache")
    client = RecordsClient(target)
    s3 = target.deployer_client("s3")
    bucket = target.compliance_bucket
    folder = _package(tmp_path / "pkg")

    client.register(folder, "ngs/run-101", message="m", metadata=META, workflow="ngs-run")
    first = _workflow(client, "ngs/run-101")

    # A stricter schema (a new version of the same key): the next push must be judged by it.
    schema = json.loads((WORKFLOWS / "ngs-run.schema.json").read_text())
    schema["required"].append("batch")
    stricter = s3.put_object(Bucket=bucket, Key=SCHEMA_KEY, Body=json.dumps(schema).encode())
    with pytest.raises(ValgenError, match="batch"):
        client.register(folder, "ngs/run-102", message="m", metadata=META, workflow="ngs-run")
    client.register(folder, "ngs/run-102", message="m", metadata={**META, "batch": "B1"}, workflow="ngs-run")
    second = _workflow(client, "ngs/run-102")
    assert second["schemas"]["ngs-run"].endswith(f"?versionId={stricter['VersionId']}")
    assert second["schemas"]["ngs-run"] != first["schemas"]["ngs-run"]
    assert second["config"] == first["config"]

    # A new config version (a handle pattern for ngs-run): names outside it are refused from the next push on.
    text = s3.get_object(Bucket=bucket, Key=CONFIG_KEY)["Body"].read().decode()
    strict = text.replace("    is_message_required: true\n",
                          "    is_message_required: true\n    handle_pattern: ^ngs/strict-\n", 1)
    assert strict != text
    config = s3.put_object(Bucket=bucket, Key=CONFIG_KEY, Body=strict.encode())
    with pytest.raises(ValgenError, match="pattern"):
        client.register(folder, "ngs/run-103", message="m", metadata={**META, "batch": "B1"}, workflow="ngs-run")
    client.register(folder, "ngs/strict-104", message="m", metadata={**META, "batch": "B1"}, workflow="ngs-run")
    third = _workflow(client, "ngs/strict-104")
    assert third["config"].endswith(f"?versionId={config['VersionId']}")
    assert third["schemas"] == second["schemas"]

    # Deleting the newest config version (a delete marker on an unversioned request) brings back no stale
    # entry: the config is gone, so a required workflow can no longer be checked and quilt3 refuses.
    s3.delete_object(Bucket=bucket, Key=CONFIG_KEY)
    with pytest.raises(ValgenError, match="no workflows config"):
        client.register(folder, "ngs/strict-105", message="m", metadata={**META, "batch": "B1"}, workflow="ngs-run")


def test_an_unchanged_config_is_not_read_again(records: RecordsClient, tmp_path: Path) -> None:
    """After the first push, a push lists the workflow folder once and reads no object at all."""
    folder = _package(tmp_path / "pkg")
    records.register(folder, "ngs/run-201", message="m", metadata=META, workflow="ngs-run")
    s3 = quiltenv._clients[records.target.session("registrar")]
    calls: list[tuple[str, str]] = []

    def note(params: dict[str, Any], event_name: str, **_kw: Any) -> None:
        calls.append((event_name.split(".")[-1], str(params.get("Key") or params.get("Prefix") or "")))

    s3.meta.events.register("before-parameter-build.s3", note)
    try:
        revision = records.register(folder, "ngs/run-202", message="m", metadata=META, workflow="ngs-run")
    finally:
        s3.meta.events.unregister("before-parameter-build.s3", note)
    assert not [c for c in calls if c[0] in ("GetObject", "HeadObject")]
    workflow_calls = [c for c in calls if c[1].startswith(".quilt/workflows/")]
    assert workflow_calls == [("ListObjectVersions", ".quilt/workflows/")]
    assert not [c for c in calls if c[0] == "ListObjectsV2"]  # no listing of every manifest to print a short hash
    # The pointer version the push wrote is known from S3's answer; the revision is the one read back.
    assert revision.number == 1 and records.revisions("ngs/run-202") == [revision]
    assert records.verify("ngs/run-202").ok


def test_revision_of_a_push_is_numbered_among_earlier_ones(records: RecordsClient, tmp_path: Path) -> None:
    folder = _package(tmp_path / "pkg")
    made = []
    for number in (1, 2, 3):
        (folder / "samples.csv").write_text(f"sample,reads\nS1,{number}\n")
        made.append(records.register(folder, "ngs/run-203", message=f"r{number}", metadata=META,
                                     workflow="ngs-run"))
    assert [r.number for r in made] == [1, 2, 3]
    assert records.revisions("ngs/run-203") == made
    assert len({r.top_hash for r in made}) == 3


def test_all_revisions_equal_the_revisions_package_by_package(records: RecordsClient, tmp_path: Path) -> None:
    folder = _package(tmp_path / "pkg")
    for name, count in (("ngs/run-301", 2), ("ngs/run-302", 1), ("ngs/run-3030", 1)):
        for number in range(count):
            (folder / "samples.csv").write_text(f"sample,reads\nS1,{number}\n")
            records.register(folder, name, message="m", metadata=META, workflow="ngs-run")
    for workers in (1, 4):
        found = records.all_revisions("ngs/run-30", max_workers=workers)
        assert sorted(found) == ["ngs/run-301", "ngs/run-302", "ngs/run-3030"]
        assert all(found[name] == records.revisions(name) for name in found)
    assert [r.number for r in found["ngs/run-301"]] == [1, 2]
    assert sorted(records.all_revisions("ngs/run-303")) == ["ngs/run-3030"]
