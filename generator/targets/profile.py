"""Target profiles: the YAML file that names a target's kind, regions, resources and personas.

A profile (``qualification/targets/<name>.yaml``) says where the records system
lives; the DS says how it must be configured. Every problem in a profile is
reported in one pass with ``path:line:col``, what was expected and how to fix it.

Format (keys in ``snake_case``; see ``qualification/targets/moto.yaml``)::

    name: moto                      # the profile's name (shown in run records)
    kind: moto                      # moto | aws
    primary_region: us-east-1
    replica_region: us-west-2
    endpoint: http://...            # optional (aws: a VPC or FIPS endpoint; moto: ignored)
    account: "123456789012"         # optional; aws: checked against the caller's account
    test_prefix: valgen-qualification/   # the only key prefix the qualification writes scratch objects under
    test_packages: ngs/run-valgenq-      # the prefix of its test packages' names: one the workflow accepts
                                         # and no real package name starts with
    buckets: {compliance: ..., replica: ..., trail: ...}
    resources: {kms_key: ..., replica_kms_key: ..., trail: ..., config_recorder: ...,
                backup_vault: ..., backup_plan: ..., registrar_role: ..., signer_role: ...,
                auditor_role: ..., admin_role: ...}
    personas:                       # aws: role_arn and/or profile per persona; moto: created by the deployment
      registrar: {role_arn: arn:aws:iam::123456789012:role/records-registrar, profile: qa-base}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ValgenError
from generator.model import Source

__all__ = [
    "BUCKET_KEYS",
    "KINDS",
    "PERSONAS",
    "READER",
    "RESOURCE_KEYS",
    "PersonaAuth",
    "ProfileError",
    "ProfileProblem",
    "TargetProfile",
    "find_profile",
    "load_profile",
    "profile_from_mapping",
    "profile_problems",
    "profile_schema",
]

KINDS = ("moto", "aws")
PERSONAS = ("registrar", "signer", "auditor", "admin")
# The identity IQ reads configuration with (read-only; not a persona of the records system). On moto the
# deployment creates it; on aws it is optional in the profile (default: the boto3 credential chain).
READER = "reader"
BUCKET_KEYS = ("compliance", "replica", "trail")
# specs/SETTINGS.md, "Resources": every resource a DS setting may name, apart from the
# account (found from the caller) and the buckets (under `buckets`).
RESOURCE_KEYS = (
    "kms_key",
    "replica_kms_key",
    "trail",
    "config_recorder",
    "backup_vault",
    "backup_plan",
    "registrar_role",
    "signer_role",
    "auditor_role",
    "admin_role",
)
_TOP_KEYS = ("name", "kind", "primary_region", "replica_region", "endpoint", "account", "test_prefix",
             "test_packages", "buckets", "resources", "personas", "description")
_PERSONA_KEYS = ("role_arn", "profile", "external_id")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TEST_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*/$")
# A Quilt package name is '<namespace>/<name>' of letters, digits, '_' and '-'; the prefix is its start.
_TEST_PACKAGES = re.compile(r"^[A-Za-z0-9_-]+/[A-Za-z0-9_-]*$")
DEFAULT_TEST_PREFIX = "valgen-qualification/"
DEFAULT_TEST_PACKAGES = "ngs/run-valgenq-"


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonaAuth:
    """How one persona authenticates on an aws target: a role to assume and/or a named profile."""

    role_arn: str | None = None
    profile: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetProfile:
    """A validated target profile. `resources` holds the names of every SETTINGS.md resource but the account."""

    name: str
    kind: str  # moto | aws
    primary_region: str
    replica_region: str
    buckets: Mapping[str, str]  # compliance | replica | trail -> bucket name
    resources: Mapping[str, str]  # RESOURCE_KEYS -> name / alias / ID / ARN
    personas: Mapping[str, PersonaAuth] = field(default_factory=dict)
    endpoint: str | None = None
    account: str | None = None
    test_prefix: str = DEFAULT_TEST_PREFIX
    test_packages: str = DEFAULT_TEST_PACKAGES
    source: Source | None = None

    def resource_names(self) -> dict[str, str]:
        """Every SETTINGS.md resource name (buckets included) -> the profile's name for it."""
        names = {f"{key}_bucket": value for key, value in self.buckets.items()}
        names.update(self.resources)
        return names


