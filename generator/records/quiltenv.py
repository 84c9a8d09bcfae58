"""quilt3 kept on a short leash: its state outside the user's home, its S3 clients bound to one target persona.

How quilt3 8 picks credentials and endpoint: every S3 client it makes comes from
`quilt3.data_transfer.S3ClientProvider`, which takes a default `boto3.Session()`
(the standard credential chain, or Quilt catalog credentials from
``<data dir>/credentials.json``) and calls the hook set with
`quilt3.hooks.set_build_s3_client_hook`. We install one hook that builds each
client from the bound persona's session with the target's endpoint (path-style
addressing), so pushes run as the registrar and never with whatever credentials
the environment holds.

Where quilt3 keeps state: module constants computed at import from
platformdirs (``user_data_dir`` / ``user_cache_dir``: config.yml, auth,
credentials, manifest cache, temp files). We import quilt3 with XDG_DATA_HOME and
XDG_CACHE_HOME pointing into a valgen state folder (``$VALGEN_QUILT_HOME``, else
``<tmp>/valgen-quilt-<uid>``), restore the environment afterwards, re-point the
constants if quilt3 had been imported before us, switch its cache off, and turn
off its usage telemetry (QUILT_DISABLE_USAGE_METRICS), which would otherwise
call out to the internet.

Workflow configuration: quilt3 reads ``.quilt/workflows/config.yml`` and each
JSON schema from S3 and compiles the validators on every push (6 requests and
about 100 ms of CPU). `_workflow_config` replaces that with one
ListObjectVersions of the config's folder: the latest version ID of the config
and of every schema is the cache key, so any new version of any of them (or a
deleted one) is loaded afresh, exactly as quilt3 would; the manifest still names
the config and schema versions used (quilt3 writes them from the loaded keys).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.targets.base import Target

__all__ = ["pointer_puts", "quilt3_module", "quilt_as", "state_dir"]

_cond = threading.Condition()
_binding: tuple[Any, str | None, Any, str] | None = None  # (key, endpoint, session, target kind)
_users = 0
_imported: Any = None
_saved_stdout: Any = None
# One S3 client per persona session, reused by every quilt3 operation bound to it. quilt3 asks for new
# sessions and clients several times per push; building them (service models, credential chain) was about
# half the time of a registration. Keyed weakly by the session, so a renewed session gets a new client.
_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_original_get_workflow_config: Any = None
_workflow_lock = threading.Lock()
# Workflow configs by (endpoint, bucket, latest version of every object in the config's folder); few entries.
_workflow_cache: dict[tuple[Any, ...], _WorkflowEntry] = {}
_WORKFLOW_CACHE_SIZE = 8


class _Sink(io.TextIOBase):
    """Discards text (quilt3's progress prints)."""

    def write(self, text: str) -> int:
        return len(text)


def state_dir() -> Path:
    """Where quilt3 keeps its config and temp files for valgen (never the user's home)."""
    configured = os.environ.get("VALGEN_QUILT_HOME")
    base = Path(configured) if configured else Path(tempfile.gettempdir()) / f"valgen-quilt-{os.getuid()}"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def quilt3_module() -> Any:
    """Import quilt3 with its state under `state_dir()` and valgen's client hook installed."""
    global _imported
    if _imported is not None:
        return _imported
    home = state_dir()
    os.environ["QUILT_DISABLE_USAGE_METRICS"] = "true"  # no telemetry calls to the internet
    os.environ.setdefault("QUILT_MINIMIZE_STDOUT", "true")  # no progress bars from library code
    saved = {k: os.environ.get(k) for k in ("XDG_DATA_HOME", "XDG_CACHE_HOME")}
    already = "quilt3" in sys.modules
    try:
        os.environ["XDG_DATA_HOME"] = str(home / "data")
        os.environ["XDG_CACHE_HOME"] = str(home / "cache")
        import quilt3
        import quilt3.api
        import quilt3.hooks
        import quilt3.packages
        import quilt3.session
        import quilt3.util
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if already or not str(quilt3.util.BASE_PATH).startswith(str(home)):
        _repoint(quilt3, home)
    quilt3.util.IS_CACHE_ENABLED = False  # read at call time by quilt3.packages
    _remember_quilt_config(quilt3.util)
    quilt3.hooks.set_build_s3_client_hook(_build_client)
    # quilt3 would otherwise build a fresh boto3.Session() (the environment's credential chain) before every
    # client it makes; the bound persona's session is the one the hook uses anyway.
    quilt3.data_transfer.S3ClientProvider.get_boto_session = _bound_session
    global _original_get_workflow_config
    import quilt3.backends.base
    import quilt3.workflows

    registry_class = quilt3.backends.base.PackageRegistry
    if _original_get_workflow_config is None:
        _original_get_workflow_config = registry_class.get_workflow_config
    registry_class.get_workflow_config = _workflow_config
    _imported = quilt3
    return quilt3


def _remember_quilt_config(util: Any) -> None:
    """quilt3 parses its YAML config (template and file) on every get_from_config, several times per push;
    the parsed config is kept while the file's path, size and modification time stay the same (quilt3's own
    set_config_value rewrites the file, so a change is read again). Callers get their own copy."""
    import copy

    original = util.load_config
    lock = threading.Lock()
    kept: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def load_config() -> dict[str, Any]:
        path = Path(util.CONFIG_PATH)
        try:
            stat = path.stat()
            stamp: tuple[Any, ...] = (str(path), stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = (str(path), None, None)
        with lock:
            if kept and kept[0][0] == stamp:
                return copy.deepcopy(kept[0][1])
        value: dict[str, Any] = original()
        with lock:
            kept[:] = [(stamp, copy.deepcopy(value))]
        return value

    util.load_config = load_config


def _repoint(quilt3: Any, home: Path) -> None:
    """quilt3 was imported before us with its state in the home folder: move every path constant."""
    base = home / "data" / "Quilt"
    cache = home / "cache" / "Quilt" / "v0"
    util, session, packages, api = quilt3.util, quilt3.session, quilt3.packages, quilt3.api
    util.BASE_DIR = str(base)
    util.BASE_PATH = base
    util.CACHE_PATH = cache
    util.TEMPFILE_DIR_PATH = base / "tempfiles"
    util.CONFIG_PATH = base / "config.yml"
    session.AUTH_PATH = base / "auth.json"
    session.CREDENTIALS_PATH = base / "credentials.json"
    packages.CACHE_PATH = cache
    packages.APP_DIR_TEMPFILE_DIR = base / "tempfiles"
    api.CONFIG_PATH = base / "config.yml"


def _bound_session(_provider: Any = None) -> Any:
    """The session of the persona quilt3 is bound to (replaces S3ClientProvider.get_boto_session)."""
    with _cond:
        binding = _binding
    if binding is None:
        raise RuntimeError("valgen: quilt3 was used outside generator.records.quiltenv.quilt_as()")
    return binding[2]


@dataclass(slots=True)
class _WorkflowEntry:
    """A workflow config as quilt3 loaded it, and the validators compiled from its schemas (by schema URL)."""

    config: dict[str, Any]
    physical_key: Any  # quilt3 PhysicalKey of config.yml with its version ID
    latest: dict[str, str]  # key -> latest version ID, from the listing the entry was made under
    validators: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # str(schema pk) -> (validator, pk)


def _workflow_config(registry: Any) -> Any:
    """Replaces PackageRegistry.get_workflow_config: quilt3's own loader, its result cached by version.

    One ListObjectVersions of the config's folder gives the latest version ID of config.yml and of every
    schema beside it. A hit needs the same versions as when the entry was loaded; anything the listing
    cannot pin (an unversioned bucket, a schema outside the folder, a listing the persona may not make)
    goes to quilt3's loader unchanged. Each push gets a fresh WorkflowConfig, so what quilt3 records in the
    manifest (the config and the schemas this workflow used, with their version IDs) is what it would be
    without the cache.
    """
    quilt3 = _imported
    pk = registry.workflow_conf_pk
    if quilt3 is None or pk.is_local() or pk.version_id is not None:
        return _original_get_workflow_config(registry)
    folder = pk.path.rpartition("/")[0] + "/"
    try:
        s3 = quilt3.data_transfer.S3ClientProvider().standard_client
        listing = s3.list_object_versions(Bucket=pk.bucket, Prefix=folder)
    except Exception:  # no listing (permissions, network): quilt3's loader reports its own errors
        return _original_get_workflow_config(registry)
    latest = {str(v["Key"]): str(v.get("VersionId")) for v in listing.get("Versions", []) if v.get("IsLatest")}
    if listing.get("IsTruncated") or latest.get(pk.path) in (None, "null"):
        return _original_get_workflow_config(registry)
    with _cond:
        binding = _binding
    endpoint = binding[1] if binding is not None else None
    fingerprint = (endpoint, pk.bucket, tuple(sorted(latest.items())))
    with _workflow_lock:
        entry = _workflow_cache.get(fingerprint)
    if entry is None:
        loaded = _original_get_workflow_config(registry)
        if loaded is None or loaded.physical_key.version_id != latest[pk.path]:
            return loaded  # no config, or it changed since the listing: not cached
        entry = _WorkflowEntry(loaded.config, loaded.physical_key, latest)
        with _workflow_lock:
            while len(_workflow_cache) >= _WORKFLOW_CACHE_SIZE:
                _workflow_cache.pop(next(iter(_workflow_cache)))
            _workflow_cache[fingerprint] = entry
    config = quilt3.workflows.WorkflowConfig(entry.config, entry.physical_key)
    config.make_validator_from_schema = lambda schema_id: _validator(quilt3, config, entry, schema_id)
    return config


def _validator(quilt3: Any, config: Any, entry: _WorkflowEntry, schema_id: str) -> Any:
    """WorkflowConfig.make_validator_from_schema with the compiled validator shared between pushes when the
    schema's version is the one the entry was listed with."""
    if schema_id in config.loaded_schemas_by_id:
        return config.loaded_schemas_by_id[schema_id][0]
    schema_pk = config.get_pk_for_schema_id(schema_id)
    url = str(schema_pk)
    with _workflow_lock:
        shared = entry.validators.get(url)
    if shared is None:
        validator = quilt3.workflows.WorkflowConfig.make_validator_from_schema(config, schema_id)
        stored = config.loaded_schemas_by_id[schema_id][1]
        # Shared only if pinned: an explicit version in the URL, or the version listed for the entry.
        pinned = (not schema_pk.is_local() and schema_pk.bucket == entry.physical_key.bucket
                  and stored.version_id not in (None, "null")
                  and (schema_pk.version_id is not None or entry.latest.get(schema_pk.path) == stored.version_id))
        if pinned:
            with _workflow_lock:
                entry.validators[url] = (validator, stored)
        return validator
    config.loaded_schemas_by_id[schema_id] = config.loaded_schemas[url] = shared
    return shared[0]


def _build_client(build_client_base: Any, session: Any, client_kwargs: dict[str, Any], **kwargs: Any) -> Any:
    """quilt3's client hook: the bound persona's client for the target's endpoint, always signed, built once."""
    from botocore.config import Config

    with _cond:
        binding = _binding
    if binding is None:
        raise RuntimeError("valgen: quilt3 was used outside generator.records.quiltenv.quilt_as()")
    _key, endpoint, persona_session, kind = binding
    with _cond:
        cached = _clients.get(persona_session)
    if cached is not None:
        return cached
    old = client_kwargs.get("config")
    pool = getattr(old, "max_pool_connections", None) or 10
    config = Config(max_pool_connections=pool, retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path"} if endpoint else None,
                    proxies={} if kind == "moto" else None)  # loopback never goes through a proxy
    made = dict(client_kwargs, config=config)
    if endpoint:
        made["endpoint_url"] = endpoint
    client = build_client_base(persona_session, made, **kwargs)
    if kind == "moto":
        _composite_checksum_shim(client)
    _note_pointer_puts(client)
    with _cond:
        _clients[persona_session] = client
    return client


_POINTERS = ".quilt/named_packages/"
_capture = threading.local()


@contextlib.contextmanager
def pointer_puts() -> Iterator[list[tuple[str, str, str | None, str]]]:
    """Collect the revision pointers quilt3 writes in this thread: (bucket, key, version ID, top hash).

    quilt3 writes a package's pointers from the thread that pushes (PackageRegistryV1.push_manifest), so
    the records client learns which pointer version its push made from S3's PutObject answer, without
    reading the pointer back."""
    found: list[tuple[str, str, str | None, str]] = []
    outer = getattr(_capture, "found", None)
    _capture.found = found
    try:
        yield found
    finally:
        _capture.found = outer


def _note_pointer_puts(client: Any) -> None:
    def remember(params: dict[str, Any], context: dict[str, Any], **_kw: Any) -> None:
        key, body = str(params.get("Key", "")), params.get("Body")
        if key.startswith(_POINTERS) and not key.endswith("/latest") and isinstance(body, bytes):
            context["valgen_pointer"] = (str(params.get("Bucket", "")), key, body.decode(errors="replace"))

    def written(parsed: dict[str, Any], context: dict[str, Any], **_kw: Any) -> None:
        found = getattr(_capture, "found", None)
        pointer = context.get("valgen_pointer")
        if found is not None and pointer is not None and "Error" not in parsed:
            bucket, key, body = pointer
            found.append((bucket, key, parsed.get("VersionId"), body.strip()))

    client.meta.events.register("before-parameter-build.s3.PutObject", remember)
    client.meta.events.register("after-call.s3.PutObject", written)


def _composite_checksum_shim(client: Any) -> None:
    """moto 5.2.5 omits ChecksumSHA256 from the CompleteMultipartUpload response, and quilt3 8 needs it for
    every file of 8 MiB or more (it builds the file's sha2-256-chunked hash from it). Fill it in the way S3
    does: base64(SHA-256 of the concatenated part checksums) + '-<parts>', from the part checksums botocore
    computed over the bytes sent. Registered for moto targets only; verification re-hashes the stored bytes
    independently, so a wrong value here could not hide a changed object."""
    import base64
    import hashlib

    def remember(params: dict[str, Any], context: dict[str, Any], **_kw: Any) -> None:
        parts = params.get("MultipartUpload", {}).get("Parts", [])
        context["valgen_part_checksums"] = [p.get("ChecksumSHA256") for p in parts]

    def complete(parsed: dict[str, Any], context: dict[str, Any], **_kw: Any) -> None:
        sums = context.get("valgen_part_checksums") or []
        if "ChecksumSHA256" not in parsed and sums and all(sums):
            joined = b"".join(base64.b64decode(x) for x in sums)
            parsed["ChecksumSHA256"] = f"{base64.b64encode(hashlib.sha256(joined).digest()).decode()}-{len(sums)}"

    client.meta.events.register("before-parameter-build.s3.CompleteMultipartUpload", remember)
    client.meta.events.register("after-call.s3.CompleteMultipartUpload", complete)


@contextlib.contextmanager
def quilt_as(target: Target, persona: str) -> Iterator[Any]:
    """Run quilt3 calls as `persona` of `target`. Calls bound to the same persona and target may run
    concurrently (the PQ load scenario); a different binding waits until those finish."""
    global _binding, _users, _saved_stdout
    quilt3 = quilt3_module()
    key = (id(target), persona)
    session = target.session(persona)
    with _cond:
        while _binding is not None and _binding[0] != key:
            _cond.wait()
        if _binding is None:
            _binding = (key, target.endpoint, session, target.kind)
        if _users == 0:
            # quilt3 prints progress messages ("Package ... pushed"); only the CLI speaks to the user.
            _saved_stdout = sys.stdout
            sys.stdout = _Sink()
        _users += 1
    try:
        yield quilt3
    finally:
        with _cond:
            _users -= 1
            if _users == 0:
                _binding = None
                if _saved_stdout is not None:
                    sys.stdout = _saved_stdout
                    _saved_stdout = None
                _cond.notify_all()
