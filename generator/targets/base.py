"""What every target offers the suites and the records client: persona sessions, clients, resolved resources.

A `Target` is bound to one profile and one deployment. `resources` maps every
resource name of specs/SETTINGS.md to the identifier the read-back uses
(bucket name, key ARN, trail name, backup plan ID, role name, account ID).
"""

from __future__ import annotations

import abc
import datetime as dt
import email.utils
import re
import threading
from collections.abc import Mapping
from typing import Any

from generator.errors import ValgenError
from generator.model.run import TargetIdentity
from generator.targets.capabilities import Capability, capabilities
from generator.targets.profile import PERSONAS, READER, TargetProfile

__all__ = ["REPLICA_RESOURCES", "Target", "allowed_write", "make_session"]

# Resources that live in the replica region; every other regional resource lives in the primary region.
REPLICA_RESOURCES = frozenset({"replica_bucket", "replica_kms_key"})


def allowed_write(key: str, *, test_prefix: str, test_packages: str) -> bool:
    """Whether the qualification may write `key` in the compliance bucket of a guarded target.

    Allowed: scratch objects under the test prefix (``valgen-qualification/…``); the objects of test packages,
    named under the test package prefix (``ngs/run-valgenq-…``: a name the bucket's workflow accepts and no
    real package carries); their revision pointers (``.quilt/named_packages/<test package>…``); manifests
    (``.quilt/packages/<top hash>``, content-addressed: a manifest names only what was pushed); and signature
    events of test packages or scratch objects (``signatures/<test package>…``, ``signatures/<test prefix>…``).
    """
    if ".." in key.split("/"):
        return False
    return (
        key.startswith((test_prefix, test_packages))
        or key.startswith(".quilt/named_packages/" + test_packages)
        or key.startswith(("signatures/" + test_packages, "signatures/" + test_prefix))
        or (key.startswith(".quilt/packages/") and key.count("/") == 2)
    )


_loader_lock = threading.Lock()
_shared_loader: Any = None
# The two shapes S3 writes times in: ISO 8601 in XML bodies, RFC 1123 (GMT) in headers.
_ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")
_RFC1123_GMT = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


def fast_timestamp(value: Any) -> Any:
    """botocore's response timestamp parser, without dateutil for the two shapes S3 uses.

    botocore parses every LastModified with dateutil (about 0.3 ms each: a twentieth of the client's CPU in
    the load scenario). ``2026-11-28T06:34:40.000Z`` and ``Sat, 28 Nov 2026 06:34:40 GMT`` are read with the
    standard library into the same value botocore returns (aware, dateutil's tzutc); anything else goes to
    botocore's own parser."""
    import botocore.utils

    if isinstance(value, str):
        if _ISO_Z.fullmatch(value):
            return dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=botocore.utils.tzutc())
        if _RFC1123_GMT.fullmatch(value):
            parsed = email.utils.parsedate_to_datetime(value)
            return parsed.replace(tzinfo=botocore.utils.tzutc())
    return botocore.utils.parse_timestamp(value)


def make_session(access_key_id: str | None = None, secret_access_key: str | None = None,
                 session_token: str | None = None, *, region: str | None = None,
                 profile: str | None = None) -> Any:
    """A boto3 Session that shares one botocore data loader with every other session made here.

    Each boto3 Session otherwise parses the service model JSON again for its first client of each service
    (0.4-1.4 s per service); persona sessions are many, so they share the parsed models."""
    global _shared_loader
    import boto3
    import botocore.loaders
    import botocore.session

    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = botocore.loaders.create_loader()
        loader = _shared_loader
    core = botocore.session.Session(profile=profile)
    core.register_component("data_loader", loader)
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=fast_timestamp)
    if access_key_id is not None:
        core.set_credentials(access_key_id, secret_access_key, session_token)
    return boto3.Session(botocore_session=core, region_name=region)


