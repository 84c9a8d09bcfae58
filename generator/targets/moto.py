"""The embedded moto target: a moto server on 127.0.0.1 and the reference deployment applied to it.

`MotoServer` runs moto in a child process on a free loopback port and stops it
reliably (context manager; the child also exits when our end of its stdin pipe
closes, so it never outlives us). It bootstraps one all-powerful *deployer*
IAM user and then switches IAM enforcement on (shared/MOTO.md: POST
/moto-api/reset-auth), so every later call is evaluated against identity policies.

`deploy_moto(server, profile, deployment)` applies a `Deployment` (from the DS)
and returns a `MotoTarget` whose persona sessions assume the persona roles.
Several deployments can live on one server (`suffix` keeps their names apart),
so tests start one server per session and build deliberately wrong deployments
next to the reference one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from generator.errors import ValgenError
from generator.targets.base import Target, endpoint_fixes, make_session
from generator.targets.deployment import BucketConfig, Deployment, KeyConfig, PersonaPolicy
from generator.targets.profile import PERSONAS, READER, TargetProfile

__all__ = ["MOTO_ACCOUNT", "MotoServer", "MotoTarget", "PersonaCredentials", "deploy_moto", "policy_document"]

MOTO_ACCOUNT = "123456789012"  # moto's default account
_START_TIMEOUT_S = 60.0
# What the read-only IQ identity may do: read configuration of every service in the deployment.
READER_ACTIONS = ("s3:Get*", "s3:List*", "kms:Describe*", "kms:Get*", "kms:List*", "cloudtrail:Get*",
                  "cloudtrail:Describe*", "cloudtrail:List*", "cloudtrail:LookupEvents", "config:Describe*",
                  "config:Get*", "config:List*", "backup:Describe*", "backup:Get*", "backup:List*", "iam:Get*",
                  "iam:List*", "sts:GetCallerIdentity")


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True, slots=True)
class PersonaCredentials:
    """A persona's login on moto: an IAM user whose keys may assume the persona role (and hold the same policy)."""

    persona: str
    user_name: str
    role_name: str
    role_arn: str
    access_key_id: str
    secret_access_key: str