@dataclass(frozen=True, slots=True)
class ProfileProblem:
    """One problem in a profile file."""

    source: Source
    message: str
    expected: str
    fix: str


class ProfileError(ValgenError):
    """A target profile that cannot be used; carries every problem found in the file."""

    def __init__(self, problems: list[ProfileProblem]) -> None:
        first = problems[0]
        super().__init__(first.message, fix=first.fix, where=str(first.source))
        self.problems = problems

    def render(self) -> str:
        lines: list[str] = []
        for p in self.problems:
            lines.append(f"{p.source}: error[TARGET001] {p.message}")
            lines.append(f"  expected: {p.expected}")
            lines.append(f"  fix: {p.fix}")
        return "\n".join(lines) + "\n"


def _read(path: Path) -> Any:
    """Read YAML with positions through the loader (generator.load.yamlio)."""
    from generator.load.yamlio import YamlReadError, read_yaml

    try:
        return read_yaml(path)
    except YamlReadError as exc:
        raise ProfileError([ProfileProblem(p.source, p.message, p.expected, "correct the YAML at that place")
                            for p in exc.problems]) from None


def _where(node: Any, key: str | None, path: Path) -> Source:
    if key is not None and hasattr(node, "value_at"):
        at: Source = node.value_at(key)
        return at
    src = getattr(node, "source", None)
    return src if isinstance(src, Source) else Source(path=path, line=1, column=1)