class Target(abc.ABC):
    """A records system the qualification and the records client talk to."""

    profile: TargetProfile
    endpoint: str | None
    _account_id: str
    _resources: Mapping[str, str]

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()
        # Writes limited to the qualification's own test objects: always on aws; on moto for a qualification
        # session (generator.qualify.session_target), so the embedded run proves every write it makes
        # would pass on aws.
        self.writes_guarded = False

    @property
    def account(self) -> str:
        """The 12-digit account ID of the deployment."""
        return self._account_id

    @property
    def resources(self) -> Mapping[str, str]:
        """Every SETTINGS.md resource -> the identifier read-back uses (see the module docstring)."""
        return self._resources

    @property
    def kind(self) -> str:
        return self.profile.kind

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def primary_region(self) -> str:
        return self.profile.primary_region

    @property
    def replica_region(self) -> str:
        return self.profile.replica_region

    @property
    def compliance_bucket(self) -> str:
        return self.resources["compliance_bucket"]

    @property
    def capabilities(self) -> Mapping[str, Capability]:
        return capabilities(self.kind)

    def region_of(self, resource: str) -> str:
        """The region a SETTINGS.md resource lives in."""
        return self.replica_region if resource in REPLICA_RESOURCES else self.primary_region

    @abc.abstractmethod
    def session(self, persona: str) -> Any:
        """A boto3 Session acting as `persona` (registrar, signer, auditor, admin; or 'reader', the read-only
        identity IQ reads configuration with)."""

    def client_config(self) -> Any:
        """botocore Config for every client of this target (path-style addressing for a custom endpoint)."""
        from botocore.config import Config

        if self.endpoint:
            # proxies={}: a loopback endpoint is never sent through an HTTP(S)_PROXY of the environment
            proxies: dict[str, str] | None = {} if _loopback(self.endpoint) else None
            return Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"},
                          proxies=proxies)
        return Config(retries={"max_attempts": 5, "mode": "standard"})

    def client(self, service: str, persona: str, region: str | None = None) -> Any:
        """A cached boto3 client for `service` as `persona` (region: the primary region by default)."""
        if persona not in PERSONAS and persona != READER:
            raise ValgenError(f"unknown persona '{persona}'", fix="use one of: " + ", ".join((*PERSONAS, READER)))
        region = region or self.primary_region
        key = (service, persona, region)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        made = self._make_client(self.session(persona), service, region)
        with self._lock:
            return self._clients.setdefault(key, made)

    def _make_client(self, session: Any, service: str, region: str) -> Any:
        client = session.client(service, region_name=region, endpoint_url=self.endpoint,
                                config=self.client_config())
        if self.endpoint:
            endpoint_fixes(client, service)
        return client

    def guard_writes(self) -> None:
        """From now on, refuse any write outside the qualification's own test objects (see `allowed_write`)."""
        self.writes_guarded = True

    def check_write(self, key: str) -> None:
        """Raise ValgenError if the engine may not write `key` to the compliance bucket (when writes are guarded)."""
        if not self.writes_guarded:
            return
        profile = self.profile
        if not allowed_write(key, test_prefix=profile.test_prefix, test_packages=profile.test_packages):
            raise ValgenError(
                f"refusing to write '{key}' on {self.kind} target '{profile.name}': the qualification writes only "
                f"its test objects (keys under '{profile.test_prefix}', test packages named "
                f"'{profile.test_packages}…')",
                fix=f"name test packages '{profile.test_packages}<name>' and scratch objects "
                    f"'{profile.test_prefix}<key>' (profile keys test_packages and test_prefix)")

    def identity(self) -> TargetIdentity:
        """The target identity a run record states."""
        return TargetIdentity(profile=self.profile.name, kind=self.kind, account=self.account,
                              regions=(self.primary_region, self.replica_region), endpoint=self.endpoint)


def _loopback(endpoint: str) -> bool:
    from urllib.parse import urlsplit

    return (urlsplit(endpoint).hostname or "") in ("127.0.0.1", "localhost", "::1")


def endpoint_fixes(client: Any, service: str) -> None:
    """Work around the moto server quirks of shared/MOTO.md for a client with a loopback endpoint."""
    if service == "s3control":
        _strip_account_host(client)
    if service == "backup":
        _sign_payload_hash(client)


def _sign_payload_hash(client: Any) -> None:
    """moto 5.2.5 re-computes the SigV4 signature of a rest-json GET over its parsed parameters instead of the
    empty body, so every Backup GET fails with SignatureDoesNotMatch. Sending the payload hash as the signed
    header X-Amz-Content-SHA256 (which SigV4 then uses as is, on both sides) makes the signatures agree."""
    import hashlib

    def handler(request: Any, **_kwargs: Any) -> None:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        if isinstance(body, bytes | bytearray):
            request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()

    client.meta.events.register("before-sign.backup.*", handler)


def _strip_account_host(client: Any) -> None:
    """shared/MOTO.md quirk: boto3 prefixes the s3control host with the account ID ('123456789012.127.0.0.1'),
    which does not resolve for a loopback endpoint; strip it before signing."""
    from urllib.parse import urlsplit, urlunsplit

    def handler(request: Any, **_kwargs: Any) -> None:
        parts = urlsplit(request.url)
        host = parts.netloc
        head, _, rest = host.partition(".")
        if head.isdigit() and len(head) == 12 and rest:
            request.url = urlunsplit(parts._replace(netloc=rest))
            if "host" in request.headers:
                del request.headers["host"]

    client.meta.events.register("before-sign.s3-control.*", handler)