class MotoServer:
    """A moto server in a child process on 127.0.0.1, IAM enforcement on after bootstrap."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[bytes] | None = None
        self.endpoint = ""
        self.deployer: Credentials | None = None
        self.deployers: dict[str, Credentials] = {}
        self._account_lock = threading.Lock()
        self._attached = False

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        if self._attached:
            return True
        return self._process is not None and self._process.poll() is None

    @classmethod
    def attached(cls, endpoint: str) -> MotoServer:
        """A handle on a server another process runs (`valgen deploy`); stop() leaves it running."""
        server = cls()
        server.endpoint = endpoint
        server._attached = True
        return server

    def start(self) -> str:
        """Start the server, create the deployer, switch IAM enforcement on; returns the endpoint URL."""
        if self.running:
            return self.endpoint
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; closed in stop()
        env = dict(os.environ)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)  # bootstrap without auth; reset-auth switches it on
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "generator.targets._moto_child"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env,
                cwd=str(Path(__file__).resolve().parents[2]),
            )
        except OSError as exc:
            raise ValgenError(f"cannot start the moto server: {exc}", fix="check the Python environment") from exc
        line = self._read_ready_line()
        if not line.startswith("READY "):
            log = self._log_text()
            self.stop()
            raise ValgenError(f"the moto server did not start: {log.strip()[-2000:] or line!r}",
                              fix="check that moto[server] is installed in the environment")
        self.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"
        try:
            self._bootstrap()
        except Exception:
            self.stop()
            raise
        return self.endpoint

    def _read_ready_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._process.stdout.readline()  # type: ignore[union-attr]
                                                               ), daemon=True)
        reader.start()
        reader.join(_START_TIMEOUT_S)  # a blocking read with a deadline, not a sleep
        return result[0].strip() if result else ""

    def _log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Stop the child (close its stdin; terminate, then kill, if it does not exit)."""
        proc, self._process = self._process, None
        if proc is not None:
            with contextlib.suppress(OSError, ValueError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def set_auth(self, enforce: bool) -> None:
        """shared/MOTO.md: POST /moto-api/reset-auth with the number of unauthenticated calls allowed."""
        body = b"0" if enforce else b"inf"
        # text/plain: with urllib's default form content type the server would parse the body away
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
        # loopback only: no proxy may see this call
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as response:
            response.read()

    def _bootstrap(self) -> None:
        self._create_deployer(MOTO_ACCOUNT)
        self.set_auth(True)

    def _create_deployer(self, account: str) -> Credentials:
        """Create the all-powerful deployer user of `account` (IAM enforcement must be off)."""
        import boto3
        from botocore.config import Config

        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=self.endpoint,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap",
                           config=Config(proxies={}))

        def add_account(request: Any, **_kwargs: Any) -> None:
            request.headers["x-moto-account-id"] = account  # moto: which account an unauthenticated call acts in

        iam.meta.events.register("before-sign.iam.*", add_account)
        iam.create_user(UserName="valgen-deployer")
        iam.put_user_policy(UserName="valgen-deployer", PolicyName="deploy-everything", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="valgen-deployer")["AccessKey"]
        creds = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        self.deployers[account] = creds
        if account == MOTO_ACCOUNT:
            self.deployer = creds
        return creds

    def new_account(self) -> str:
        """A fresh account with its own deployer, so a second deployment does not collide with the first
        (one AWS Config recorder per account and region). IAM enforcement is off for the few bootstrap calls."""
        with self._account_lock:
            account = f"{100000000000 + len(self.deployers):012d}"
            self.set_auth(False)
            try:
                self._create_deployer(account)
            finally:
                self.set_auth(True)
            return account

    def deployer_client(self, service: str, region: str = "us-east-1", account: str = MOTO_ACCOUNT) -> Any:
        """A client acting as the deployer of `account` (everything allowed; not a persona of the records system)."""
        from botocore.config import Config

        creds = self.deployers.get(account)
        if creds is None:
            raise ValgenError("the moto server is not started", fix="call MotoServer.start() first")
        session = make_session(creds.access_key_id, creds.secret_access_key, region=region)
        client = session.client(service, region_name=region, endpoint_url=self.endpoint,
                                config=Config(s3={"addressing_style": "path"}, proxies={}))
        endpoint_fixes(client, service)
        return client


def _s3_object_action(action: str) -> bool:
    name = action.split(":", 1)[1]
    return ("Object" in name or "MultipartUpload" in name) and not name.startswith("ListBucket")


def _s3_write(action: str) -> bool:
    name = action.split(":", 1)[1]
    return name.startswith(("Put", "Delete", "Abort", "Restore", "Replicate", "Bypass"))


