"""The reference deployment as data: every DS setting of specs/SETTINGS.md as a typed, overridable value.

The DS is the one source of truth (DESIGN.md, "The content model"): the moto
target builds its deployment from the DS `settings`, and IQ reads the same
values back. `Deployment()` holds the reference values of specs/SETTINGS.md;
`deployment_from_settings` fills it from the DS; tests make deliberately wrong
deployments with `dataclasses.replace` (or the `broken_*` helpers below).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from generator.errors import ContentError
from generator.model import DesignSpec, Setting

__all__ = [
    "ADMIN_DENIED",
    "READ_ACTIONS",
    "BackupConfig",
    "BucketConfig",
    "Deployment",
    "KeyConfig",
    "PersonaPolicy",
    "PublicAccess",
    "RecorderConfig",
    "ReplicationConfig",
    "TrailConfig",
    "deployment_from_repository",
    "deployment_from_settings",
    "ds_settings",
    "reference_personas",
]

# specs/SETTINGS.md, "Persona policies (reference)".
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions")
ADMIN_DENIED = (
    "s3:BypassGovernanceRetention",
    "s3:PutObjectLockConfiguration",
    "s3:DeleteObjectVersion",
    "s3:PutBucketVersioning",
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
)
ADMIN_ALLOWED = ("s3:*", "kms:*", "cloudtrail:*", "config:*", "backup:*", "iam:Get*", "iam:List*")


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicAccess:
    """Block Public Access flags (bucket or account)."""

    block_public_acls: bool = True
    ignore_public_acls: bool = True
    block_public_policy: bool = True
    restrict_public_buckets: bool = True

    def as_api(self) -> dict[str, bool]:
        return {
            "BlockPublicAcls": self.block_public_acls,
            "IgnorePublicAcls": self.ignore_public_acls,
            "BlockPublicPolicy": self.block_public_policy,
            "RestrictPublicBuckets": self.restrict_public_buckets,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketConfig:
    """One bucket's posture. `versioning` None means never enabled; `lock_mode` None means no default retention."""

    versioning: str | None = "Enabled"  # Enabled | Suspended | None
    object_lock: bool = True
    lock_mode: str | None = "COMPLIANCE"  # COMPLIANCE | GOVERNANCE | None
    retention_days: int = 2555
    encryption: str | None = "aws:kms"  # aws:kms | AES256 | None
    bucket_key: bool = True
    public_access: PublicAccess | None = PublicAccess()


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyConfig:
    """A customer-managed KMS key."""

    rotation: bool = True
    state: str = "Enabled"  # Enabled | Disabled
    manager: str = "CUSTOMER"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicationConfig:
    enabled: bool = True
    delete_marker_replication: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailConfig:
    multi_region: bool = True
    log_file_validation: bool = True
    logging: bool = True
    s3_data_events: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderConfig:
    all_supported: bool = True
    recording: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupConfig:
    vault: bool = True
    schedule: str = "cron(0 3 * * ? *)"
    delete_after_days: int = 2555


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonaPolicy:
    """What a persona's role may do. Object writes are confined to `write_prefix` of the compliance bucket.

    `scope` 'compliance' confines S3 actions to the compliance bucket; 'all' grants them on every resource.
    """

    allowed: tuple[str, ...]
    denied: tuple[str, ...] = ()
    write_prefix: str = ""
    scope: str = "compliance"  # compliance | all


