"""The embedded moto target against a real moto server: deployment read-back, personas, wrong deployments."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.model import Setting, Source
from generator.targets.capabilities import readback_limits
from generator.targets.deployment import Deployment, PersonaPolicy, deployment_from_settings
from generator.targets.moto import MotoServer, MotoTarget, deploy_moto
from generator.targets.profile import TargetProfile
from generator.targets.readback import SETTING_NAMES, expected_value, read_setting, value_matches

REPO = Path(__file__).resolve().parents[2]
_S = Source(path=Path("specs/SETTINGS.md"), line=1, column=1)

# The reference values of specs/SETTINGS.md, written out as a DS would (one row per setting and resource).
REFERENCE: list[tuple[str, str, Any]] = []
for _b in ("compliance_bucket", "replica_bucket", "trail_bucket"):
    REFERENCE += [(_b, "versioning_status", "Enabled"), (_b, "object_lock_enabled", "Enabled"),
                  (_b, "object_lock_mode", "COMPLIANCE"), (_b, "object_lock_retention_days", 2555)]
    REFERENCE += [(_b, n, True) for n in ("block_public_acls", "ignore_public_acls", "block_public_policy",
                                          "restrict_public_buckets")]
for _b, _k in (("compliance_bucket", "{kms_key}"), ("replica_bucket", "{replica_kms_key}")):
    REFERENCE += [(_b, "encryption_algorithm", "aws:kms"), (_b, "encryption_key", _k), (_b, "bucket_key_enabled", True)]
REFERENCE += [("account", n, True) for n in ("block_public_acls", "ignore_public_acls", "block_public_policy",
                                             "restrict_public_buckets")]
for _k in ("kms_key", "replica_kms_key"):
    REFERENCE += [(_k, "key_manager", "CUSTOMER"), (_k, "key_rotation_enabled", True), (_k, "key_state", "Enabled")]
REFERENCE += [
    ("compliance_bucket", "replication_status", "Enabled"),
    ("compliance_bucket", "replication_destination", "{replica_bucket}"),
    ("compliance_bucket", "replication_delete_marker_replication", "Enabled"),
    ("trail", "is_multi_region_trail", True),
    ("trail", "log_file_validation_enabled", True),
    ("trail", "s3_bucket_name", "{trail_bucket}"),
    ("trail", "is_logging", True),
    ("trail", "s3_data_events_bucket", "{compliance_bucket}"),
    ("config_recorder", "recording_all_supported", True),
    ("config_recorder", "recording", True),
    ("backup_vault", "exists", True),
    ("backup_plan", "schedule_expression", "cron(0 3 * * ? *)"),
    ("backup_plan", "delete_after_days", 2555),
    ("registrar_role", "allowed_actions", ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket",
                                           "s3:ListBucketVersions"]),
    ("auditor_role", "allowed_actions", ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket",
                                         "s3:ListBucketVersions"]),
    ("admin_role", "denied_actions", ["s3:BypassGovernanceRetention", "s3:PutObjectLockConfiguration",
                                      "s3:DeleteObjectVersion", "s3:PutBucketVersioning", "cloudtrail:StopLogging",
                                      "cloudtrail:DeleteTrail", "kms:ScheduleKeyDeletion", "kms:DisableKey"]),
    ("compliance_bucket", "workflow_config_present", True),
    ("compliance_bucket", "workflows", ["ngs-run", "signed-record", "submission-dataset"]),
    ("compliance_bucket", "workflow_required", True),
]


def test_reference_table_names_every_setting_of_settings_md() -> None:
    """The test table and the read-back cover the same (resource, name) pairs as specs/SETTINGS.md."""
    readable = {(res, name) for name, (resources, _r) in SETTING_NAMES.items() for res in resources}
    tested = {(res, name) for res, name, _v in REFERENCE}
    persona_rows = {(r, n) for r in ("registrar_role", "signer_role", "auditor_role", "admin_role")
                    for n in ("allowed_actions", "denied_actions")}
    assert readable - persona_rows == tested - persona_rows
    text = (REPO / "specs" / "SETTINGS.md").read_text()
    for name in SETTING_NAMES:
        assert f"`{name}`" in text, name


def test_deployment_reads_back_every_reference_value(reference_target: MotoTarget) -> None:
    """Built from the DS-form reference settings, the deployment reads back every value (IQ on moto)."""
    settings = [Setting(name=n, resource=r, value=v, source=_S) for r, n, v in REFERENCE]
    built = deployment_from_settings(settings, workflows_dir=reference_target.deployment.workflows_dir)
    assert built.expected_workflows == ("ngs-run", "signed-record", "submission-dataset")
    assert dataclasses.replace(built, expected_workflows=None, workflow_required=None) == reference_target.deployment
    wrong = []
    limits = readback_limits("moto")
    for resource, name, value in REFERENCE:
        reading = read_setting(reference_target, resource, name)
        expected = expected_value(reference_target, value)
        if not value_matches(name, expected, reading.value):
            wrong.append((resource, name, expected, reading.value))
    # The only values moto cannot show truthfully are those its read-back limits name (with the reason).
    assert {(r, n) for r, n, _e, _a in wrong} == set(limits)


def test_ds_settings_of_the_repository_read_back(moto_server: MotoServer, moto_profile: TargetProfile) -> None:
    """When specs/ds.yaml carries settings, the deployment built from it reads each one back."""
    from generator.targets.deployment import deployment_from_repository, ds_settings

    settings = ds_settings(REPO)
    if not settings:
        pytest.skip("not run: the repository has no DS settings yet (specs/ds.yaml)")
    target = deploy_moto(moto_server, moto_profile, deployment_from_repository(REPO), suffix="ds")
    wrong = []
    for s in settings:
        if (s.resource, s.name) in readback_limits("moto"):
            continue
        reading = read_setting(target, s.resource, s.name)
        if not value_matches(s.name, expected_value(target, s.value), reading.value):
            wrong.append((str(s.source), s.resource, s.name, s.value, reading.value))
    assert wrong == []


def _denied(call: Any) -> bool:
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    return False


def test_personas_are_allowed_and_denied_what_their_policies_say(reference_target: MotoTarget) -> None:
    t = reference_target
    bucket = t.compliance_bucket
    reg, sig, aud, adm = (t.client("s3", p) for p in ("registrar", "signer", "auditor", "admin"))
    put = reg.put_object(Bucket=bucket, Key="pkg/a.txt", Body=b"record")
    version = put["VersionId"]
    assert put["ServerSideEncryption"] == "aws:kms"
    # auditor: reads only
    assert aud.get_object(Bucket=bucket, Key="pkg/a.txt", VersionId=version)["Body"].read() == b"record"
    assert _denied(lambda: aud.put_object(Bucket=bucket, Key="pkg/b.txt", Body=b"x"))
    assert _denied(lambda: aud.delete_object(Bucket=bucket, Key="pkg/a.txt"))
    # signer: writes only under signatures/
    assert sig.put_object(Bucket=bucket, Key="signatures/e.json", Body=b"{}")["VersionId"]
    assert _denied(lambda: sig.put_object(Bucket=bucket, Key="pkg/a.txt", Body=b"forged"))
    # registrar: may not delete
    assert _denied(lambda: reg.delete_object(Bucket=bucket, Key="pkg/a.txt"))
    # admin: denied version delete (and the lock would refuse it too)
    assert _denied(lambda: adm.delete_object(Bucket=bucket, Key="pkg/a.txt", VersionId=version))
    # every persona acts as its role (single-hop AssumeRole)
    for persona in ("registrar", "signer", "auditor", "admin"):
        arn = t.client("sts", persona).get_caller_identity()["Arn"]
        assert f":assumed-role/{t.resources[persona + '_role']}/" in arn
    # the record is still there, unchanged
    assert aud.get_object(Bucket=bucket, Key="pkg/a.txt", VersionId=version)["Body"].read() == b"record"


def test_locked_version_cannot_be_deleted_even_by_the_deployer(reference_target: MotoTarget) -> None:
    s3 = reference_target.deployer_client("s3")
    bucket = reference_target.compliance_bucket
    version = s3.put_object(Bucket=bucket, Key="lock/x.txt", Body=b"x")["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="lock/x.txt", VersionId=version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert _denied(lambda: s3.delete_object(Bucket=bucket, Key="lock/x.txt", VersionId=version,
                                            BypassGovernanceRetention=True))


@pytest.mark.parametrize(
    ("label", "change", "resource", "name", "wrong_value"),
    [
        ("suspended", lambda d: dataclasses.replace(d, compliance=dataclasses.replace(d.compliance,
                                                                                      versioning="Suspended")),
         "compliance_bucket", "versioning_status", "Suspended"),
        ("governance", lambda d: dataclasses.replace(d, compliance=dataclasses.replace(d.compliance,
                                                                                       lock_mode="GOVERNANCE")),
         "compliance_bucket", "object_lock_mode", "GOVERNANCE"),
        ("norotation", lambda d: dataclasses.replace(d, kms_key=dataclasses.replace(d.kms_key, rotation=False)),
         "kms_key", "key_rotation_enabled", False),
        ("noworkflow", lambda d: dataclasses.replace(d, workflows_dir=None),
         "compliance_bucket", "workflow_config_present", False),
        ("unlocked", lambda d: d.unlocked(), "compliance_bucket", "object_lock_enabled", "Disabled"),
        ("notrail", lambda d: dataclasses.replace(d, trail=dataclasses.replace(d.trail, logging=False)),
         "trail", "is_logging", False),
    ],
)
def test_wrong_deployment_reads_back_wrong(reference_target: MotoTarget, moto_server: MotoServer,
                                           moto_profile: TargetProfile, label: str, change: Any, resource: str,
                                           name: str, wrong_value: Any) -> None:
    """Each override makes exactly the setting it breaks read back differently (so IQ can fail)."""
    target = deploy_moto(moto_server, moto_profile, change(reference_target.deployment), suffix=label)
    assert target.account != reference_target.account
    assert read_setting(target, resource, name).value == wrong_value
    assert read_setting(reference_target, resource, name).value != wrong_value


def test_auditor_with_write_access_can_write(reference_target: MotoTarget, moto_server: MotoServer,
                                             moto_profile: TargetProfile) -> None:
    base = reference_target.deployment
    auditor = base.personas["auditor"]
    broken = base.with_persona("auditor", PersonaPolicy(allowed=(*auditor.allowed, "s3:PutObject")))
    target = deploy_moto(moto_server, moto_profile, broken, suffix="auditorwrite")
    s3 = target.client("s3", "auditor")
    assert s3.put_object(Bucket=target.compliance_bucket, Key="pkg/x.txt", Body=b"x")["VersionId"]
    assert "s3:PutObject" in read_setting(target, "auditor_role", "allowed_actions").value


def test_deployment_from_settings_rejects_unknown_setting() -> None:
    from generator.errors import ContentError

    bad = Setting(name="object_lock_colour", resource="compliance_bucket", value="blue",
                  source=Source(path=Path("specs/ds.yaml"), line=12, column=7))
    with pytest.raises(ContentError) as info:
        deployment_from_settings([bad])
    assert info.value.where == "specs/ds.yaml:12:7"
    assert "object_lock_colour" in info.value.message
    wrong = Setting(name="object_lock_mode", resource="compliance_bucket", value="STRICT", source=_S)
    with pytest.raises(ContentError, match="STRICT"):
        deployment_from_settings([wrong])
    assert Deployment().compliance.lock_mode == "COMPLIANCE"


def test_server_stops_and_leaves_no_process() -> None:
    server = MotoServer()
    with server:
        proc = server._process
        assert proc is not None and proc.poll() is None
        assert server.endpoint.startswith("http://127.0.0.1:")
    assert proc.poll() is not None
    assert not server.running


def test_cli_deploy_then_inspect_then_stop_on_interrupt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`valgen deploy` prints the endpoint and persona keys and stays up; `valgen inspect` answers from it;
    Ctrl-C stops the server and removes the state file."""
    import signal
    import socket

    from generator.cli import main
    from generator.records import RecordsClient
    from generator.targets.moto import attach_moto, state_path
    from generator.targets.profile import load_profile

    profile_path = REPO / "qualification" / "targets" / "moto.yaml"
    cli = [sys.executable, "-m", "generator"]
    proc = subprocess.Popen([*cli, "deploy", "--target", str(profile_path), "--path", str(tmp_path)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("# the server runs"):
                break
        endpoint = next(x for x in lines if x.startswith("AWS_ENDPOINT_URL="))
        assert endpoint.startswith("AWS_ENDPOINT_URL=http://127.0.0.1:")
        for persona in ("registrar", "signer", "auditor", "admin"):
            line = next(x for x in lines if x.startswith(persona + ": "))
            assert re.fullmatch(rf"{persona}: AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+", line)

        # register through the running deployment, then ask the CLI
        target = attach_moto(load_profile(profile_path), state_path(tmp_path))
        folder = tmp_path / "pkg"
        folder.mkdir()
        (folder / "README.md").write_text("# Demo record\n")
        RecordsClient(target).register(folder, "demo/record", message="first")
        common = ["--target", str(profile_path), "--path", str(tmp_path)]
        # in-process CLI calls (the same main() the console script runs) keep the test fast
        assert main(["inspect", *common]) == 0
        assert capsys.readouterr().out.startswith("demo/record: 1 revision(s)")
        assert main(["inspect", "demo/record", "--revision", "1", *common, "--export", str(tmp_path / "out")]) == 0
        out = capsys.readouterr().out
        assert "1. Show the revision and prove it has not changed since it was signed [answered]" in out
        assert "3. Who accessed it in the last 90 days? [not available on this target]" in out
        assert (tmp_path / "out" / "demo_record-r1.pdf").is_file()
        assert main(["inspect", "demo/record", "--revision", "5", *common]) == 2
        assert "has revisions 1..1, not 5" in capsys.readouterr().err
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    assert not state_path(tmp_path).exists()
    port = int(endpoint.rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    assert main(["inspect", "demo/record", "--target", str(profile_path), "--path", str(tmp_path)]) == 2
    assert "valgen deploy" in capsys.readouterr().err


def test_deployment_refuses_a_workflow_contract_the_ds_disagrees_with(moto_server: MotoServer,
                                                                      moto_profile: TargetProfile) -> None:
    from generator.errors import ValgenError

    deployment = Deployment(workflows_dir=REPO / "tests" / "targets" / "workflows",
                            expected_workflows=("ngs-run", "signed-record"))
    accounts = len(moto_server.deployers)
    with pytest.raises(ValgenError, match="the DS expects") as info:
        deploy_moto(moto_server, moto_profile, deployment, suffix="wrongcontract")
    assert "submission-dataset" in info.value.message
    assert len(moto_server.deployers) == accounts  # refused before any account or resource was made


def test_server_does_not_outlive_a_killed_parent() -> None:
    """The child exits when its parent dies (its stdin pipe closes), even on SIGKILL: never left running."""
    import os
    import select
    import signal

    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys; from generator.targets.moto import MotoServer\n"
         "s = MotoServer(); s.start(); print(s._process.pid, flush=True); sys.stdin.read()"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    pidfd = os.pidfd_open(child_pid)  # becomes readable when the process exits: an event, not a poll
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        readable, _w, _x = select.select([pidfd], [], [], 30)
        assert readable == [pidfd], "the moto child is still running after its parent was killed"
    finally:
        os.close(pidfd)