def _key_where(node: Any, key: str, path: Path) -> Source:
    if hasattr(node, "key_at"):
        at: Source = node.key_at(key)
        return at
    return _where(node, None, path)


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def profile_from_mapping(data: Any, path: Path) -> TargetProfile:
    """Validate a parsed profile (YMap from the loader, or a plain dict) and build the profile."""
    problems: list[ProfileProblem] = []

    def problem(src: Source, message: str, expected: str, fix: str) -> None:
        problems.append(ProfileProblem(src, message, expected, fix))

    if not isinstance(data, dict):
        raise ProfileError([ProfileProblem(_where(data, None, path), "a target profile must be a mapping",
                                           "keys name, kind, primary_region, replica_region, buckets, resources",
                                           "start from qualification/targets/moto.yaml")])

    def unknown_keys(node: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if key not in allowed:
                problem(_key_where(node, key, path), f"unknown key '{key}' in {what}",
                        "one of: " + ", ".join(allowed), f"{_suggest(key, allowed)}remove or rename the key")

    def text(node: dict[str, Any], key: str, what: str, *, required: bool = True,
             pattern: re.Pattern[str] | None = None, expected: str = "a string") -> str | None:
        if key not in node or node[key] is None:
            if required:
                problem(_where(node, None, path), f"{what}: missing '{key}'", expected, f"add '{key}: ...'")
            return None
        value = node[key]
        if not isinstance(value, str) or (isinstance(value, str) and not value.strip()):
            problem(_where(node, key, path), f"{what}: '{key}' is {value!r}", expected,
                    f"give '{key}' a non-empty string value (quote numbers)")
            return None
        if pattern is not None and not pattern.match(value):
            problem(_where(node, key, path), f"{what}: '{key}' is '{value}', which is not valid", expected,
                    f"correct '{key}'")
            return None
        return value

    unknown_keys(data, _TOP_KEYS, "the profile")
    name = text(data, "name", "the profile", pattern=_NAME, expected="a name such as 'moto' or 'prod-eu'")
    kind = text(data, "kind", "the profile", expected="'moto' or 'aws'")
    if kind is not None and kind not in KINDS:
        problem(_where(data, "kind", path), f"the profile: kind '{kind}' is not known", "'moto' or 'aws'",
                "use kind: moto (embedded server) or kind: aws (an existing deployment)")
        kind = None
    region_expect = "an AWS region such as 'eu-west-1'"
    primary = text(data, "primary_region", "the profile", pattern=_REGION, expected=region_expect)
    replica = text(data, "replica_region", "the profile", pattern=_REGION, expected=region_expect)
    if primary and replica and primary == replica:
        problem(_where(data, "replica_region", path), "the replica region equals the primary region",
                "a second region (21 CFR 11.10(c): records survive the loss of a region)",
                "choose another region for the replica")
    endpoint = text(data, "endpoint", "the profile", required=False,
                    pattern=re.compile(r"^https?://[^\s/]+(/.*)?$"), expected="a URL such as https://s3.example")
    account = text(data, "account", "the profile", required=False, pattern=re.compile(r"^\d{12}$"),
                   expected="a 12-digit account ID, quoted")
    test_prefix = text(data, "test_prefix", "the profile", required=kind == "aws", pattern=_TEST_PREFIX,
                       expected="a key prefix ending in '/', such as 'valgen-qualification/'")
    if test_prefix is not None and test_prefix.startswith((".quilt/", "signatures/")):
        problem(_where(data, "test_prefix", path), f"the test prefix '{test_prefix}' overlaps the records",
                "a prefix of its own", "choose a prefix such as 'valgen-qualification/'")
        test_prefix = None
    # The qualification's test packages are registered through the bucket's workflow like any record, so
    # their names must match a workflow's name pattern; the guard lets the qualification write nothing else.
    test_packages = text(data, "test_packages", "the profile", required=kind == "aws", pattern=_TEST_PACKAGES,
                         expected="the start of a package name the workflow accepts, such as 'ngs/run-valgenq-'")
    if test_packages is not None and test_packages.startswith("signatures/"):
        problem(_where(data, "test_packages", path), f"the test package prefix '{test_packages}' overlaps the "
                "signature events", "a package name prefix of its own", "choose a prefix such as 'ngs/run-valgenq-'")
        test_packages = None
    elif test_packages is not None and test_packages.endswith("/"):
        problem(_where(data, "test_packages", path), f"the test package prefix '{test_packages}' is a whole "
                "namespace: every package in it could be written", "a prefix that only test packages' names start "
                "with", f"add a marker after the '/', such as '{test_packages}valgenq-'")
        test_packages = None

    def section(key: str, allowed: tuple[str, ...], value_pattern: re.Pattern[str] | None,
                expected: str) -> dict[str, str]:
        result: dict[str, str] = {}
        node = data.get(key)
        if node is None:
            problem(_where(data, None, path), f"the profile: missing '{key}'", "keys " + ", ".join(allowed),
                    f"add a '{key}:' mapping (see qualification/targets/moto.yaml)")
            return result
        if not isinstance(node, dict):
            problem(_where(data, key, path), f"'{key}' must be a mapping", "keys " + ", ".join(allowed),
                    f"write '{key}:' followed by indented 'name: value' lines")
            return result
        unknown_keys(node, allowed, f"'{key}'")
        for sub in allowed:
            value = text(node, sub, f"'{key}'", pattern=value_pattern, expected=expected)
            if value is not None:
                result[sub] = value
        return result

    buckets = section("buckets", BUCKET_KEYS, _BUCKET, "an S3 bucket name (3-63 lower-case letters, digits, '.', '-')")
    if len(set(buckets.values())) < len(buckets):
        problem(_where(data, "buckets", path), "two buckets share a name", "three different buckets",
                "give the compliance, replica and trail buckets their own names")
    resources = section("resources", RESOURCE_KEYS, None, "a resource name, alias, ID or ARN")

    personas: dict[str, PersonaAuth] = {}
    node = data.get("personas")
    if node is not None and not isinstance(node, dict):
        problem(_where(data, "personas", path), "'personas' must be a mapping", "keys " + ", ".join(PERSONAS),
                "write 'personas:' followed by one mapping per persona")
    elif isinstance(node, dict):
        unknown_keys(node, (*PERSONAS, READER), "'personas'")
        for persona in (*PERSONAS, READER):
            entry = node.get(persona)
            if entry is None:
                continue
            if not isinstance(entry, dict):
                problem(_where(node, persona, path), f"persona '{persona}' must be a mapping",
                        "role_arn and/or profile", f"write '{persona}: {{role_arn: arn:aws:iam::...:role/...}}'")
                continue
            unknown_keys(entry, _PERSONA_KEYS, f"persona '{persona}'")
            role_arn = text(entry, "role_arn", f"persona '{persona}'", required=False, pattern=_ROLE_ARN,
                            expected="an IAM role ARN such as arn:aws:iam::123456789012:role/records-auditor")
            prof = text(entry, "profile", f"persona '{persona}'", required=False,
                        expected="a named profile of ~/.aws/config")
            external_id = text(entry, "external_id", f"persona '{persona}'", required=False)
            if role_arn is None and prof is None and not any(k in entry for k in ("role_arn", "profile")):
                problem(_where(node, persona, path), f"persona '{persona}' names neither role_arn nor profile",
                        "role_arn, profile, or both (the profile's credentials assume the role)",
                        "add role_arn: or profile:")
            personas[persona] = PersonaAuth(role_arn=role_arn, profile=prof, external_id=external_id)
    if kind == "aws":
        for persona in PERSONAS:
            if persona not in personas and not (isinstance(node, dict) and persona in node):
                problem(_where(data, "personas" if "personas" in data else None, path),
                        f"aws profile: persona '{persona}' is not configured",
                        "a role_arn or profile for each of " + ", ".join(PERSONAS),
                        f"add 'personas: {{{persona}: {{role_arn: ...}}}}'")

    if problems:
        raise ProfileError(problems)
    assert name is not None and kind is not None and primary is not None and replica is not None
    return TargetProfile(
        name=name,
        kind=kind,
        primary_region=primary,
        replica_region=replica,
        buckets=buckets,
        resources=resources,
        personas=personas,
        endpoint=endpoint,
        account=account,
        test_prefix=test_prefix or DEFAULT_TEST_PREFIX,
        test_packages=test_packages or DEFAULT_TEST_PACKAGES,
        source=_where(data, None, path),
    )


def load_profile(path: Path) -> TargetProfile:
    """Read and validate one profile file; raises ProfileError naming every problem."""
    return profile_from_mapping(_read(path), path)


def find_profile(name_or_path: str, root: Path | None = None) -> TargetProfile:
    """Resolve `--target`: a path to a YAML file, or a name under ``qualification/targets/``."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise ValgenError(f"target profile '{name_or_path}' does not exist",
                              fix="give a profile name such as 'moto' or the path of a profile YAML file")
        return load_profile(candidate)
    base = (root if root is not None else Path.cwd()) / "qualification" / "targets"
    path = base / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in base.glob("*.yaml")) if base.is_dir() else []
        raise ValgenError(
            f"no target profile named '{name_or_path}' in {base}",
            fix=("use one of: " + ", ".join(known)) if known else "run valgen from the repository root",
        )
    return load_profile(path)


def profile_problems(path: Path) -> list[ProfileProblem]:
    """Every problem of one profile file (empty when it is valid), for `valgen check` to report (TARGET001)."""
    try:
        load_profile(path)
    except ProfileError as exc:
        return list(exc.problems)
    return []


def profile_schema() -> dict[str, Any]:
    """JSON Schema of a target profile (for editor completion), built from the same constants as validation."""
    text = {"type": "string", "minLength": 1}
    persona = {"type": "object", "additionalProperties": False,
               "properties": {"role_arn": {"type": "string", "pattern": _ROLE_ARN.pattern},
                              "profile": text, "external_id": text}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "target-profile",
        "title": "valgen target profile",
        "description": "Where the records system under qualification lives (generator/targets/profile.py).",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "kind", "primary_region", "replica_region", "buckets", "resources"],
        "properties": {
            "name": {"type": "string", "pattern": _NAME.pattern},
            "kind": {"enum": list(KINDS)},
            "description": text,
            "primary_region": {"type": "string", "pattern": _REGION.pattern},
            "replica_region": {"type": "string", "pattern": _REGION.pattern},
            "endpoint": {"type": "string", "pattern": r"^https?://"},
            "account": {"type": "string", "pattern": r"^\d{12}$"},
            "test_prefix": {"type": "string", "pattern": _TEST_PREFIX.pattern},
            "test_packages": {"type": "string", "pattern": _TEST_PACKAGES.pattern},
            "buckets": {"type": "object", "additionalProperties": False, "required": list(BUCKET_KEYS),
                        "properties": {k: {"type": "string", "pattern": _BUCKET.pattern} for k in BUCKET_KEYS}},
            "resources": {"type": "object", "additionalProperties": False, "required": list(RESOURCE_KEYS),
                          "properties": {k: text for k in RESOURCE_KEYS}},
            "personas": {"type": "object", "additionalProperties": False,
                         "properties": {k: persona for k in (*PERSONAS, READER)}},
        },
    }
