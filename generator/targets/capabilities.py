"""The capability table of each target kind: which behaviours it enforces, and why not where it does not.

Built from ``shared/MOTO.md`` (measured on moto 5.2.5, boto3 1.44); capability
names are exactly those of ``specs/SETTINGS.md``. A qualification case that
`requires` a capability the target lacks ends *not run* with the reason given
here, never *passed*. Re-probe and update this table when moto is upgraded.

Found while building the moto target, beyond shared/MOTO.md (moto 5.2.5):

- GetBucketReplication always answers ``DeleteMarkerReplication: Disabled``
  (hard-coded), so that DS value cannot be read back: `readback_limits("moto")`.
- Every rest-json GET of AWS Backup fails IAM signature checking
  (SignatureDoesNotMatch: moto signs its parsed parameters, not the empty body);
  our clients send the payload hash as the signed X-Amz-Content-SHA256 header
  (generator.targets.base.endpoint_fixes). A plain AWS CLI call hits the bug.
- CompleteMultipartUpload returns no ChecksumSHA256, which quilt3 8 needs for
  files of 8 MiB or more; generator.records.quiltenv fills it as S3 would.
- One AWS Config recorder per account and region: each extra deployment on one
  server gets its own moto account (generator.targets.moto.MotoServer.new_account).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from generator.errors import ValgenError

__all__ = ["CAPABILITY_NAMES", "MOTO_VERSION_PROBED", "Capability", "capabilities", "missing", "readback_limits"]

MOTO_VERSION_PROBED = "5.2.5"


@dataclass(frozen=True, slots=True)
class Capability:
    """Whether a target kind enforces a behaviour; `reason` explains a missing one (empty when present)."""

    name: str
    present: bool
    reason: str


# name -> (present on moto, reason when absent). The order is that of specs/SETTINGS.md.
_MOTO: dict[str, tuple[bool, str]] = {
    "object_lock_version_delete_denied": (True, ""),
    "legal_hold_enforced": (True, ""),
    "versioning_keeps_prior_versions": (True, ""),
    "iam_object_actions_enforced": (True, ""),
    "sts_assume_role": (True, ""),
    "kms_encryption_reported": (True, ""),
    "workflow_contracts": (True, ""),
    "retention_shortening_denied": (
        False,
        "target moto does not enforce COMPLIANCE retention: moto 5.2.5 accepts shortening the retention and "
        "switching COMPLIANCE to GOVERNANCE, and then lets the version be deleted",
    ),
    "versioning_suspension_denied": (
        False,
        "target moto does not enforce versioning on Object Lock buckets: moto 5.2.5 accepts "
        "PutBucketVersioning Suspended on a bucket with Object Lock",
    ),
    "public_access_enforced": (
        False,
        "target moto does not enforce Block Public Access: moto 5.2.5 stores the bucket and account settings "
        "but still accepts public ACLs and public bucket policies",
    ),
    "kms_key_state_enforced": (
        False,
        "target moto does not enforce KMS key state: in moto 5.2.5 a disabled, pending-deletion or "
        "non-existent key does not stop GetObject or PutObject",
    ),
    "replication_copies": (
        False,
        "target moto does not replicate: moto 5.2.5 stores the replication configuration but copies nothing",
    ),
    "cloudtrail_events": (
        False,
        "target moto has no audit events: moto 5.2.5 stores trails, selectors and status but delivers no "
        "logs, records no S3 data events and does not implement LookupEvents",
    ),
    "cloudtrail_digests": (
        False,
        "target moto writes no CloudTrail log files or digest files, so log file validation cannot be shown",
    ),
    "config_evaluations": (
        False,
        "target moto does not evaluate AWS Config: moto 5.2.5 stores recorders and rules but produces no "
        "evaluations and no configuration history",
    ),
    "backup_jobs": (
        False,
        "target moto does not run AWS Backup: moto 5.2.5 stores vaults and plans but does not implement "
        "selections, backup or restore jobs, or recovery points",
    ),
    "scp_enforced": (
        False,
        "target moto does not enforce Organizations service control policies (stored, never evaluated)",
    ),
    "iam_config_actions_enforced": (
        False,
        "target moto maps Part 11 configuration APIs to the wrong IAM actions: PutObjectLockConfiguration, "
        "PutBucketEncryption, PutBucketReplication and PutPublicAccessBlock are evaluated as s3:CreateBucket "
        "and PutObjectRetention/PutObjectLegalHold as s3:PutObject, so a deny on them has no effect",
    ),
    "bucket_policy_conditions": (
        False,
        "target moto ignores Principal and Condition in bucket-policy Deny statements and evaluates only "
        "Get/Put/DeleteObject",
    ),
    "checksum_verified_on_upload": (
        False,
        "target moto accepts a wrong ChecksumSHA256 on upload, so integrity checking on upload cannot be shown",
    ),
    "access_logs": (
        False,
        "target moto has no access records: no S3 server access logs and no CloudTrail data events, "
        "so who read an object cannot be shown",
    ),
}

CAPABILITY_NAMES: tuple[str, ...] = tuple(_MOTO)


def _table(kind: str) -> dict[str, Capability]:
    if kind == "moto":
        return {name: Capability(name, present, reason) for name, (present, reason) in _MOTO.items()}
    if kind == "aws":
        # specs/SETTINGS.md: on aws every capability is present (the service itself enforces them).
        return {name: Capability(name, True, "") for name in _MOTO}
    raise ValgenError(f"unknown target kind '{kind}'", fix="use 'moto' or 'aws'")


_TABLES = {kind: MappingProxyType(_table(kind)) for kind in ("moto", "aws")}


def capabilities(kind: str) -> Mapping[str, Capability]:
    """The capability table of a target kind ('moto' or 'aws'): name -> Capability."""
    if kind not in _TABLES:
        raise ValgenError(f"unknown target kind '{kind}'", fix="use 'moto' or 'aws'")
    return _TABLES[kind]


def missing(kind: str, required: tuple[str, ...] | list[str]) -> list[Capability]:
    """The required capabilities a target kind lacks; an unknown capability name is an error."""
    table = capabilities(kind)
    result: list[Capability] = []
    for name in required:
        if name not in table:
            raise ValgenError(
                f"unknown capability '{name}'",
                fix="use a capability named in specs/SETTINGS.md: " + ", ".join(CAPABILITY_NAMES),
            )
        if not table[name].present:
            result.append(table[name])
    return result


# DS settings a target kind cannot read back truthfully: (resource, setting name) -> reason. Found while
# building the deployment on moto 5.2.5 (not in shared/MOTO.md); IQ reports such a read-back *not run*.
_MOTO_READBACK: dict[tuple[str, str], str] = {
    ("compliance_bucket", "replication_delete_marker_replication"): (
        "target moto cannot show the delete-marker replication setting: moto 5.2.5 GetBucketReplication "
        "always answers DeleteMarkerReplication Disabled (hard-coded in moto/s3/responses.py), whatever was stored"
    ),
}


def readback_limits(kind: str) -> Mapping[tuple[str, str], str]:
    """(resource, setting) pairs the target kind cannot read back truthfully, with the reason (aws: none)."""
    capabilities(kind)  # validates the kind
    return MappingProxyType(_MOTO_READBACK if kind == "moto" else {})
