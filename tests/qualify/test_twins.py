"""Every automated IQ/OQ case proven able to fail (issue 5, item 5).

Each case's own test function from qualification/ runs against a deliberately
broken moto deployment (the targets engineer's overrides) and must not pass.
Where moto cannot show the passing behaviour (a `requires` capability moto lacks),
botocore's Stubber returns what AWS documents and the same case must pass, and a
Stubber returning the weak answer must make it fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from generator.load import load_model
from generator.model import Model, TestCase
from generator.qualify.evidence import Evidence
from generator.targets.deployment import (
    BackupConfig,
    BucketConfig,
    Deployment,
    KeyConfig,
    PersonaPolicy,
    PublicAccess,
    RecorderConfig,
    ReplicationConfig,
    TrailConfig,
    deployment_from_repository,
)
from generator.targets.moto import MotoServer, MotoTarget, deploy_moto
from generator.targets.profile import find_profile

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "qualification"


def _module(name: str) -> ModuleType:
    if str(SUITES) not in sys.path:
        sys.path.insert(0, str(SUITES))
    spec = importlib.util.spec_from_file_location(f"valgen_suite_{name}", SUITES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(REPO)


@pytest.fixture(scope="module")
def iq() -> ModuleType:
    return _module("test_iq")


@pytest.fixture(scope="module")
def oq() -> ModuleType:
    return _module("test_oq")


def _case_functions(module: ModuleType) -> dict[str, Callable[..., None]]:
    found: dict[str, Callable[..., None]] = {}
    for value in vars(module).values():
        for mark in getattr(value, "pytestmark", []):
            if mark.name == "case":
                found[mark.args[0]] = value
    return found


def run_case(module: ModuleType, model: Model, case_id: str, tmp_path: Path | None = None, **fixtures: Any) -> str:
    """Run one case's test function with the given fixtures; its outcome as the plugin would report it."""
    case = model.items[case_id]
    assert isinstance(case, TestCase)
    function = _case_functions(module)[case_id]
    evidence = Evidence(case)
    available = {"evidence": evidence, "model": model, "tmp_path": tmp_path, **fixtures}
    names = function.__code__.co_varnames[: function.__code__.co_argcount]
    try:
        function(**{name: available[name] for name in names})
    except AssertionError:
        return "failed"
    except Exception:
        return "error"
    return "error" if evidence.missing_steps() else "passed"


# ---------------------------------------------------------------- deployments

NO_LOCK = BucketConfig(versioning=None, object_lock=False, lock_mode=None, encryption="AES256", bucket_key=False,
                       public_access=PublicAccess(block_public_acls=False, ignore_public_acls=False,
                                                  block_public_policy=False, restrict_public_buckets=False))


def _broken(reference: Deployment) -> Deployment:
    """Every DS value wrong, every persona too permissive: what no IQ or OQ case may pass."""
    anything = ("s3:*", "kms:*", "cloudtrail:*", "config:*", "backup:*", "iam:*")
    return dataclasses.replace(
        reference,
        compliance=NO_LOCK,
        replica=NO_LOCK,
        trail_bucket=NO_LOCK,
        kms_key=KeyConfig(rotation=False),
        replica_kms_key=KeyConfig(rotation=False),
        account_public_access=None,
        replication=ReplicationConfig(enabled=False),
        trail=TrailConfig(multi_region=False, log_file_validation=False, logging=False, s3_data_events=False),
        config_recorder=RecorderConfig(all_supported=True, recording=False),
        backup=BackupConfig(schedule="cron(0 12 * * ? *)", delete_after_days=30),
        personas={
            "registrar": PersonaPolicy(allowed=("s3:*",)),
            "signer": PersonaPolicy(allowed=("s3:*",)),
            "auditor": PersonaPolicy(allowed=("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket",
                                              "s3:ListBucketVersions", "s3:PutObject", "s3:DeleteObject",
                                              "s3:DeleteObjectVersion",
                                              "s3:PutObjectRetention", "s3:PutObjectLegalHold", "iam:*"),
                                     scope="all"),
            "admin": PersonaPolicy(allowed=anything, scope="all"),
        },
        workflows_dir=None,
        expected_workflows=None,
        workflow_required=None,
    )


