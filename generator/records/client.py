"""The records client: register, list, browse and verify Quilt package revisions, and keep their signature events.

Registration goes through quilt3 (the workflow contract is enforced by quilt3 as
in production) as the registrar persona. Everything else reads S3 directly with
boto3 as the auditor (read-only), so inspection does not depend on the tool that
wrote the records: manifests are parsed here, top hashes recomputed here, and
object bytes re-hashed here, streamed in 1 MiB blocks (constant memory).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from generator.errors import ValgenError
from generator.targets.base import Target

__all__ = [
    "EntryCheck",
    "Manifest",
    "ManifestEntry",
    "RecordsClient",
    "Revision",
    "SignatureEvent",
    "Verification",
    "hash_stream",
    "utc_z",
]

_BLOCK = 1024 * 1024
_NAME = re.compile(r"^[\w-]+/[\w-]+$")
_TOP_HASH = re.compile(r"^[0-9a-f]{64}$")
SIGNATURES_PREFIX = "signatures/"


def utc_z(when: datetime) -> str:
    """UTC ISO 8601 with Z (seconds precision)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Revision:
    """One registration of a package: its number (1 = first registered), top hash and when."""

    package: str
    number: int
    top_hash: str
    registered: str  # UTC Z, from the pointer object's LastModified
    pointer_key: str
    pointer_version: str | None


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    logical_key: str
    physical_key: str
    bucket: str
    key: str
    version_id: str | None
    size: int
    hash_type: str
    hash_value: str
    meta: Any


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed package manifest (`.quilt/packages/<top hash>`)."""

    top_hash: str
    meta: Mapping[str, Any]
    entries: tuple[ManifestEntry, ...]

    @property
    def message(self) -> str | None:
        value = self.meta.get("message")
        return str(value) if value is not None else None

    @property
    def user_meta(self) -> Any:
        return self.meta.get("user_meta", {})

    @property
    def workflow(self) -> Any:
        return self.meta.get("workflow")

    def computed_top_hash(self) -> str:
        """The top hash recomputed from the manifest content (quilt3's algorithm: meta, then entries by key)."""
        top = hashlib.sha256()
        encode = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
        top.update(encode(dict(self.meta)).encode())
        for entry in sorted(self.entries, key=lambda e: e.logical_key):
            top.update(encode({"hash": {"type": entry.hash_type, "value": entry.hash_value},
                               "logical_key": entry.logical_key, "meta": entry.meta, "size": entry.size}).encode())
        return top.hexdigest()


@dataclass(frozen=True, slots=True)
class EntryCheck:
    logical_key: str
    physical_key: str
    ok: bool
    problem: str  # empty when ok
    expected_hash: str
    actual_hash: str | None
    version_id: str | None


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of re-hashing a revision from S3: `ok` only if the top hash and every object hold."""

    package: str
    top_hash: str
    top_hash_ok: bool
    entries: tuple[EntryCheck, ...]
    checked: str  # UTC Z
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.top_hash_ok and not self.problems and all(e.ok for e in self.entries)

    def failures(self) -> list[str]:
        out = list(self.problems)
        if not self.top_hash_ok:
            out.append(f"manifest of {self.package} does not hash to its top hash {self.top_hash}")
        out += [f"{e.logical_key} ({e.physical_key}): {e.problem}" for e in self.entries if not e.ok]
        return out


@dataclass(frozen=True, slots=True)
class SignatureEvent:
    """A stored signature event: the event body as written, where it is, who wrote it, and its lock."""

    body: Mapping[str, Any]
    key: str
    version_id: str | None
    writer_arn: str | None
    lock_mode: str | None
    retain_until: str | None
    stored: str | None = None  # UTC Z: S3's LastModified of the event's version (the service clock)

    @property
    def top_hash(self) -> str:
        return str(self.body.get("top_hash", ""))

    def clock_problem(self) -> str | None:
        """FS-029: the event's stated time against the time S3 stored it; more than CLOCK_TOLERANCE_S apart
        means the signing host's clock was off (or the time was not the signing's), so it is flagged."""
        stated = _parse_z(str(self.body.get("time", "")))
        stored = _parse_z(self.stored or "")
        if stated is None or stored is None:
            return None
        gap = abs((stored - stated).total_seconds())
        if gap <= CLOCK_TOLERANCE_S:
            return None
        return (f"signature event {self.key}: its time {self.body.get('time')} is {gap:.0f} s from the time S3 "
                f"stored it ({self.stored}), more than {CLOCK_TOLERANCE_S} s (FS-029): the signing host's clock "
                "was not in sync, so the stated time cannot be relied on")


CLOCK_TOLERANCE_S = 300  # FS-029: signing hosts keep UTC within this of the AWS service clock


def _parse_z(text: str) -> datetime | None:
    """A UTC time written with Z (as `utc_z` writes it), else None."""
    if not text.endswith("Z"):
        return None
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        return None


def hash_stream(chunks: Iterator[bytes], hash_type: str, size: int) -> str:
    """Hash a byte stream as quilt3 does: 'SHA256' (hex) or 'sha2-256-chunked' (base64 of the SHA-256 of the
    chunk digests; chunk size 8 MiB, doubled while there would be over 10,000 parts). Constant memory."""
    if hash_type == "SHA256":
        plain = hashlib.sha256()
        for chunk in chunks:
            plain.update(chunk)
        return plain.hexdigest()
    if hash_type != "sha2-256-chunked":
        raise ValgenError(f"hash type '{hash_type}' is not supported for verification",
                          fix="register with quilt3's default hash (sha2-256-chunked) or SHA256")
    part_size = 8 * 1024 * 1024
    while -(-size // part_size) > 10_000:
        part_size *= 2
    digests = hashlib.sha256()
    part = hashlib.sha256()
    in_part = 0
    total = 0
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            take = min(len(view), part_size - in_part)
            part.update(view[:take])
            in_part += take
            total += take
            view = view[take:]
            if in_part == part_size:
                digests.update(part.digest())
                part, in_part = hashlib.sha256(), 0
    if in_part:
        digests.update(part.digest())
    if total == 0:
        return base64.b64encode(hashlib.sha256(b"").digest()).decode()
    return base64.b64encode(digests.digest()).decode()


def _parse_physical(physical_key: str) -> tuple[str, str, str | None]:
    parts = urlsplit(physical_key)
    if parts.scheme != "s3":
        raise ValgenError(f"physical key '{physical_key}' is not in S3", fix="register packages with S3 objects")
    version = parse_qs(parts.query).get("versionId", [None])[0]
    return parts.netloc, unquote(parts.path.lstrip("/")), version


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


class RecordsClient:
    """Records of one target's compliance bucket. Reads as `reader_persona` (auditor by default)."""

    def __init__(self, target: Target, *, reader_persona: str = "auditor") -> None:
        self.target = target
        self.bucket = target.compliance_bucket
        self.reader = reader_persona

    @property
    def registry(self) -> str:
        return f"s3://{self.bucket}"

    def _s3(self, persona: str | None = None) -> Any:
        return self.target.client("s3", persona or self.reader)

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME.match(name):
            raise ValgenError(f"'{name}' is not a package name", fix="use 'namespace/name' (letters, digits, _ and -)")

    # --- registration ---------------------------------------------------------------------------------------

    def register(self, directory: Path, name: str, *, message: str, metadata: Mapping[str, Any] | None = None,
                 workflow: str | None = None, persona: str = "registrar") -> Revision:
        """Push `directory` as a new revision of package `name` through the workflow, as the registrar.

        quilt3 enforces the workflow contract of the bucket (21 CFR 11.10(f), (h)); a refused push raises
        ValgenError with quilt3's reason. Returns the new revision (its number counts every registration).
        """
        from generator.records.quiltenv import pointer_puts, quilt_as

        self._check_name(name)
        if not directory.is_dir():
            raise ValgenError(f"'{directory}' is not a folder", fix="give the folder holding the package files")
        self.target.check_write(f"{name}/")
        with quilt_as(self.target, persona) as quilt3, pointer_puts() as pointers:
            pkg = quilt3.Package()
            pkg.set_dir(".", str(directory))
            if metadata is not None:
                pkg.set_meta(dict(metadata))
            try:
                # Package.push less its closing message: with print_info it lists every manifest in the
                # registry (two ListObjectsV2 of .quilt/packages/, growing with the registry) only to print a
                # short hash, which we discard. Everything else is Package.push as released (quilt3 8.0.0).
                pushed = pkg._push(name, self.registry, None, message, None,
                                   workflow=workflow if workflow is not None else ..., print_info=False,
                                   force=True, dedupe=False)
            except quilt3.workflows.WorkflowValidationError as exc:
                raise ValgenError(f"the workflow refused package {name}: {exc}",
                                  fix="complete the package as the workflow's schemas require") from exc
            except quilt3.util.QuiltException as exc:
                raise ValgenError(f"quilt3 could not register {name}: {exc}", fix="see the message") from exc
            top_hash = str(pushed.top_hash)
        # The pointer version this push wrote (S3's PutObject answer): numbered from the listing alone.
        prefix = f".quilt/named_packages/{name}/"
        written = [(key, version) for bucket, key, version, body in pointers
                   if bucket == self.bucket and key.startswith(prefix) and body == top_hash
                   and version not in (None, "null")]
        if written:
            for number, (_stamp, modified, _order, key, version_id) in enumerate(
                    self._pointers(f"{name}/").get(name, []), start=1):
                if (key, version_id) == written[-1]:
                    return Revision(name, number, top_hash, utc_z(modified), key, version_id)
        for revision in reversed(self.revisions(name)):
            if revision.top_hash == top_hash:
                return revision
        raise ValgenError(f"package {name} was pushed ({top_hash}) but no revision pointer was found",
                          fix="check that the registrar may write .quilt/named_packages/")

    # --- revisions and manifests -------------------------------------------------------------------------------

    def packages(self) -> list[str]:
        """Every package name in the registry."""
        s3 = self._s3()
        names: set[str] = set()
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=".quilt/named_packages/"):
            for item in page.get("Contents", []):
                parts = item["Key"].split("/")
                if len(parts) >= 5:
                    names.add(f"{parts[2]}/{parts[3]}")
        return sorted(names)

    def revisions(self, name: str) -> list[Revision]:
        """Every registration of `name`, numbered 1.. in registration order (all pointer versions kept by S3)."""
        self._check_name(name)
        return [self._read_pointer(name, number, pointer)
                for number, pointer in enumerate(self._pointers(f"{name}/").get(name, []), start=1)]

    def all_revisions(self, prefix: str = "", *, max_workers: int = 1) -> dict[str, list[Revision]]:
        """Every registration of every package whose name starts with `prefix` (e.g. 'ngs/run-'), by package:
        one listing of the pointer versions for all of them, then each pointer read (`max_workers` at a time).
        The same revisions, numbered the same way, as `revisions` gives package by package."""
        listing = self._pointers(prefix)
        work = [(name, number, pointer) for name, pointers in listing.items()
                for number, pointer in enumerate(pointers, start=1)]
        if max_workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=max_workers) as pool:
                read = list(pool.map(lambda item: self._read_pointer(*item), work))
        else:
            read = [self._read_pointer(*item) for item in work]
        result: dict[str, list[Revision]] = {name: [] for name in listing}
        for revision in read:
            result[revision.package].append(revision)
        return result

    def _read_pointer(self, name: str, number: int, pointer: tuple[int, datetime, int, str, str | None]) -> Revision:
        _stamp, modified, _order, key, version_id = pointer
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id and version_id != "null":
            args["VersionId"] = version_id
        top_hash = self._s3().get_object(**args)["Body"].read().decode().strip()
        return Revision(name, number, top_hash, utc_z(modified), key, version_id)

    def _pointers(self, prefix: str) -> dict[str, list[tuple[int, datetime, int, str, str | None]]]:
        """The revision pointer versions of the packages whose names start with `prefix` ('ns/name/' for one
        package), each package's in registration order: (stamp, LastModified, listing order, key, version ID)."""
        s3 = self._s3()
        root = ".quilt/named_packages/"
        found: dict[str, list[tuple[int, datetime, int, str, str | None]]] = {}
        paginator = s3.get_paginator("list_object_versions")
        listed = 0
        for page in paginator.paginate(Bucket=self.bucket, Prefix=root + prefix):
            for version in page.get("Versions", []):
                listed += 1
                parts = version["Key"][len(root):].split("/")
                if len(parts) != 3 or not parts[2].isdigit():  # 'latest' is a copy of the newest pointer
                    continue
                # Two registrations in the same second share a pointer key (quilt3 names it by the second) and
                # may share LastModified; S3 lists a key's versions newest first, so the listing order breaks
                # the tie.
                found.setdefault(f"{parts[0]}/{parts[1]}", []).append(
                    (int(parts[2]), version["LastModified"], -listed, version["Key"], version.get("VersionId")))
        for pointers in found.values():
            pointers.sort(key=lambda item: (item[0], item[1], item[2]))
        return found

    def revision(self, name: str, number: int | None = None) -> Revision:
        """Revision `number` of `name` (default: the latest)."""
        revisions = self.revisions(name)
        if not revisions:
            raise ValgenError(f"package {name} has no revisions in {self.registry}",
                              fix="check the package name (valgen inspect lists them with --list)")
        if number is None:
            return revisions[-1]
        if not 1 <= number <= len(revisions):
            raise ValgenError(f"package {name} has revisions 1..{len(revisions)}, not {number}",
                              fix=f"give a revision between 1 and {len(revisions)}")
        return revisions[number - 1]

    def manifest(self, top_hash: str) -> Manifest:
        """Read and parse `.quilt/packages/<top hash>` (streamed line by line)."""
        if not _TOP_HASH.match(top_hash):
            raise ValgenError(f"'{top_hash}' is not a top hash", fix="give the 64 hex digits of a top hash")
        try:
            body = self._s3().get_object(Bucket=self.bucket, Key=f".quilt/packages/{top_hash}")["Body"]
        except Exception as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                raise ValgenError(f"no manifest for top hash {top_hash} in {self.registry}",
                                  fix="check the top hash") from exc
            raise
        meta: dict[str, Any] | None = None
        entries: list[ManifestEntry] = []
        for raw in body.iter_lines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            if meta is None:
                meta = line
                continue
            if "physical_keys" not in line:
                continue  # a directory-level metadata line
            physical = line["physical_keys"][0]
            bucket, key, version = _parse_physical(physical)
            entries.append(ManifestEntry(line["logical_key"], physical, bucket, key, version, int(line["size"]),
                                         line["hash"]["type"], line["hash"]["value"], line.get("meta", {})))
        return Manifest(top_hash, meta or {}, tuple(entries))

    def browse(self, name: str, number: int | None = None) -> tuple[Revision, Manifest]:
        """Revision `number` of `name` and its manifest."""
        revision = self.revision(name, number)
        return revision, self.manifest(revision.top_hash)

    def read_entry(self, entry: ManifestEntry) -> Iterator[bytes]:
        """Stream an entry's bytes from S3 by its version ID, 1 MiB at a time."""
        args: dict[str, Any] = {"Bucket": entry.bucket, "Key": entry.key}
        if entry.version_id and entry.version_id != "null":
            args["VersionId"] = entry.version_id
        body = self._s3().get_object(**args)["Body"]
        try:
            yield from body.iter_chunks(_BLOCK)
        finally:
            body.close()

    def lock_of(self, bucket: str, key: str, version_id: str | None) -> tuple[str | None, str | None]:
        """(Object Lock mode, retain-until UTC Z) of one object version, read with HeadObject
        (shared/MOTO.md: GetObjectRetention is not implemented on moto; HeadObject carries the same)."""
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id and version_id != "null":
            args["VersionId"] = version_id
        head = self._s3().head_object(**args)
        until = head.get("ObjectLockRetainUntilDate")
        return head.get("ObjectLockMode"), (utc_z(until) if until else None)

    # --- verification -----------------------------------------------------------------------------------------

    def verify(self, name: str, number: int | None = None, *, top_hash: str | None = None) -> Verification:
        """Re-hash revision `number` (or the given top hash) from S3 and compare with its manifest.

        21 CFR 11.10(a): the ability to discern altered records. Each object is read by the version ID the
        manifest names; an entry without a version ID is reported, since it is not pinned to its bytes.
        """
        if top_hash is None:
            top_hash = self.revision(name, number).top_hash
        manifest = self.manifest(top_hash)
        checks: list[EntryCheck] = []
        for entry in manifest.entries:
            checks.append(self._check_entry(entry))
        return Verification(name, top_hash, manifest.computed_top_hash() == top_hash, tuple(checks),
                            utc_z(datetime.now(UTC)))

    def _check_entry(self, entry: ManifestEntry) -> EntryCheck:
        def check(ok: bool, problem: str, actual: str | None) -> EntryCheck:
            return EntryCheck(entry.logical_key, entry.physical_key, ok, problem, entry.hash_value, actual,
                              entry.version_id)

        counted = 0

        def counting() -> Iterator[bytes]:
            nonlocal counted
            for chunk in self.read_entry(entry):
                counted += len(chunk)
                yield chunk

        try:
            actual = hash_stream(counting(), entry.hash_type, entry.size)
        except ValgenError as exc:
            return check(False, exc.message, None)
        except Exception as exc:
            code = _code(exc) or type(exc).__name__
            return check(False, f"cannot read the object ({code})", None)
        if counted != entry.size:
            return check(False, f"size is {counted} bytes, the manifest says {entry.size}", actual)
        if actual != entry.hash_value:
            return check(False, f"content changed: {entry.hash_type} is {actual}, the manifest says "
                                f"{entry.hash_value}", actual)
        if not entry.version_id or entry.version_id == "null":
            return check(False, "the manifest names no object version, so the bytes are not pinned "
                                "(versioning was off when it was registered)", actual)
        return check(True, "", actual)

    # --- signature events ---------------------------------------------------------------------------------------

    def signature_key(self, event: Mapping[str, Any]) -> str:
        """signatures/<package>/<top hash>/<YYYYMMDDTHHMMSSZ>-<signer_id>.json (specs/workflows/signature-event)."""
        when = datetime.strptime(str(event["time"])[:19], "%Y-%m-%dT%H:%M:%S")
        return (f"{SIGNATURES_PREFIX}{event['package']}/{event['top_hash']}/"
                f"{when.strftime('%Y%m%dT%H%M%SZ')}-{event['signer_id']}.json")

    def write_signature(self, event: Mapping[str, Any], *, persona: str = "signer") -> SignatureEvent:
        """Store a signature event (as built and signed by generator.esign) under `signatures/`, as the signer.

        The event must name a registered revision (21 CFR 11.70: the signature is linked to its record by the
        top hash). The bucket's default Object Lock retention applies to it (checked on read-back); the
        writer's AWS identity is kept in the object's metadata.
        """
        missing = [k for k in ("package", "top_hash", "signer_id", "printed_name", "meaning", "time")
                   if not event.get(k)]
        if missing:
            raise ValgenError(f"the signature event lacks {', '.join(missing)}",
                              fix="build the event with generator.esign (see specs/workflows/signature-event)")
        if not str(event["time"]).endswith("Z"):
            raise ValgenError("the signature time must be UTC with Z", fix="e.g. 2026-11-28T05:00:00Z")
        self._check_name(str(event["package"]))
        if str(event["top_hash"]) not in {r.top_hash for r in self.revisions(str(event["package"]))}:
            raise ValgenError(f"{event['package']} has no revision with top hash {event['top_hash']}",
                              fix="sign a registered revision (valgen inspect lists them)")
        key = self.signature_key(event)
        self.target.check_write(key)
        writer = self.target.client("sts", persona).get_caller_identity()["Arn"]
        body = json.dumps(dict(event), sort_keys=True, indent=2).encode()
        s3 = self._s3(persona)
        response = s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json",
                                 Metadata={"writer-arn": writer}, ChecksumAlgorithm="SHA256")
        return self._read_signature(key, response.get("VersionId"))

    def write_binder_event(self, event: Mapping[str, Any], *, persona: str = "signer") -> SignatureEvent:
        """Store the event of a signature on a binder PDF, as the signer, Object-Locked by the bucket default.

        A binder is not a registered record when it is signed (it is published afterwards), so its event is
        keyed by the SHA-256 of the exact PDF revision signed:
        signatures/binders/<binder file>/<sha256 of the revision signed>/<field>.json.
        """
        missing = [k for k in ("binder", "field", "signer", "meaning", "time", "revision_signed_sha256")
                   if not event.get(k)]
        if missing:
            raise ValgenError(f"the binder signature event lacks {', '.join(missing)}",
                              fix="store the event `valgen sign` wrote beside the binder")
        digest = str(event["revision_signed_sha256"]).removeprefix("sha256:")
        key = f"{SIGNATURES_PREFIX}binders/{event['binder']}/{digest}/{event['field']}.json"
        self.target.check_write(key)
        writer = self.target.client("sts", persona).get_caller_identity()["Arn"]
        body = json.dumps(dict(event), sort_keys=True, indent=2).encode()
        response = self._s3(persona).put_object(Bucket=self.bucket, Key=key, Body=body,
                                                ContentType="application/json", Metadata={"writer-arn": writer},
                                                ChecksumAlgorithm="SHA256")
        return self._read_signature(key, response.get("VersionId"))

    def _read_signature(self, key: str, version_id: str | None) -> SignatureEvent:
        s3 = self._s3()
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id and version_id != "null":
            args["VersionId"] = version_id
        obj = s3.get_object(**args)
        body = json.loads(obj["Body"].read())
        until = obj.get("ObjectLockRetainUntilDate")
        stored = obj.get("LastModified")
        return SignatureEvent(body, key, obj.get("VersionId"), obj.get("Metadata", {}).get("writer-arn"),
                              obj.get("ObjectLockMode"), utc_z(until) if until else None,
                              utc_z(stored) if stored else None)

    def signatures(self, name: str, top_hash: str | None = None) -> list[SignatureEvent]:
        """Every signature event of `name` (of one revision if `top_hash` is given), oldest first."""
        self._check_name(name)
        prefix = f"{SIGNATURES_PREFIX}{name}/" + (f"{top_hash}/" if top_hash else "")
        events: list[SignatureEvent] = []
        paginator = self._s3().get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                if version["Key"].endswith(".json"):
                    events.append(self._read_signature(version["Key"], version.get("VersionId")))
        events.sort(key=lambda e: (str(e.body.get("time", "")), e.key))
        return events