def policy_document(policy: PersonaPolicy, bucket: str) -> dict[str, Any]:
    """The IAM policy document of a persona role: allowed actions scoped to the compliance bucket (writes to
    `write_prefix`), explicit denies on every resource (specs/SETTINGS.md, persona policies)."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    groups: dict[tuple[str, ...], list[str]] = {}
    for action in policy.allowed:
        if policy.scope == "all" or not action.startswith("s3:"):
            resources: tuple[str, ...] = ("*",)
        elif "*" in action:
            resources = (bucket_arn, f"{bucket_arn}/*")
        elif _s3_object_action(action):
            prefix = policy.write_prefix if _s3_write(action) else ""
            resources = (f"{bucket_arn}/{prefix}*",)
        else:
            resources = (bucket_arn,)
        groups.setdefault(resources, []).append(action)
    statements: list[dict[str, Any]] = [
        {"Sid": f"Allow{i}", "Effect": "Allow", "Action": sorted(actions), "Resource": list(res)}
        for i, (res, actions) in enumerate(sorted(groups.items()))
    ]
    if policy.denied:
        statements.append({"Sid": "Deny", "Effect": "Deny", "Action": list(policy.denied), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


class MotoTarget(Target):
    """One deployment on a moto server; persona sessions assume the persona roles (single hop)."""

    def __init__(self, *, server: MotoServer, profile: TargetProfile, deployment: Deployment,
                 resources: Mapping[str, str], personas: Mapping[str, PersonaCredentials],
                 reader: Credentials) -> None:
        super().__init__()
        self.server = server
        self.profile = profile
        self.deployment = deployment
        self.endpoint = server.endpoint
        self._account_id = resources["account"]
        self._resources = MappingProxyType(dict(resources))
        self.personas = MappingProxyType(dict(personas))
        self._sessions: dict[str, tuple[Any, float]] = {}
        self._reader = reader

    def user_session(self, persona: str) -> Any:
        """A session with the persona's own IAM user keys (what `valgen deploy` prints)."""
        creds = self.personas[persona]
        return make_session(creds.access_key_id, creds.secret_access_key, region=self.primary_region)

    def session(self, persona: str) -> Any:
        """A session as the persona role (AssumeRole from the persona's user), renewed before it expires."""
        if persona == READER:
            with self._lock:
                cached = self._sessions.get(READER)
                if cached is None:
                    cached = (make_session(self._reader.access_key_id, self._reader.secret_access_key,
                                           region=self.primary_region), float("inf"))
                    self._sessions[READER] = cached
            return cached[0]
        if persona not in self.personas:
            raise ValgenError(f"unknown persona '{persona}'", fix="use one of: " + ", ".join(PERSONAS))
        with self._lock:
            cached = self._sessions.get(persona)
        if cached is not None and cached[1] - time.time() > 300:
            return cached[0]
        sts = self.user_session(persona).client("sts", endpoint_url=self.endpoint, region_name=self.primary_region,
                                                config=self.client_config())
        creds = sts.assume_role(RoleArn=self.personas[persona].role_arn, RoleSessionName=f"valgen-{persona}")
        c = creds["Credentials"]
        session = make_session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region=self.primary_region)
        with self._lock:
            self._sessions[persona] = (session, c["Expiration"].timestamp())
            # clients built from an old session must not outlive it
            for key in [k for k in self._clients if k[1] == persona]:
                del self._clients[key]
        return session

    def deployer_client(self, service: str, region: str | None = None) -> Any:
        """A client that may do anything (tests use it to tamper, as an attacker with full rights would)."""
        return self.server.deployer_client(service, region or self.primary_region, self.account)

    def environment(self) -> dict[str, str]:
        """What `valgen deploy` prints: the endpoint and each persona's user keys."""
        env = {"AWS_ENDPOINT_URL": self.server.endpoint}
        for persona, creds in self.personas.items():
            env[f"{persona}.AWS_ACCESS_KEY_ID"] = creds.access_key_id
            env[f"{persona}.AWS_SECRET_ACCESS_KEY"] = creds.secret_access_key
        return env


def _name(base: str, suffix: str) -> str:
    return f"{base}-{suffix}" if suffix else base