def reference_personas() -> dict[str, PersonaPolicy]:
    """specs/SETTINGS.md: registrar writes records; signer writes only under signatures/; auditor reads; admin
    manages configuration but cannot bypass the lock, delete versions or stop the trail."""
    return {
        "registrar": PersonaPolicy(allowed=("s3:PutObject", *READ_ACTIONS)),
        "signer": PersonaPolicy(allowed=("s3:PutObject", *READ_ACTIONS), write_prefix="signatures/"),
        "auditor": PersonaPolicy(allowed=READ_ACTIONS),
        "admin": PersonaPolicy(allowed=ADMIN_ALLOWED, denied=ADMIN_DENIED, scope="all"),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """Every configurable value of the reference system. Defaults are the reference values of specs/SETTINGS.md.

    `workflows_dir` is the folder uploaded to ``.quilt/workflows/`` of the compliance bucket (None: no
    workflow configuration). `expected_workflows` / `workflow_required` are what the DS says that
    configuration holds; the deployment refuses a folder that disagrees.
    """

    compliance: BucketConfig = BucketConfig()
    replica: BucketConfig = BucketConfig()
    trail_bucket: BucketConfig = BucketConfig(encryption="AES256", bucket_key=False)
    kms_key: KeyConfig = KeyConfig()
    replica_kms_key: KeyConfig = KeyConfig()
    account_public_access: PublicAccess | None = PublicAccess()
    replication: ReplicationConfig = ReplicationConfig()
    trail: TrailConfig = TrailConfig()
    config_recorder: RecorderConfig = RecorderConfig()
    backup: BackupConfig = BackupConfig()
    personas: Mapping[str, PersonaPolicy] = field(default_factory=lambda: MappingProxyType(reference_personas()))
    workflows_dir: Path | None = None
    expected_workflows: tuple[str, ...] | None = None
    workflow_required: bool | None = None
    origin: str = "reference values of specs/SETTINGS.md"

    def with_persona(self, persona: str, policy: PersonaPolicy) -> Deployment:
        """A copy with one persona's policy replaced (e.g. an auditor with write access)."""
        personas = dict(self.personas)
        personas[persona] = policy
        return dataclasses.replace(self, personas=MappingProxyType(personas))

    def unlocked(self) -> Deployment:
        """A copy whose compliance bucket has no Object Lock and versioning never enabled.

        Only such a deployment lets a test change a record's bytes behind its manifest (the overwrite
        replaces the one unversioned object), which is what verify must then catch.
        """
        bucket = dataclasses.replace(self.compliance, versioning=None, object_lock=False, lock_mode=None)
        return dataclasses.replace(self, compliance=bucket, replication=ReplicationConfig(enabled=False))


# --- filling a Deployment from DS settings -------------------------------------------------------------------

_BUCKET_FIELDS = {"compliance_bucket": "compliance", "replica_bucket": "replica", "trail_bucket": "trail_bucket"}
_KEY_FIELDS = {"kms_key": "kms_key", "replica_kms_key": "replica_kms_key"}
_PUBLIC_NAMES = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")
_ROLE_PERSONA = {"registrar_role": "registrar", "signer_role": "signer", "auditor_role": "auditor",
                 "admin_role": "admin"}
_PLACEHOLDER = {"encryption_key": ("{kms_key}", "{replica_kms_key}"), "replication_destination": ("{replica_bucket}",),
                "s3_bucket_name": ("{trail_bucket}",), "s3_data_events_bucket": ("{compliance_bucket}",)}


class _SettingError(ContentError):
    pass


def _fail(setting: Setting, expected: str) -> _SettingError:
    return _SettingError(
        f"DS setting '{setting.name}' of '{setting.resource}' has value {setting.value!r}, which the "
        f"deployment cannot build",
        where=str(setting.source),
        fix=f"expected {expected} (see specs/SETTINGS.md)",
    )


def _bool(setting: Setting) -> bool:
    if isinstance(setting.value, bool):
        return setting.value
    raise _fail(setting, "true or false")


def _int(setting: Setting) -> int:
    if isinstance(setting.value, int) and not isinstance(setting.value, bool) and setting.value >= 0:
        return setting.value
    raise _fail(setting, "a whole number of days")


def _strings(setting: Setting) -> tuple[str, ...]:
    if isinstance(setting.value, list) and all(isinstance(v, str) for v in setting.value):
        return tuple(setting.value)
    raise _fail(setting, "a list of strings")


def _enabled(setting: Setting) -> bool:
    if setting.value in ("Enabled", "Disabled"):
        return bool(setting.value == "Enabled")
    raise _fail(setting, "'Enabled' or 'Disabled'")


def deployment_from_settings(settings: Iterable[Setting], *, workflows_dir: Path | None = None,
                             base: Deployment | None = None) -> Deployment:
    """Build the deployment the DS settings describe. Every setting name of specs/SETTINGS.md is handled;
    an unknown name or a value the deployment cannot build raises ContentError naming the setting's place."""
    dep = base if base is not None else Deployment()
    buckets = {name: getattr(dep, attr) for name, attr in _BUCKET_FIELDS.items()}
    keys = {name: getattr(dep, attr) for name, attr in _KEY_FIELDS.items()}
    account_public = dep.account_public_access or PublicAccess()
    replication, trail, recorder, backup = dep.replication, dep.trail, dep.config_recorder, dep.backup
    personas = dict(dep.personas)
    expected_workflows = dep.expected_workflows
    workflow_required = dep.workflow_required
    config_present = dep.workflows_dir is not None or workflows_dir is not None

    for s in settings:
        name, res = s.name, s.resource
        rep = dataclasses.replace
        if name in _PLACEHOLDER:
            if s.value not in _PLACEHOLDER[name]:
                raise _fail(s, " or ".join(repr(v) for v in _PLACEHOLDER[name]))
            if name == "s3_data_events_bucket":
                trail = rep(trail, s3_data_events=True)
            continue
        if res in buckets:
            b: BucketConfig = buckets[res]
            if name == "versioning_status":
                if s.value not in ("Enabled", "Suspended"):
                    raise _fail(s, "'Enabled' or 'Suspended'")
                b = rep(b, versioning=s.value)
            elif name == "object_lock_enabled":
                b = rep(b, object_lock=_enabled(s))
            elif name == "object_lock_mode":
                if s.value not in ("COMPLIANCE", "GOVERNANCE"):
                    raise _fail(s, "'COMPLIANCE' or 'GOVERNANCE'")
                b = rep(b, lock_mode=s.value)
            elif name == "object_lock_retention_days":
                b = rep(b, retention_days=_int(s))
            elif name == "encryption_algorithm":
                if s.value not in ("aws:kms", "AES256", "aws:kms:dsse"):
                    raise _fail(s, "'aws:kms' or 'AES256'")
                b = rep(b, encryption=s.value)
            elif name == "bucket_key_enabled":
                b = rep(b, bucket_key=_bool(s))
            elif name in _PUBLIC_NAMES:
                b = rep(b, public_access=rep(b.public_access or PublicAccess(), **{name: _bool(s)}))
            elif res == "compliance_bucket" and name == "replication_status":
                replication = rep(replication, enabled=_enabled(s))
            elif res == "compliance_bucket" and name == "replication_delete_marker_replication":
                replication = rep(replication, delete_marker_replication=_enabled(s))
            elif res == "compliance_bucket" and name == "workflow_config_present":
                config_present = _bool(s)
            elif res == "compliance_bucket" and name == "workflows":
                expected_workflows = _strings(s)
            elif res == "compliance_bucket" and name == "workflow_required":
                workflow_required = _bool(s)
            else:
                raise _unknown(s)
            buckets[res] = b
        elif res == "account" and name in _PUBLIC_NAMES:
            account_public = rep(account_public, **{name: _bool(s)})
        elif res in keys:
            k: KeyConfig = keys[res]
            if name == "key_manager":
                if s.value != "CUSTOMER":
                    raise _fail(s, "'CUSTOMER' (the deployment creates customer-managed keys)")
            elif name == "key_rotation_enabled":
                k = rep(k, rotation=_bool(s))
            elif name == "key_state":
                if s.value not in ("Enabled", "Disabled"):
                    raise _fail(s, "'Enabled' or 'Disabled'")
                k = rep(k, state=s.value)
            else:
                raise _unknown(s)
            keys[res] = k
        elif res == "trail":
            field_of = {"is_multi_region_trail": "multi_region", "log_file_validation_enabled": "log_file_validation",
                        "is_logging": "logging"}
            if name not in field_of:
                raise _unknown(s)
            trail = rep(trail, **{field_of[name]: _bool(s)})
        elif res == "config_recorder":
            field_of = {"recording_all_supported": "all_supported", "recording": "recording"}
            if name not in field_of:
                raise _unknown(s)
            recorder = rep(recorder, **{field_of[name]: _bool(s)})
        elif res == "backup_vault" and name == "exists":
            backup = rep(backup, vault=_bool(s))
        elif res == "backup_plan" and name == "schedule_expression":
            if not isinstance(s.value, str) or not s.value.startswith(("cron(", "rate(")):
                raise _fail(s, "a schedule such as 'cron(0 3 * * ? *)'")
            backup = rep(backup, schedule=s.value)
        elif res == "backup_plan" and name == "delete_after_days":
            backup = rep(backup, delete_after_days=_int(s))
        elif res in _ROLE_PERSONA and name in ("allowed_actions", "denied_actions"):
            persona = _ROLE_PERSONA[res]
            current = personas.get(persona, PersonaPolicy(allowed=()))
            if name == "allowed_actions":
                personas[persona] = rep(current, allowed=_strings(s))
            else:
                personas[persona] = rep(current, denied=_strings(s))
        else:
            raise _unknown(s)

    wf_dir = workflows_dir if workflows_dir is not None else dep.workflows_dir
    if not config_present:
        wf_dir = None
    return Deployment(
        compliance=buckets["compliance_bucket"],
        replica=buckets["replica_bucket"],
        trail_bucket=buckets["trail_bucket"],
        kms_key=keys["kms_key"],
        replica_kms_key=keys["replica_kms_key"],
        account_public_access=account_public,
        replication=replication,
        trail=trail,
        config_recorder=recorder,
        backup=backup,
        personas=MappingProxyType(personas),
        workflows_dir=wf_dir,
        expected_workflows=expected_workflows,
        workflow_required=workflow_required,
        origin=dep.origin,
    )


def _unknown(setting: Setting) -> _SettingError:
    return _SettingError(
        f"DS setting '{setting.name}' of resource '{setting.resource}' is not one the deployment knows",
        where=str(setting.source),
        fix="use a setting name and resource of specs/SETTINGS.md (or add it there and to generator/targets)",
    )


def ds_settings(root: Path) -> list[Setting]:
    """Every `settings` entry of the DS documents under `root`/specs (in file order)."""
    from generator.load import load_file

    specs = root / "specs"
    found: list[Setting] = []
    files = sorted(specs.glob("*.yaml")) if specs.is_dir() else []
    for path in files:
        document, findings = load_file(path)
        if document is None or document.kind.value != "ds":
            continue
        errors = [f for f in findings if f.severity.value == "error"]
        if errors:
            first = errors[0]
            raise ContentError(first.message, where=str(first.source) if first.source else str(path),
                               fix="run 'valgen check' and correct the DS")
        for item in document.items:
            if isinstance(item, DesignSpec):
                found.extend(item.settings)
    return found


def deployment_from_repository(root: Path) -> Deployment:
    """The reference deployment of a repository: DS settings of ``specs/`` plus ``specs/workflows/``.

    Without any DS settings it returns the reference values and says so in `origin`.
    """
    settings = ds_settings(root)
    workflows = root / "specs" / "workflows"
    wf_dir = workflows if (workflows / "config.yml").is_file() else None
    if not settings:
        # No DS yet (or a folder without specs/): the reference values of specs/SETTINGS.md, said so.
        return Deployment(workflows_dir=wf_dir,
                          origin=f"reference values of specs/SETTINGS.md (no DS settings under {root / 'specs'})")
    files = sorted({str(s.source.path) for s in settings})
    base = Deployment(origin=f"{len(settings)} DS settings of {', '.join(files)}")
    return deployment_from_settings(settings, workflows_dir=wf_dir, base=base)


def plain(value: Any) -> Any:
    """A JSON-friendly form of a deployment (for evidence and `valgen deploy --show`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
