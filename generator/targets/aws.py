"""The aws target: an existing deployment in a real AWS account, read-only apart from the qualification's test objects.

Credentials come from the standard boto3 chain or the named profile a persona
names; a persona with a ``role_arn`` assumes that role (sts:AssumeRole, one hop,
session name ``valgen-<persona>``). The target never changes account or bucket
configuration: it creates no client for a configuration-changing call, and every
object write the engine makes is checked by `Target.check_write`, which allows
only the qualification's test objects: keys under the profile's ``test_prefix``,
packages named under its ``test_packages`` prefix, their manifests, revision
pointers and signature events (`generator.targets.base.allowed_write`).

API calls this module makes itself: sts:AssumeRole (per persona with role_arn),
sts:GetCallerIdentity (account check). Every call the engine makes on an aws
target is listed in generator/targets/AWS_CALLS.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from generator.errors import ValgenError
from generator.targets.base import Target, make_session
from generator.targets.profile import PERSONAS, READER, PersonaAuth, TargetProfile

__all__ = ["AwsTarget"]


class _Resources(Mapping[str, str]):
    """The profile's resource names plus 'account', resolved lazily (it needs a call to STS)."""

    def __init__(self, names: Mapping[str, str], account: Callable[[], str]) -> None:
        self._names = names
        self._account = account

    def __getitem__(self, key: str) -> str:
        if key == "account":
            return self._account()
        return self._names[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._names
        yield "account"

    def __len__(self) -> int:
        return len(self._names) + 1


class AwsTarget(Target):
    """A records system in an AWS account, named by a profile of kind aws."""

    def __init__(self, profile: TargetProfile, *, session_factory: Any = None) -> None:
        super().__init__()
        if profile.kind != "aws":
            raise ValgenError(f"profile '{profile.name}' is of kind {profile.kind}, not aws",
                              fix="use generator.targets.open_target, which picks the target for the kind")
        self.profile = profile
        self.endpoint = profile.endpoint
        self._session_factory = session_factory  # tests pass a factory returning stubbed sessions
        self._sessions: dict[str, tuple[Any, float]] = {}
        self._account: str | None = profile.account
        names = dict(profile.resource_names())
        self._names = names
        self.guard_writes()  # never lifted: on aws the qualification touches nothing but its test objects

    @property
    def account(self) -> str:
        """The account ID: the profile's, checked against the auditor's caller identity on first use."""
        if self._account is None or not hasattr(self, "_account_checked"):
            found: str = self.client("sts", "auditor").get_caller_identity()["Account"]
            if self._account is not None and found != self._account:
                raise ValgenError(
                    f"the auditor credentials belong to account {found}, the profile names {self._account}",
                    fix="use credentials of the profile's account, or correct 'account' in the profile")
            self._account = found
            self._account_checked = True
        return self._account

    @property
    def resources(self) -> Mapping[str, str]:
        """The profile's names; the account is looked up (and checked) only when asked for."""
        return _Resources(self._names, lambda: self.account)

    def _base_session(self, profile_name: str | None) -> Any:
        if self._session_factory is not None:
            return self._session_factory(profile_name)
        import botocore.exceptions

        try:
            return make_session(region=self.primary_region, profile=profile_name)
        except botocore.exceptions.ProfileNotFound as exc:
            raise ValgenError(f"AWS named profile '{profile_name}' is not configured",
                              fix="add it to ~/.aws/config, or correct 'profile' in the target profile") from exc

    def session(self, persona: str) -> Any:
        """A session as `persona`: its named profile, then its role assumed (renewed before expiry)."""
        import botocore.exceptions

        if persona not in PERSONAS and persona != READER:
            raise ValgenError(f"unknown persona '{persona}'", fix="use one of: " + ", ".join(PERSONAS))
        auth = self.profile.personas.get(persona)
        if auth is None and persona == READER:
            auth = PersonaAuth()  # the reader defaults to the boto3 credential chain
        if auth is None:
            raise ValgenError(f"profile '{self.profile.name}' does not configure persona '{persona}'",
                              fix=f"add personas: {{{persona}: {{role_arn: ...}}}} to the profile")
        with self._lock:
            cached = self._sessions.get(persona)
        if cached is not None and cached[1] - time.time() > 300:
            return cached[0]
        base = self._base_session(auth.profile)
        if auth.role_arn is None:
            with self._lock:
                self._sessions[persona] = (base, float("inf"))
            return base
        args: dict[str, Any] = {"RoleArn": auth.role_arn, "RoleSessionName": f"valgen-{persona}"}
        if auth.external_id:
            args["ExternalId"] = auth.external_id
        try:
            sts = base.client("sts", region_name=self.primary_region, endpoint_url=self._sts_endpoint())
            creds = sts.assume_role(**args)["Credentials"]
        except botocore.exceptions.ProfileNotFound as exc:
            raise ValgenError(f"AWS named profile '{auth.profile}' of persona {persona} is not configured",
                              fix="add it to ~/.aws/config, or correct 'profile' in the target profile") from exc
        except botocore.exceptions.ClientError as exc:
            raise ValgenError(f"cannot assume the {persona} role {auth.role_arn}: {exc}",
                              fix="check the role's trust policy and the caller's sts:AssumeRole permission") from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise ValgenError("no AWS credentials found for the aws target",
                              fix="configure the boto3 credential chain or name a profile per persona") from exc
        session = self._session_from(creds)
        with self._lock:
            self._sessions[persona] = (session, creds["Expiration"].timestamp())
            for key in [k for k in self._clients if k[1] == persona]:
                del self._clients[key]
        return session

    def _sts_endpoint(self) -> str | None:
        return None  # STS always at its regional AWS endpoint; `endpoint` applies to the records services

    def _session_from(self, creds: Mapping[str, Any]) -> Any:
        if self._session_factory is not None:
            return self._session_factory(creds)
        return make_session(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"],
                            region=self.primary_region)