def deploy_moto(server: MotoServer, profile: TargetProfile, deployment: Deployment, *,
                suffix: str = "") -> MotoTarget:
    """Apply `deployment` to a running server with the profile's names (plus `-suffix`); return its target."""
    if not server.running:
        raise ValgenError("the moto server is not running", fix="start it with MotoServer() as a context manager")
    names = {key: _name(value, suffix) for key, value in profile.resource_names().items()}
    for key in ("compliance_bucket", "replica_bucket", "trail_bucket"):
        if len(names[key]) > 63:
            raise ValgenError(f"bucket name '{names[key]}' is longer than 63 characters",
                              fix="use a shorter suffix or bucket name")
    if deployment.workflows_dir is not None:  # refuse a contract the DS disagrees with before deploying anything
        _check_workflows(_workflow_config(deployment.workflows_dir, names), deployment,
                         deployment.workflows_dir / "config.yml")
    primary, replica = profile.primary_region, profile.replica_region
    account = server.new_account() if suffix else MOTO_ACCOUNT

    def dc(service: str, region: str = primary) -> Any:
        return server.deployer_client(service, region, account)

    resources: dict[str, str] = {"account": account}
    iam = dc("iam")

    # KMS: customer-managed keys with rotation (specs/SETTINGS.md kms_key, replica_kms_key).
    for res, region, key_cfg in (("kms_key", primary, deployment.kms_key),
                                 ("replica_kms_key", replica, deployment.replica_kms_key)):
        resources[res] = _deploy_key(dc("kms", region), names[res], key_cfg)

    # Buckets: configured before anything is written (MOTO.md: the lock rule needs an empty bucket).
    _deploy_bucket(dc("s3", primary), names["compliance_bucket"], primary, deployment.compliance,
                   resources["kms_key"])
    _deploy_bucket(dc("s3", replica), names["replica_bucket"], replica, deployment.replica,
                   resources["replica_kms_key"])
    _deploy_bucket(dc("s3", primary), names["trail_bucket"], primary, deployment.trail_bucket, None)
    for key in ("compliance_bucket", "replica_bucket", "trail_bucket"):
        resources[key] = names[key]

    if deployment.account_public_access is not None:
        dc("s3control", primary).put_public_access_block(
            AccountId=account, PublicAccessBlockConfiguration=deployment.account_public_access.as_api())

    # Replication of the compliance bucket to the replica bucket (same lock posture there).
    if deployment.compliance.versioning == "Enabled" and deployment.replica.versioning == "Enabled":
        role = _name("valgen-replication", suffix)
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust({"Service": "s3.amazonaws.com"}))
        rep = deployment.replication
        dc("s3", primary).put_bucket_replication(
            Bucket=names["compliance_bucket"],
            ReplicationConfiguration={
                "Role": f"arn:aws:iam::{account}:role/{role}",
                "Rules": [{
                    "ID": "replicate-records",
                    "Priority": 1,
                    "Status": "Enabled" if rep.enabled else "Disabled",
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Enabled" if rep.delete_marker_replication else "Disabled"},
                    "Destination": {"Bucket": f"arn:aws:s3:::{names['replica_bucket']}",
                                    "EncryptionConfiguration": {"ReplicaKmsKeyID": resources["replica_kms_key"]}},
                    "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                }],
            },
        )

    # CloudTrail: multi-region, log file validation, S3 data events of the compliance bucket.
    trail_cfg = deployment.trail
    ct = dc("cloudtrail", primary)
    ct.create_trail(Name=names["trail"], S3BucketName=names["trail_bucket"],
                    IsMultiRegionTrail=trail_cfg.multi_region, EnableLogFileValidation=trail_cfg.log_file_validation)
    selectors: list[dict[str, Any]] = [{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    if trail_cfg.s3_data_events:
        selectors[0]["DataResources"] = [{"Type": "AWS::S3::Object",
                                          "Values": [f"arn:aws:s3:::{names['compliance_bucket']}/"]}]
    ct.put_event_selectors(TrailName=names["trail"], EventSelectors=selectors)
    if trail_cfg.logging:
        ct.start_logging(Name=names["trail"])
    resources["trail"] = names["trail"]

    # AWS Config recorder.
    config_role = _name("valgen-config", suffix)
    iam.create_role(RoleName=config_role, AssumeRolePolicyDocument=_trust({"Service": "config.amazonaws.com"}))
    cfg = dc("config", primary)
    rec = deployment.config_recorder
    cfg.put_configuration_recorder(ConfigurationRecorder={
        "name": names["config_recorder"], "roleARN": f"arn:aws:iam::{account}:role/{config_role}",
        "recordingGroup": {"allSupported": rec.all_supported, "includeGlobalResourceTypes": rec.all_supported},
    })
    cfg.put_delivery_channel(DeliveryChannel={"name": _name("valgen-delivery", suffix),
                                              "s3BucketName": names["trail_bucket"]})
    if rec.recording:
        cfg.start_configuration_recorder(ConfigurationRecorderName=names["config_recorder"])
    resources["config_recorder"] = names["config_recorder"]

    # AWS Backup vault and plan.
    backup = dc("backup", primary)
    if deployment.backup.vault:
        backup.create_backup_vault(BackupVaultName=names["backup_vault"])
    plan = backup.create_backup_plan(BackupPlan={
        "BackupPlanName": names["backup_plan"],
        "Rules": [{"RuleName": "daily", "TargetBackupVaultName": names["backup_vault"],
                   "ScheduleExpression": deployment.backup.schedule,
                   "Lifecycle": {"DeleteAfterDays": deployment.backup.delete_after_days}}],
    })
    resources["backup_vault"] = names["backup_vault"]
    resources["backup_plan"] = plan["BackupPlanId"]

    # Personas: a role per persona with its policy, and a user (the persona's login) that may assume it.
    personas: dict[str, PersonaCredentials] = {}
    for persona in PERSONAS:
        policy = deployment.personas.get(persona)
        if policy is None:
            raise ValgenError(f"the deployment has no policy for persona '{persona}'",
                              fix="give every persona allowed_actions in the DS")
        role = names[f"{persona}_role"]
        user = f"{role}-login"
        iam.create_user(UserName=user)
        user_arn = f"arn:aws:iam::{account}:user/{user}"
        role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust({"AWS": user_arn}))["Role"]["Arn"]
        document = policy_document(policy, names["compliance_bucket"])
        iam.put_role_policy(RoleName=role, PolicyName=f"{persona}-policy", PolicyDocument=json.dumps(document))
        user_doc = dict(document)
        user_doc["Statement"] = [*document["Statement"], {"Sid": "AssumePersonaRole", "Effect": "Allow",
                                                           "Action": "sts:AssumeRole", "Resource": role_arn}]
        iam.put_user_policy(UserName=user, PolicyName=f"{persona}-login", PolicyDocument=json.dumps(user_doc))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        personas[persona] = PersonaCredentials(persona, user, role, role_arn, key["AccessKeyId"],
                                               key["SecretAccessKey"])
        resources[f"{persona}_role"] = role

    # The read-only identity IQ reads configuration with (not a persona of the records system).
    iam.create_user(UserName=_name("valgen-iq-reader", suffix))
    iam.put_user_policy(UserName=_name("valgen-iq-reader", suffix), PolicyName="read-configuration",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": list(READER_ACTIONS), "Resource": "*"}]}))
    key = iam.create_access_key(UserName=_name("valgen-iq-reader", suffix))["AccessKey"]
    reader = Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    # The Quilt workflow configuration: the registration contract (uploaded last; it is locked like any record).
    if deployment.workflows_dir is not None:
        _upload_workflows(dc("s3", primary), names["compliance_bucket"], deployment, names)

    return MotoTarget(server=server, profile=profile, deployment=deployment, resources=resources,
                      personas=personas, reader=reader)


def _trust(principal: dict[str, str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def _deploy_key(kms: Any, name: str, cfg: KeyConfig) -> str:
    key = kms.create_key(Description=f"valgen records key {name}", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    if name.startswith("alias/"):
        kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    if cfg.rotation:
        kms.enable_key_rotation(KeyId=key["KeyId"])
    if cfg.state == "Disabled":
        kms.disable_key(KeyId=key["KeyId"])
    arn: str = key["Arn"]
    return arn


def _deploy_bucket(s3: Any, name: str, region: str, cfg: BucketConfig, key_arn: str | None) -> None:
    args: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if cfg.object_lock:
        args["ObjectLockEnabledForBucket"] = True
    s3.create_bucket(**args)
    if cfg.versioning == "Enabled" and not cfg.object_lock:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if cfg.object_lock and cfg.lock_mode is not None:
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": cfg.lock_mode, "Days": cfg.retention_days}},
        })
    if cfg.versioning == "Suspended":  # after the lock rule, which needs versioning on (a wrong deployment)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    if cfg.encryption is not None:
        rule: dict[str, Any] = {"SSEAlgorithm": cfg.encryption}
        if cfg.encryption.startswith("aws:kms") and key_arn is not None:
            rule["KMSMasterKeyID"] = key_arn
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": cfg.bucket_key}]})
    if cfg.public_access is not None:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=cfg.public_access.as_api())


def _fill(text: str, names: Mapping[str, str]) -> str:
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    return text


def _workflow_config(folder: Path, names: Mapping[str, str]) -> Any:
    import yaml

    config_path = folder / "config.yml"
    if not config_path.is_file():
        raise ValgenError(f"{config_path} does not exist", fix="write the Quilt workflow configuration there")
    try:
        return yaml.safe_load(_fill(config_path.read_text(encoding="utf-8"), names))
    except yaml.YAMLError as exc:
        raise ValgenError(f"{config_path}: not valid YAML ({exc})", fix="correct the workflow configuration") from exc


def _upload_workflows(s3: Any, bucket: str, deployment: Deployment, names: Mapping[str, str]) -> None:
    """Upload the workflow folder to `.quilt/workflows/`; `{resource}` placeholders in its text are filled."""
    folder = deployment.workflows_dir
    assert folder is not None
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        body = path.read_bytes()
        if path.suffix in (".yml", ".yaml", ".json"):
            body = _fill(body.decode("utf-8"), names).encode("utf-8")
        s3.put_object(Bucket=bucket, Key=".quilt/workflows/" + path.relative_to(folder).as_posix(), Body=body)


def _check_workflows(config: Any, deployment: Deployment, path: Path) -> None:
    """The DS says which workflows the configuration holds; refuse a configuration that disagrees."""
    if not isinstance(config, dict):
        raise ValgenError(f"{path}: the workflow configuration is not a mapping", fix="see quilt3's workflows docs")
    found = sorted((config.get("workflows") or {}).keys())
    if deployment.expected_workflows is not None and sorted(deployment.expected_workflows) != found:
        raise ValgenError(
            f"{path}: the workflow configuration holds {found}, the DS expects {sorted(deployment.expected_workflows)}",
            fix="make the DS setting 'workflows' and specs/workflows/config.yml agree")
    required = bool(config.get("is_workflow_required", True))
    if deployment.workflow_required is not None and deployment.workflow_required != required:
        raise ValgenError(f"{path}: is_workflow_required is {required}, the DS expects {deployment.workflow_required}",
                          fix="make the DS setting 'workflow_required' and the configuration agree")


@contextlib.contextmanager
def moto_target(profile: TargetProfile, deployment: Deployment) -> Iterator[MotoTarget]:
    """Start a server, apply `deployment`, yield the target; the server is stopped on exit, whatever happens."""
    with MotoServer() as server:
        yield deploy_moto(server, profile, deployment)


def state_path(root: Path) -> Path:
    """Where `valgen deploy` records its running deployment (inside the repository's ignored build/ folder)."""
    return root / "build" / "moto-deploy.json"


def write_state(target: MotoTarget, path: Path) -> Path:
    """Record a running deployment (endpoint, resources, persona keys of this throw-away moto) for `attach_moto`."""
    data = {
        "endpoint": target.server.endpoint,
        "pid": os.getpid(),
        "profile": target.profile.name,
        "account": target.account,
        "resources": dict(target.resources),
        "personas": {p: {"user_name": c.user_name, "role_name": c.role_name, "role_arn": c.role_arn,
                         "access_key_id": c.access_key_id, "secret_access_key": c.secret_access_key}
                     for p, c in target.personas.items()},
        "reader": {"access_key_id": target._reader.access_key_id,
                   "secret_access_key": target._reader.secret_access_key},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def attach_moto(profile: TargetProfile, path: Path) -> MotoTarget:
    """The deployment a running `valgen deploy` recorded at `path`."""
    fix = "start 'valgen deploy --target moto' in another terminal and leave it running"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValgenError(f"no running moto deployment is recorded at {path}", fix=fix) from exc
    try:
        os.kill(int(data["pid"]), 0)
    except (OSError, KeyError, ValueError) as exc:
        raise ValgenError(f"the moto deployment recorded at {path} is no longer running", fix=fix) from exc
    if data.get("profile") != profile.name:
        raise ValgenError(f"the running moto deployment uses profile '{data.get('profile')}', not '{profile.name}'",
                          fix=f"use --target {data.get('profile')}")
    server = MotoServer.attached(str(data["endpoint"]))
    personas = {p: PersonaCredentials(p, c["user_name"], c["role_name"], c["role_arn"], c["access_key_id"],
                                      c["secret_access_key"]) for p, c in data["personas"].items()}
    reader = Credentials(data["reader"]["access_key_id"], data["reader"]["secret_access_key"])
    return MotoTarget(server=server, profile=profile, deployment=Deployment(origin=f"running deployment ({path})"),
                      resources=data["resources"], personas=personas, reader=reader)