def _crippled(reference: Deployment) -> Deployment:
    """Reference configuration, but personas without the rights their work needs."""
    nothing = PersonaPolicy(allowed=("s3:ListBucket",))
    return dataclasses.replace(reference, personas={"registrar": nothing, "signer": nothing, "auditor": nothing,
                                                    "admin": nothing})


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with MotoServer() as running:
        yield running


@pytest.fixture(scope="module")
def reference() -> Deployment:
    return deployment_from_repository(REPO)


@pytest.fixture(scope="module")
def broken(server: MotoServer, reference: Deployment) -> MotoTarget:
    return deploy_moto(server, find_profile("moto", REPO), _broken(reference), suffix="broken")


@pytest.fixture(scope="module")
def crippled(server: MotoServer, reference: Deployment) -> MotoTarget:
    return deploy_moto(server, find_profile("moto", REPO), _crippled(reference), suffix="crippled")


# ---------------------------------------------------------------- IQ

IQ_READBACK = [f"IQ-{n:03d}" for n in range(2, 19)]


def test_every_iq_case_is_covered_here(model: Model, iq: ModuleType) -> None:
    automated = sorted(c.id for c in model.test_cases() if c.stage == "iq" and not c.manual)
    assert automated == sorted(["IQ-001", *IQ_READBACK])
    assert sorted(_case_functions(iq)) == automated


@pytest.mark.parametrize("case_id", IQ_READBACK)
def test_iq_readback_fails_on_a_broken_deployment(case_id: str, broken: MotoTarget, iq: ModuleType,
                                                  model: Model) -> None:
    outcome = run_case(iq, model, case_id, target=broken)
    assert outcome == "failed", (case_id, outcome)


def test_iq_identity_fails_when_the_account_is_not_the_profile_account(broken: MotoTarget, iq: ModuleType,
                                                                       model: Model) -> None:
    class OtherAccount:
        def __getattr__(self, name: str) -> Any:
            return getattr(broken, name)

        profile = dataclasses.replace(broken.profile, account="999999999999")

    assert run_case(iq, model, "IQ-001", target=OtherAccount()) == "failed"


# ---------------------------------------------------------------- OQ against broken deployments

# case -> the deployment that must make it fail ("failed": a step shows the wrong behaviour; "error": the
# persona cannot even do its part)
OQ_BROKEN = {
    "OQ-001": "broken", "OQ-002": "broken", "OQ-003": "broken", "OQ-004": "broken", "OQ-005": "broken",
    "OQ-006": "broken", "OQ-009": "broken", "OQ-010": "broken", "OQ-011": "broken", "OQ-012": "broken",
    "OQ-013": "broken", "OQ-016": "broken", "OQ-017": "broken", "OQ-020": "broken", "OQ-021": "broken",
    "OQ-025": "broken", "OQ-027": "broken", "OQ-029": "broken", "OQ-031": "broken", "OQ-034": "broken",
    "OQ-035": "broken", "OQ-039": "broken", "OQ-040": "broken", "OQ-042": "broken", "OQ-044": "broken",
    "OQ-007": "broken", "OQ-024": "crippled", "OQ-026": "crippled", "OQ-028": "crippled",
    "OQ-030": "crippled",
}


@pytest.mark.parametrize("case_id", sorted(OQ_BROKEN))
def test_oq_case_does_not_pass_on_a_broken_deployment(case_id: str, broken: MotoTarget, crippled: MotoTarget,
                                                      oq: ModuleType, model: Model, tmp_path: Path) -> None:
    target = broken if OQ_BROKEN[case_id] == "broken" else crippled
    outcome = run_case(oq, model, case_id, tmp_path, target=target)
    assert outcome != "passed", case_id


def test_oq_anonymous_read_fails_on_a_public_bucket(broken: MotoTarget, oq: ModuleType, model: Model) -> None:
    import json

    bucket = broken.resources["compliance_bucket"]
    # The broken deployment has Block Public Access off; a public-read policy then serves unsigned requests.
    broken.deployer_client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    try:
        assert run_case(oq, model, "OQ-018", target=broken) == "failed"
    finally:
        broken.deployer_client("s3").delete_bucket_policy(Bucket=bucket)


# ---------------------------------------------------------------- Stubber: what AWS documents


_SESSION: list[Any] = []


