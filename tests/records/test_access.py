"""Question 3 on an aws target: S3 data events read from CloudTrail log files (botocore Stubber, AWS's format)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from generator.records import RecordsClient
from generator.records.access import access_events
from generator.targets.aws import AwsTarget
from generator.targets.profile import load_profile

REPO = Path(__file__).resolve().parents[2]
PROFILE = load_profile(REPO / "qualification" / "targets" / "aws-example.yaml")
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
TOP = "ab" * 32


def _client(service: str) -> Any:
    return boto3.Session(aws_access_key_id="AKIATEST", aws_secret_access_key="s",
                         region_name="eu-west-1").client(service, region_name="eu-west-1")


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def _record(name: str, bucket: str, key: str, arn: str, when: str) -> dict[str, Any]:
    # the shape of a CloudTrail S3 data event (docs: "CloudTrail record contents")
    return {"eventVersion": "1.09", "eventSource": "s3.amazonaws.com", "eventName": name, "eventTime": when,
            "userIdentity": {"type": "AssumedRole", "arn": arn}, "sourceIPAddress": "10.0.0.7",
            "requestParameters": {"bucketName": bucket, "key": key, "versionId": "v1"}}


def test_access_events_keep_only_the_package_and_its_manifests() -> None:
    sts, persona_sts, s3 = _client("sts"), _client("sts"), _client("s3")
    log = {"Records": [
        _record("GetObject", "example-gxp-records", "ngs/run-001/samples.csv",
                "arn:aws:sts::111122223333:assumed-role/records-auditor/jane", "2026-11-27T13:15:00Z"),
        _record("GetObject", "example-gxp-records", "ngs/run-002/samples.csv",
                "arn:aws:sts::111122223333:assumed-role/records-auditor/jane", "2026-11-27T09:16:00Z"),
        _record("GetObject", "example-gxp-records", f".quilt/packages/{TOP}",
                "arn:aws:sts::111122223333:assumed-role/records-auditor/joe", "2026-11-28T08:00:00Z"),
        _record("GetObject", "example-gxp-records", "ngs/run-001/README.md",
                "arn:aws:sts::111122223333:assumed-role/records-auditor/old", "2026-11-27T11:59:00Z"),  # > 1 day
        _record("PutObject", "other-bucket", "ngs/run-001/samples.csv", "arn:aws:iam::111122223333:user/x",
                "2026-11-27T10:00:00Z"),
    ]}
    gz = gzip.compress(json.dumps(log).encode())
    with Stubber(sts) as stub, Stubber(persona_sts) as pstub, Stubber(s3) as s3stub:
        stub.add_response("assume_role", {"Credentials": {
            "AccessKeyId": "ASIAPERSONA000000", "SecretAccessKey": "s", "SessionToken": "t",
            "Expiration": dt.datetime.now(dt.UTC) + dt.timedelta(days=1)}}, {"RoleArn": ANY, "RoleSessionName": "valgen-auditor"})
        pstub.add_response("get_caller_identity", {"UserId": "AROA", "Account": "111122223333",
                                                   "Arn": "arn:aws:sts::111122223333:assumed-role/a/b"})
        s3stub.add_response("list_object_versions", {"Versions": [{
            "Key": ".quilt/named_packages/ngs/run-001/1795838511", "VersionId": "p1",
            "LastModified": NOW - dt.timedelta(days=2)}]})
        s3stub.add_response("get_object", {"Body": _body(TOP.encode())})
        s3stub.add_response("list_objects_v2", {"Contents": [
            {"Key": "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/28/log1.json.gz"}]},
            {"Bucket": "example-gxp-audit-trail", "Prefix": "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/28/"})
        s3stub.add_response("get_object", {"Body": _body(gz)})
        s3stub.add_response("list_objects_v2", {},
            {"Bucket": "example-gxp-audit-trail", "Prefix": "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/27/"})

        def factory(arg: Any) -> Any:
            class _S:
                def client(self, service: str, **_k: Any) -> Any:
                    return {"sts": persona_sts, "s3": s3}[service] if isinstance(arg, dict) else sts
            return _S()

        target = AwsTarget(PROFILE, session_factory=factory)
        events = access_events(RecordsClient(target), "ngs/run-001", days=1, now=NOW, regions=("eu-west-1",))
        s3stub.assert_no_pending_responses()
    assert [(e.time, e.event, e.key, e.actor) for e in events] == [
        ("2026-11-27T13:15:00Z", "GetObject", "ngs/run-001/samples.csv",
         "arn:aws:sts::111122223333:assumed-role/records-auditor/jane"),
        ("2026-11-28T08:00:00Z", "GetObject", f".quilt/packages/{TOP}",
         "arn:aws:sts::111122223333:assumed-role/records-auditor/joe"),
    ]
    assert events[0].version_id == "v1" and events[0].source_ip == "10.0.0.7"


def test_aws_records_client_refuses_to_register_outside_the_test_prefix(tmp_path: Path) -> None:
    import pytest

    from generator.errors import ValgenError

    target = AwsTarget(PROFILE, session_factory=lambda _a: None)
    (tmp_path / "README.md").write_text("x")
    with pytest.raises(ValgenError, match="refusing to write 'ngs/run-001/'"):
        RecordsClient(target).register(tmp_path, "ngs/run-001", message="m")
