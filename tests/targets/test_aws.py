"""The aws target without AWS: botocore's Stubber answers with what AWS documents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.errors import ValgenError
from generator.targets.aws import AwsTarget
from generator.targets.base import allowed_write
from generator.targets.capabilities import capabilities
from generator.targets.profile import load_profile
from generator.targets.readback import read_setting, value_matches

REPO = Path(__file__).resolve().parents[2]
PROFILE = load_profile(REPO / "qualification" / "targets" / "aws-example.yaml")
EXPIRES = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


def _client(service: str) -> Any:
    session = boto3.Session(aws_access_key_id="AKIATEST", aws_secret_access_key="secret", region_name="eu-west-1")
    return session.client(service, region_name="eu-west-1")


class _Session:
    """Stands in for boto3.Session: hands out pre-built (stubbed) botocore clients."""

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients
        self.asked: list[str] = []

    def client(self, service: str, **_kwargs: Any) -> Any:
        self.asked.append(service)
        return self.clients[service]


def _target(base_sts: Any, persona_clients: dict[str, Any]) -> tuple[AwsTarget, list[Any]]:
    made: list[Any] = []

    def factory(arg: Any) -> Any:
        made.append(arg)
        if isinstance(arg, dict):  # credentials from AssumeRole -> the persona's session
            return _Session(persona_clients)
        return _Session({"sts": base_sts})  # a named profile's session

    return AwsTarget(PROFILE, session_factory=factory), made


def _identity(stub: Stubber, account: str = "111122223333") -> None:
    stub.add_response("get_caller_identity", {"UserId": "AROAEXAMPLE", "Account": account,
                                              "Arn": f"arn:aws:sts::{account}:assumed-role/records-auditor/valgen"})


def _assume(stub: Stubber, persona: str) -> None:
    stub.add_response("assume_role", {
        "Credentials": {"AccessKeyId": "ASIAPERSONA000000", "SecretAccessKey": "s", "SessionToken": "t",
                        "Expiration": EXPIRES},
        "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE0000000:valgen", "Arn": f"arn:aws:sts::111122223333:assumed-role/x/{persona}"},
    }, {"RoleArn": PROFILE.personas[persona].role_arn, "RoleSessionName": f"valgen-{persona}"})


def test_persona_assumes_its_role_from_its_named_profile() -> None:
    sts, s3, persona_sts = _client("sts"), _client("s3"), _client("sts")
    with Stubber(sts) as stub, Stubber(s3) as s3stub, Stubber(persona_sts) as pstub:
        _assume(stub, "auditor")
        _identity(pstub)  # the first use checks the account against the profile
        s3stub.add_response("get_object_lock_configuration", {"ObjectLockConfiguration": {
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2555}}}},
            {"Bucket": "example-gxp-records"})
        target, made = _target(sts, {"s3": s3, "sts": persona_sts})
        reading = read_setting(target, "compliance_bucket", "object_lock_mode", persona="auditor")
        assert reading.value == "COMPLIANCE" and reading.call == "s3:GetObjectLockConfiguration"
        stub.assert_no_pending_responses()
    assert made[0] == "qa-validation"  # the persona's named profile gave the base credentials
    assert made[1]["AccessKeyId"] == "ASIAPERSONA000000"


def test_governance_on_aws_reads_back_as_a_mismatch() -> None:
    """The IQ check that passes on AWS's documented COMPLIANCE answer fails on GOVERNANCE."""
    sts, s3, persona_sts = _client("sts"), _client("s3"), _client("sts")
    with Stubber(sts) as stub, Stubber(s3) as s3stub, Stubber(persona_sts) as pstub:
        _assume(stub, "auditor")
        _identity(pstub)
        s3stub.add_response("get_object_lock_configuration", {"ObjectLockConfiguration": {
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}})
        s3stub.add_response("get_object_lock_configuration", {"ObjectLockConfiguration": {
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}})
        target, _made = _target(sts, {"s3": s3, "sts": persona_sts})
        mode = read_setting(target, "compliance_bucket", "object_lock_mode", persona="auditor").value
        days = read_setting(target, "compliance_bucket", "object_lock_retention_days", persona="auditor").value
    assert not value_matches("object_lock_mode", "COMPLIANCE", mode)
    assert days == 30 and not value_matches("object_lock_retention_days", 2555, days)


def test_account_mismatch_is_refused() -> None:
    sts, persona_sts = _client("sts"), _client("sts")
    with Stubber(sts) as stub, Stubber(persona_sts) as pstub:
        _assume(stub, "auditor")
        _identity(pstub, "999999999999")
        target, _made = _target(sts, {"sts": persona_sts})
        with pytest.raises(ValgenError, match="account 999999999999, the profile names 111122223333"):
            _ = target.account


def test_role_that_cannot_be_assumed_is_a_clear_error() -> None:
    sts = _client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error("assume_role", "AccessDenied", "not authorized to perform: sts:AssumeRole", 403)
        target, _made = _target(sts, {})
        with pytest.raises(ValgenError) as info:
            target.session("registrar")
    assert "cannot assume the registrar role arn:aws:iam::111122223333:role/records-registrar" in info.value.message
    assert info.value.fix is not None and "trust policy" in info.value.fix


def test_writes_only_the_qualification_test_objects() -> None:
    target = AwsTarget(PROFILE, session_factory=lambda _a: _Session({}))
    assert target.writes_guarded
    hash64 = "a" * 64
    for allowed in ("valgen-qualification/oq001-1a2b/object.txt",                 # scratch objects
                    "ngs/run-valgenq-pq001-1a2b/", "ngs/run-valgenq-pq001-1a2b/fastq/S1.fastq.gz",  # test packages
                    ".quilt/named_packages/ngs/run-valgenq-pq001-1a2b/1700000000",
                    ".quilt/packages/" + hash64,
                    f"signatures/ngs/run-valgenq-pq001-1a2b/{hash64}/20261128T090000Z-s.json",
                    "signatures/valgen-qualification/oq040-1a2b/event.json"):
        target.check_write(allowed)
    for forbidden in ("ngs/run-001/file.fastq", "ngs/run-001/", ".quilt/workflows/config.yml",
                      "signatures/ngs/run-001/x.json", ".quilt/named_packages/ngs/run-001/latest",
                      ".quilt/named_packages/valgen-qualification/pkg/latest", "valgen-qualification/../ngs/x",
                      "ngs/run-valgenq-x/../run-001/samples.csv", "signed/vg-binder/binder.pdf"):
        with pytest.raises(ValgenError, match="refusing to write") as info:
            target.check_write(forbidden)
        assert "test packages named 'ngs/run-valgenq-…'" in info.value.message
    assert not allowed_write(".quilt/packages/sub/key", test_prefix="valgen-qualification/",
                             test_packages="ngs/run-valgenq-")


def test_aws_has_every_capability_and_moto_names_its_reasons() -> None:
    aws, moto = capabilities("aws"), capabilities("moto")
    assert set(aws) == set(moto) and all(c.present for c in aws.values())
    text = (REPO / "specs" / "SETTINGS.md").read_text()
    for name, capability in moto.items():
        assert f"`{name}`" in text
        assert capability.present == (f"`{name}`" in text.split("| moto 5.2.5 |")[1].split("\n\n")[0]
                                      and f"| `{name}`" in text and _moto_yes(text, name))
        assert capability.present or capability.reason.startswith("target moto")


def _moto_yes(text: str, name: str) -> bool:
    for line in text.splitlines():
        if line.startswith(f"| `{name}`"):
            return line.rstrip().endswith("| yes |")
    raise AssertionError(name)