class StubTarget:
    """A target whose clients are botocore Stubbers: responses are queued per (service, persona)."""

    kind = "aws"
    primary_region = "us-east-1"
    replica_region = "us-west-2"

    def __init__(self, endpoint: str | None = None) -> None:
        from types import SimpleNamespace

        self.endpoint = endpoint
        self.profile = SimpleNamespace(name="stub", test_prefix="valgen-qualification/", account=None)
        self.account = "123456789012"
        self.resources = {"compliance_bucket": "records", "replica_bucket": "records-replica",
                          "trail_bucket": "trail", "kms_key": "arn:aws:kms:us-east-1:123456789012:key/k1",
                          "trail": "trail", "config_recorder": "default", "account": "123456789012",
                          "registrar_role": "registrar", "signer_role": "signer", "auditor_role": "auditor",
                          "admin_role": "admin"}
        self.stubbers: dict[tuple[str, str], Any] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def region_of(self, resource: str) -> str:
        return self.replica_region if resource.startswith("replica") else self.primary_region

    def client_config(self) -> Any:
        return None

    def client(self, service: str, persona: str, region: str | None = None) -> Any:
        import boto3
        from botocore.stub import Stubber

        key = (service, persona)
        if key not in self._clients:
            if not _SESSION:  # one session: its loader caches the service models (loading them costs seconds)
                _SESSION.append(boto3.session.Session(aws_access_key_id="AKIASTUBSTUBSTUBSTUB",
                                                      aws_secret_access_key="stub"))
            client = _SESSION[0].client(service.removesuffix("-http"), endpoint_url=self.endpoint,
                                        region_name=region or self.primary_region)
            stubber = Stubber(client)
            stubber.activate()
            self._clients[key], self.stubbers[key] = client, stubber
        return self._clients[key]

    def session(self, persona: str) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(client=lambda service, **_kw: self.client(service + "-http", persona))

    def stub(self, service: str, persona: str) -> Any:
        self.client(service, persona)
        return self.stubbers[(service, persona)]


DENIED = {"code": "AccessDenied", "message": "Access Denied", "http": 403}
UNTIL = dt.datetime(2033, 11, 26, tzinfo=dt.UTC)


def _deny(stubber: Any, method: str) -> None:
    stubber.add_client_error(method, service_error_code=DENIED["code"], service_message=DENIED["message"],
                             http_status_code=DENIED["http"])


