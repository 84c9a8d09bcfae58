"""Reading DS settings back from a live target: one function per setting name of specs/SETTINGS.md.

`read_setting(target, resource, name)` returns the live value in the form the DS
writes it (so IQ compares with ``==``), together with the raw API response as
evidence. `expected_value(target, value)` fills ``{resource}`` placeholders of a
DS value from the target's resources. Only read calls are made (see AWS_CALLS.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator.errors import ValgenError
from generator.targets.base import Target

__all__ = ["SETTING_NAMES", "Reading", "expected_value", "read_setting", "value_matches"]


@dataclass(frozen=True, slots=True)
class Reading:
    """A value read back, the API call that produced it and its response (evidence)."""

    value: Any
    call: str
    response: Any


def expected_value(target: Target, value: Any) -> Any:
    """The DS value with `{resource}` placeholders filled from the target (strings and lists of strings)."""
    if isinstance(value, str):
        out = value
        for key, resolved in target.resources.items():
            out = out.replace("{" + key + "}", resolved)
        return out
    if isinstance(value, list):
        return [expected_value(target, v) for v in value]
    return value


def value_matches(name: str, expected: Any, actual: Any) -> bool:
    """Equality, except where SETTINGS.md says how to compare (key ARN or ID; list of actions as a set)."""
    if name == "encryption_key" and isinstance(expected, str) and isinstance(actual, str):
        return actual == expected or actual.endswith("/" + expected.rsplit("/", 1)[-1])
    if name in ("allowed_actions", "denied_actions", "workflows") and isinstance(expected, list):
        return isinstance(actual, list) and sorted(expected) == sorted(actual)
    return bool(expected == actual)


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


Reader = Callable[[Target, str, str, str], Reading]


def _s3(target: Target, resource: str, persona: str) -> Any:
    return target.client("s3", persona, target.region_of(resource))


def _versioning(t: Target, res: str, name: str, persona: str) -> Reading:
    r = _s3(t, res, persona).get_bucket_versioning(Bucket=t.resources[res])
    return Reading(r.get("Status", "Disabled"), "s3:GetBucketVersioning", r)


def _lock(t: Target, res: str, name: str, persona: str) -> Reading:
    try:
        r = _s3(t, res, persona).get_object_lock_configuration(Bucket=t.resources[res])
    except Exception as exc:
        if _code(exc) == "ObjectLockConfigurationNotFoundError":
            return Reading("Disabled" if name == "object_lock_enabled" else None,
                           "s3:GetObjectLockConfiguration", {"Error": _code(exc)})
        raise
    cfg = r.get("ObjectLockConfiguration", {})
    retention = cfg.get("Rule", {}).get("DefaultRetention", {})
    value: Any
    if name == "object_lock_enabled":
        value = cfg.get("ObjectLockEnabled", "Disabled")
    elif name == "object_lock_mode":
        value = retention.get("Mode")
    else:
        days, years = retention.get("Days"), retention.get("Years")
        value = days if days else (years * 365 if years else None)
    return Reading(value, "s3:GetObjectLockConfiguration", r)


def _encryption(t: Target, res: str, name: str, persona: str) -> Reading:
    try:
        r = _s3(t, res, persona).get_bucket_encryption(Bucket=t.resources[res])
    except Exception as exc:
        if _code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            return Reading(None, "s3:GetBucketEncryption", {"Error": _code(exc)})
        raise
    rule = r["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    value = {"encryption_algorithm": default.get("SSEAlgorithm"),
             "encryption_key": default.get("KMSMasterKeyID"),
             "bucket_key_enabled": bool(rule.get("BucketKeyEnabled", False))}[name]
    if name == "encryption_key" and isinstance(value, str) and value.startswith("alias/"):
        kms = t.client("kms", persona, t.region_of("replica_kms_key" if res == "replica_bucket" else "kms_key"))
        value = kms.describe_key(KeyId=value)["KeyMetadata"]["Arn"]
    return Reading(value, "s3:GetBucketEncryption", r)


_PAB = {"block_public_acls": "BlockPublicAcls", "ignore_public_acls": "IgnorePublicAcls",
        "block_public_policy": "BlockPublicPolicy", "restrict_public_buckets": "RestrictPublicBuckets"}


def _public(t: Target, res: str, name: str, persona: str) -> Reading:
    try:
        if res == "account":
            r = t.client("s3control", persona).get_public_access_block(AccountId=t.account)
            call = "s3control:GetPublicAccessBlock"
        else:
            r = _s3(t, res, persona).get_public_access_block(Bucket=t.resources[res])
            call = "s3:GetPublicAccessBlock"
    except Exception as exc:
        if _code(exc) in ("NoSuchPublicAccessBlockConfiguration",):
            return Reading(False, "GetPublicAccessBlock", {"Error": _code(exc)})
        raise
    return Reading(bool(r["PublicAccessBlockConfiguration"].get(_PAB[name], False)), call, r)


def _key(t: Target, res: str, name: str, persona: str) -> Reading:
    kms = t.client("kms", persona, t.region_of(res))
    if name == "key_rotation_enabled":
        r = kms.get_key_rotation_status(KeyId=t.resources[res])
        return Reading(bool(r["KeyRotationEnabled"]), "kms:GetKeyRotationStatus", r)
    r = kms.describe_key(KeyId=t.resources[res])
    field = {"key_manager": "KeyManager", "key_state": "KeyState"}[name]
    return Reading(r["KeyMetadata"].get(field), "kms:DescribeKey", r)


def _replication(t: Target, res: str, name: str, persona: str) -> Reading:
    try:
        r = _s3(t, res, persona).get_bucket_replication(Bucket=t.resources[res])
    except Exception as exc:
        if _code(exc) == "ReplicationConfigurationNotFoundError":
            return Reading(None, "s3:GetBucketReplication", {"Error": _code(exc)})
        raise
    rule = r["ReplicationConfiguration"]["Rules"][0]
    value: Any
    if name == "replication_status":
        value = rule.get("Status")
    elif name == "replication_destination":
        value = rule["Destination"]["Bucket"].rsplit(":", 1)[-1]
    else:
        value = rule.get("DeleteMarkerReplication", {}).get("Status", "Disabled")
    return Reading(value, "s3:GetBucketReplication", r)


def _trail(t: Target, res: str, name: str, persona: str) -> Reading:
    ct = t.client("cloudtrail", persona)
    trail = t.resources[res]
    if name == "is_logging":
        r = ct.get_trail_status(Name=trail)
        return Reading(bool(r.get("IsLogging")), "cloudtrail:GetTrailStatus", r)
    if name == "s3_data_events_bucket":
        r = ct.get_event_selectors(TrailName=trail)
        buckets: list[str] = []
        for selector in r.get("EventSelectors", []):
            for data in selector.get("DataResources", []):
                if data.get("Type") == "AWS::S3::Object":
                    buckets += [v.removeprefix("arn:aws:s3:::").rstrip("/") for v in data.get("Values", [])]
        for selector in r.get("AdvancedEventSelectors", []) or []:
            for f in selector.get("FieldSelectors", []):
                if f.get("Field") == "resources.ARN":
                    buckets += [v.removeprefix("arn:aws:s3:::").split("/")[0] for v in f.get("StartsWith", [])]
        compliance = t.resources["compliance_bucket"]
        return Reading(compliance if compliance in buckets else (buckets[0] if buckets else None),
                       "cloudtrail:GetEventSelectors", r)
    r = ct.get_trail(Name=trail)
    field = {"is_multi_region_trail": "IsMultiRegionTrail", "log_file_validation_enabled": "LogFileValidationEnabled",
             "s3_bucket_name": "S3BucketName"}[name]
    value = r["Trail"].get(field)
    return Reading(bool(value) if field != "S3BucketName" else value, "cloudtrail:GetTrail", r)


def _recorder(t: Target, res: str, name: str, persona: str) -> Reading:
    cfg = t.client("config", persona)
    if name == "recording":
        r = cfg.describe_configuration_recorder_status(ConfigurationRecorderNames=[t.resources[res]])
        statuses = r.get("ConfigurationRecordersStatus", [])
        return Reading(bool(statuses and statuses[0].get("recording")),
                       "config:DescribeConfigurationRecorderStatus", r)
    r = cfg.describe_configuration_recorders(ConfigurationRecorderNames=[t.resources[res]])
    recorders = r.get("ConfigurationRecorders", [])
    value = bool(recorders and recorders[0].get("recordingGroup", {}).get("allSupported"))
    return Reading(value, "config:DescribeConfigurationRecorders", r)


def _backup(t: Target, res: str, name: str, persona: str) -> Reading:
    b = t.client("backup", persona)
    if res == "backup_vault":
        try:
            r = b.describe_backup_vault(BackupVaultName=t.resources[res])
        except Exception as exc:
            if _code(exc) in ("ResourceNotFoundException", "AccessDeniedException"):
                return Reading(False, "backup:DescribeBackupVault", {"Error": _code(exc)})
            raise
        return Reading(True, "backup:DescribeBackupVault", r)
    r = b.get_backup_plan(BackupPlanId=t.resources[res])
    rule = r["BackupPlan"]["Rules"][0]
    value = rule.get("ScheduleExpression") if name == "schedule_expression" else \
        rule.get("Lifecycle", {}).get("DeleteAfterDays")
    return Reading(value, "backup:GetBackupPlan", r)


def _role(t: Target, res: str, name: str, persona: str) -> Reading:
    """Every Allow (or Deny) action of the role's inline and attached managed policies."""
    iam = t.client("iam", persona)
    role = t.resources[res]
    effect = "Allow" if name == "allowed_actions" else "Deny"
    documents: list[Any] = []
    for policy_name in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
        documents.append(iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"])
    for attached in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        documents.append(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    actions: set[str] = set()
    for document in documents:
        doc = json.loads(document) if isinstance(document, str) else document
        statements = doc.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") != effect or statement.get("Action") is None:
                continue
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    # The persona's own login may also assume its role; that grant is on the user, not the role.
    return Reading(sorted(actions), "iam:GetRolePolicy", {"documents": documents})


def _workflows(t: Target, res: str, name: str, persona: str) -> Reading:
    import yaml

    s3 = _s3(t, res, persona)
    try:
        r = s3.get_object(Bucket=t.resources[res], Key=".quilt/workflows/config.yml")
    except Exception as exc:
        if _code(exc) in ("NoSuchKey", "404"):
            return Reading(False if name == "workflow_config_present" else None, "s3:GetObject",
                           {"Error": _code(exc)})
        raise
    body = r["Body"].read()
    config = yaml.safe_load(body.decode("utf-8"))
    evidence = {"Key": ".quilt/workflows/config.yml", "VersionId": r.get("VersionId"), "config": config}
    if name == "workflow_config_present":
        return Reading(True, "s3:GetObject", evidence)
    if name == "workflows":
        return Reading(sorted((config.get("workflows") or {}).keys()), "s3:GetObject", evidence)
    return Reading(bool(config.get("is_workflow_required", True)), "s3:GetObject", evidence)


_BUCKETS = ("compliance_bucket", "replica_bucket", "trail_bucket")
_ROLES = ("registrar_role", "signer_role", "auditor_role", "admin_role")

# (name) -> (resources it applies to, reader); exactly the table of specs/SETTINGS.md.
SETTING_NAMES: dict[str, tuple[tuple[str, ...], Reader]] = {
    "versioning_status": (_BUCKETS, _versioning),
    "object_lock_enabled": (_BUCKETS, _lock),
    "object_lock_mode": (_BUCKETS, _lock),
    "object_lock_retention_days": (_BUCKETS, _lock),
    "encryption_algorithm": (("compliance_bucket", "replica_bucket"), _encryption),
    "encryption_key": (("compliance_bucket", "replica_bucket"), _encryption),
    "bucket_key_enabled": (("compliance_bucket", "replica_bucket"), _encryption),
    **{n: ((*_BUCKETS, "account"), _public) for n in _PAB},
    "key_manager": (("kms_key", "replica_kms_key"), _key),
    "key_rotation_enabled": (("kms_key", "replica_kms_key"), _key),
    "key_state": (("kms_key", "replica_kms_key"), _key),
    "replication_status": (("compliance_bucket",), _replication),
    "replication_destination": (("compliance_bucket",), _replication),
    "replication_delete_marker_replication": (("compliance_bucket",), _replication),
    "is_multi_region_trail": (("trail",), _trail),
    "log_file_validation_enabled": (("trail",), _trail),
    "s3_bucket_name": (("trail",), _trail),
    "is_logging": (("trail",), _trail),
    "s3_data_events_bucket": (("trail",), _trail),
    "recording_all_supported": (("config_recorder",), _recorder),
    "recording": (("config_recorder",), _recorder),
    "exists": (("backup_vault",), _backup),
    "schedule_expression": (("backup_plan",), _backup),
    "delete_after_days": (("backup_plan",), _backup),
    "allowed_actions": (_ROLES, _role),
    "denied_actions": (_ROLES, _role),
    "workflow_config_present": (("compliance_bucket",), _workflows),
    "workflows": (("compliance_bucket",), _workflows),
    "workflow_required": (("compliance_bucket",), _workflows),
}


def read_setting(target: Target, resource: str, name: str, *, persona: str = "reader") -> Reading:
    """Read one DS setting back from the live target as `persona` (default: the read-only IQ identity)."""
    entry = SETTING_NAMES.get(name)
    if entry is None or resource not in entry[0]:
        raise ValgenError(f"no read-back for setting '{name}' of resource '{resource}'",
                          fix="use a setting name and resource of specs/SETTINGS.md")
    return entry[1](target, resource, name, persona)