def _retention(target: StubTarget, denied: bool, mode: str) -> None:
    target.stub("s3", "registrar").add_response("put_object", {"VersionId": "v1"})
    auditor = target.stub("s3", "auditor")
    auditor.add_response("head_object", {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": UNTIL})
    if denied:
        _deny(target.stub("s3", "admin"), "put_object_retention")
        auditor.add_response("head_object", {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": UNTIL})
    else:
        target.stub("s3", "admin").add_response("put_object_retention", {})
        auditor.add_response("head_object", {"ObjectLockMode": mode, "ObjectLockRetainUntilDate":
                                             dt.datetime.now(dt.UTC) + dt.timedelta(days=1)})


@pytest.mark.parametrize("case_id", ["OQ-005", "OQ-006"])
@pytest.mark.parametrize("aws_denies", [True, False])
def test_retention_cases_follow_the_documented_response(case_id: str, aws_denies: bool, oq: ModuleType,
                                                        model: Model) -> None:
    target = StubTarget()
    _retention(target, aws_denies, "GOVERNANCE")
    assert run_case(oq, model, case_id, target=target) == ("passed" if aws_denies else "failed")


@pytest.mark.parametrize("aws_denies", [True, False])
def test_lock_configuration_change_follows_the_documented_response(aws_denies: bool, oq: ModuleType,
                                                                   model: Model) -> None:
    target = StubTarget()
    admin = target.stub("s3", "admin")
    if aws_denies:
        _deny(admin, "put_object_lock_configuration")
    else:
        admin.add_response("put_object_lock_configuration", {})
    rule = {"Mode": "COMPLIANCE", "Days": 2555} if aws_denies else {"Mode": "GOVERNANCE", "Days": 1}
    admin.add_response("get_object_lock_configuration", {"ObjectLockConfiguration": {
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": rule}}})
    assert run_case(oq, model, "OQ-007", target=target) == ("passed" if aws_denies else "failed")


@pytest.mark.parametrize("status", ["ON", "OFF"])
def test_legal_hold_placement_follows_the_documented_response(status: str, oq: ModuleType, model: Model) -> None:
    target = StubTarget()
    target.stub("s3", "registrar").add_response("put_object", {"VersionId": "v1"})
    admin = target.stub("s3", "admin")
    admin.add_response("put_object_legal_hold", {})
    admin.add_response("get_object_legal_hold", {"LegalHold": {"Status": status}})
    assert run_case(oq, model, "OQ-008", target=target) == ("passed" if status == "ON" else "failed")


@pytest.mark.parametrize("aws_denies", [True, False])
def test_plain_http_request_follows_the_documented_response(aws_denies: bool, oq: ModuleType, model: Model) -> None:
    target = StubTarget()
    stubber = target.stub("s3-http", "auditor")
    if aws_denies:
        _deny(stubber, "list_object_versions")
    else:
        stubber.add_response("list_object_versions", {"Versions": []})
    assert run_case(oq, model, "OQ-014", target=target) == ("passed" if aws_denies else "failed")


@pytest.mark.parametrize("endpoint", [None, "http://s3.us-east-1.amazonaws.com"])
def test_tls_request_passes_only_over_https(endpoint: str | None, oq: ModuleType, model: Model) -> None:
    target = StubTarget(endpoint)
    target.stub("s3", "auditor").add_response("list_object_versions", {"Versions": []})
    assert run_case(oq, model, "OQ-015", target=target) == ("passed" if endpoint is None else "failed")


@pytest.mark.parametrize(("case_id", "method"), [("OQ-016", "put_bucket_acl"), ("OQ-017", "put_bucket_policy")])
@pytest.mark.parametrize("aws_denies", [True, False])
def test_public_access_cases_follow_the_documented_response(case_id: str, method: str, aws_denies: bool,
                                                            oq: ModuleType, model: Model) -> None:
    target = StubTarget()
    stubber = target.stub("s3", "admin")
    if aws_denies:
        _deny(stubber, method)
    else:
        stubber.add_response(method, {})
    assert run_case(oq, model, case_id, target=target) == ("passed" if aws_denies else "failed")


@pytest.mark.parametrize("same_bytes", [True, False])
def test_replication_case_follows_the_documented_response(same_bytes: bool, oq: ModuleType, model: Model) -> None:
    import io

    from botocore.response import StreamingBody

    target = StubTarget()
    target.stub("s3", "registrar").add_response("put_object", {"VersionId": "v1"})
    replica = target.stub("s3", "auditor")
    body = b"OQ-019 replicated record\n" if same_bytes else b"different bytes\n"
    replica.add_response("list_object_versions", {"Versions": [{"Key": "k", "VersionId": "v1"}]})
    replica.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))})
    assert run_case(oq, model, "OQ-019", target=target) == ("passed" if same_bytes else "failed")


@pytest.mark.parametrize("arn", ["arn:aws:sts::123456789012:assumed-role/registrar/registrar-job-1",
                                 "arn:aws:iam::123456789012:user/alice"])
def test_session_identity_case(arn: str, oq: ModuleType, model: Model) -> None:
    target = StubTarget()
    target.stub("sts", "registrar").add_response("get_caller_identity", {"Arn": arn, "Account": "123456789012",
                                                                          "UserId": "AROA:x"})
    target.stub("sts", "auditor").add_response("get_caller_identity", {
        "Arn": "arn:aws:sts::123456789012:assumed-role/auditor/person-1", "Account": "123456789012",
        "UserId": "AROA:y"})
    assert run_case(oq, model, "OQ-036", target=target) == ("passed" if "assumed-role" in arn else "failed")


@pytest.mark.parametrize("skew_seconds", [0, 3600])
def test_time_case_fails_on_a_skewed_service_clock(skew_seconds: int, oq: ModuleType, model: Model) -> None:
    target = StubTarget()
    target.stub("s3", "registrar").add_response("put_object", {"VersionId": "v1"})
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=skew_seconds)
    target.stub("s3", "auditor").add_response("head_object", {"LastModified": stamp})
    assert run_case(oq, model, "OQ-045", target=target) == ("passed" if skew_seconds == 0 else "failed")


# ---------------------------------------------------------------- valgen's own controls: a blind checker fails them


def test_valgen_control_cases_fail_when_the_checker_is_blind(oq: ModuleType, model: Model, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch, broken: MotoTarget) -> None:
    from types import SimpleNamespace

    import generator.check
    import generator.qualify.record
    import generator.targets.readback

    for case_id in ("OQ-046", "OQ-047", "OQ-048", "OQ-049"):  # with the real checker they pass
        (tmp_path / case_id).mkdir()
        assert run_case(oq, model, case_id, tmp_path / case_id, target=broken) == "passed", case_id
    monkeypatch.setattr(generator.check, "run_check", lambda _root: SimpleNamespace(findings=[]))
    monkeypatch.setattr(generator.qualify.record, "verify_sums", lambda _path: [])
    monkeypatch.setattr(generator.targets.readback, "value_matches", lambda *_a: True)
    for case_id in ("OQ-046", "OQ-047", "OQ-049", "OQ-050"):
        (tmp_path / f"blind-{case_id}").mkdir()
        assert run_case(oq, model, case_id, tmp_path / f"blind-{case_id}", target=broken) == "failed", case_id
    monkeypatch.setattr(generator.qualify.record, "verify_sums", lambda _path: ["run.json: changed"])
    (tmp_path / "blind-OQ-048").mkdir()
    assert run_case(oq, model, "OQ-048", tmp_path / "blind-OQ-048", target=broken) == "failed"


# ---------------------------------------------------------------- records client and e-signature cases

RECORDS_BROKEN = ["OQ-063", "OQ-064", "OQ-065", "OQ-067", "OQ-068", "OQ-069", "OQ-070", "OQ-071", "OQ-072",
                  "OQ-077"]


@pytest.fixture(scope="module")
def reference_target(server: MotoServer, reference: Deployment) -> MotoTarget:
    return deploy_moto(server, find_profile("moto", REPO), reference, suffix="ref")


@pytest.fixture(scope="module")
def reference_records(reference_target: MotoTarget) -> Any:
    from generator.records import RecordsClient

    return RecordsClient(reference_target)


@pytest.fixture(scope="module")
def broken_records(broken: MotoTarget) -> Any:
    from generator.records import RecordsClient

    return RecordsClient(broken)


@pytest.fixture(scope="module")
def test_signers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if str(SUITES) not in sys.path:
        sys.path.insert(0, str(SUITES))
    from support import TestSigners

    return TestSigners(tmp_path_factory.mktemp("signers"))


@pytest.mark.parametrize("case_id", RECORDS_BROKEN)
def test_records_case_does_not_pass_on_a_broken_deployment(case_id: str, broken: MotoTarget, broken_records: Any,
                                                           test_signers: Any, oq: ModuleType, model: Model,
                                                           tmp_path: Path) -> None:
    # The broken deployment has no workflow configuration and unlocked, unversioned buckets.
    outcome = run_case(oq, model, case_id, tmp_path, target=broken, records=broken_records, signers=test_signers)
    assert outcome != "passed", case_id


def test_changed_bytes_case_fails_where_an_overwrite_replaces_the_record(broken: MotoTarget, broken_records: Any,
                                                                        oq: ModuleType, model: Model,
                                                                        tmp_path: Path) -> None:
    """OQ-070 on an unversioned bucket: the overwrite replaces the registered bytes, so step 3 must fail."""
    import generator.records.client as client_module

    # Without a workflow configuration the broken bucket accepts a push that names no workflow.
    original = client_module.RecordsClient.register

    def register_without_workflow(self: Any, directory: Path, name: str, **kwargs: Any) -> Any:
        kwargs["workflow"] = None
        return original(self, directory, name, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client_module.RecordsClient, "register", register_without_workflow)
        assert run_case(oq, model, "OQ-070", tmp_path, target=broken, records=broken_records) == "failed"


@pytest.mark.parametrize(("case_id", "blind"), [
    ("OQ-061", "unlock"), ("OQ-073", "check"), ("OQ-074", "duplicates"), ("OQ-075", "duplicates"),
    ("OQ-078", "lockout"), ("OQ-079", "log"), ("OQ-077", "revocation"), ("OQ-083", "inspect"),
])
def test_signing_and_inspection_cases_fail_when_the_control_is_blind(case_id: str, blind: str, oq: ModuleType,
                                                                     model: Model, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     reference_target: MotoTarget,
                                                                     reference_records: Any, test_signers: Any) -> None:
    import generator.esign.identity as identity
    import generator.esign.publish as publish
    import generator.esign.signatories as signatories_module
    import generator.records

    fixtures = {"target": reference_target, "records": reference_records, "signers": test_signers}
    # With the real control the case passes on the reference deployment...
    assert run_case(oq, model, case_id, tmp_path / "real", **fixtures) == "passed", case_id
    # ...and with the control made blind it must not.
    if blind == "unlock":  # a key that opens with any passphrase
        real_unlock = identity.unlock_credential

        def any_passphrase(signer: Any, key_file: Path, source: Any, lockout: Any, now: Any) -> Any:
            right = identity.PassphraseSource(kind=source.kind, ask=lambda: _demo_passphrase(signer.id),
                                              retries=False)
            return real_unlock(signer, key_file, right, lockout, now)

        monkeypatch.setattr(identity, "unlock_credential", any_passphrase)
    elif blind == "check":
        monkeypatch.setattr(publish, "_check_record_event", lambda *_a: None)
    elif blind == "duplicates":
        real_load = signatories_module.load_signatories

        def no_duplicate_check(path: Path, revocations: Path | None = None) -> Any:
            import yaml

            data = yaml.safe_load(path.read_text())
            seen: set[str] = set()
            data["signers"] = [e for e in data["signers"] if not (e["id"] in seen or seen.add(e["id"]))]
            for entry in data["signers"]:
                entry["name"] = ""  # and a signer without a printed name
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            return real_load(path, revocations)

        monkeypatch.setattr(signatories_module, "load_signatories", no_duplicate_check)
    elif blind == "lockout":
        monkeypatch.setattr(identity.Lockout, "failure", lambda self, signer_id, now: 3)
    elif blind == "log":
        monkeypatch.setattr(identity.Lockout, "log", lambda self, *a, **k: None)
    elif blind == "revocation":
        monkeypatch.setattr(signatories_module.Signatories, "revocation", lambda self, signer, at: object())
    elif blind == "inspect":
        monkeypatch.setattr(generator.records, "inspect_package", lambda *a, **k: None)
    outcome = run_case(oq, model, case_id, tmp_path / "blind", **fixtures)
    assert outcome != "passed", (case_id, outcome)


def _demo_passphrase(signer_id: str) -> str:
    from generator.esign.keys import DEMO_SIGNERS

    return next(s.passphrase for s in DEMO_SIGNERS if s.id == signer_id)


@pytest.mark.parametrize("aws_denies", [True, False])
def test_role_change_follows_the_documented_response(aws_denies: bool, oq: ModuleType, model: Model) -> None:
    target = StubTarget()
    sts = target.stub("sts", "auditor")
    if aws_denies:
        _deny(sts, "assume_role")
    else:
        sts.add_response("assume_role", {"Credentials": {
            "AccessKeyId": "ASIASTUBSTUBSTUBSTUB", "SecretAccessKey": "x", "SessionToken": "y",
            "Expiration": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}})
    sts.add_response("get_caller_identity", {"Arn": "arn:aws:sts::123456789012:assumed-role/auditor/s",
                                             "Account": "123456789012", "UserId": "AROA:s"})
    assert run_case(oq, model, "OQ-062", target=target) == ("passed" if aws_denies else "failed")


def test_every_automated_oq_case_has_a_twin(model: Model, oq: ModuleType) -> None:
    stubbed = {"OQ-005", "OQ-006", "OQ-007", "OQ-008", "OQ-014", "OQ-015", "OQ-016", "OQ-017", "OQ-019",
               "OQ-036", "OQ-045", "OQ-018", "OQ-046", "OQ-047", "OQ-048", "OQ-049", "OQ-050", "OQ-062"}
    blind = {"OQ-061", "OQ-073", "OQ-074", "OQ-075", "OQ-078", "OQ-079", "OQ-077", "OQ-083"}
    automated = {c.id for c in model.test_cases() if c.stage == "oq" and not c.manual}
    assert automated == set(_case_functions(oq))
    assert automated - set(OQ_BROKEN) - stubbed - blind - set(RECORDS_BROKEN) == set()
