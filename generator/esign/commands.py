"""The e-signature commands behind `valgen demo-keys|sign|verify|approve`: defaults, wiring, and the text shown.

`generator.cli` parses arguments and prints; these functions do the work and
return the text and verdict, so the CLI stays thin.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

from generator.errors import ValgenError
from generator.esign.identity import ENV_PASSPHRASE, Lockout, PassphraseSource
from generator.esign.signatories import Signatories, load_signatories

__all__ = [
    "DEFAULT_SIGNATORIES",
    "ENV_KEYS_DIR",
    "ENV_STATE_DIR",
    "passphrase_source",
    "run_approve",
    "run_demo_keys",
    "run_sign",
    "run_verify",
]

DEFAULT_SIGNATORIES = Path("requirements/signatories.yaml")
ENV_KEYS_DIR = "VALGEN_KEYS_DIR"
ENV_STATE_DIR = "VALGEN_STATE_DIR"


def passphrase_source(signer_id: str) -> PassphraseSource:
    """At a terminal, ask with getpass (the environment variable is ignored there); else the variable.

    21 CFR 11.200(a): the passphrase is the second component; an environment
    variable is accepted only for unattended runs, and the event records which was used.
    """
    if sys.stdin.isatty():
        return PassphraseSource("terminal", lambda: getpass.getpass(f"PKCS#12 passphrase for {signer_id}: "), True)
    value = os.environ.get(ENV_PASSPHRASE)
    return PassphraseSource(f"environment variable {ENV_PASSPHRASE} (unattended run)", lambda: value, False)


def _signatories(path: Path | None, revocations: Path | None) -> Signatories:
    return load_signatories(path if path is not None else DEFAULT_SIGNATORIES, revocations)


def _keys_dir(keys: Path | None) -> Path:
    if keys is not None:
        return keys
    env = os.environ.get(ENV_KEYS_DIR)
    if env:
        return Path(env)
    raise ValgenError("no key directory given", fix=f"pass --keys DIR (holding <signer-id>.p12) or set {ENV_KEYS_DIR}")


def _lockout(keys: Path, state: Path | None) -> Lockout:
    if state is not None:
        return Lockout(state)
    env = os.environ.get(ENV_STATE_DIR)
    return Lockout(Path(env) if env else keys / "state")


def run_demo_keys(directory: Path, *, fresh: bool = False) -> str:
    from generator.esign.keys import DEMO_MARK, write_demo_keys

    made = write_demo_keys(directory, fresh=fresh)
    lines = [f"wrote demo signing material to {made.directory} ({DEMO_MARK})",
             f"  trust root:   {made.ca_pem}", f"  signatories:  {made.signatories}",
             f"  revocations:  {made.revocations}"]
    for signer_id, path in made.keys.items():
        lines.append(f"  {signer_id}: {path} (passphrase in {directory / 'passphrases.txt'})")
    return "\n".join(lines) + "\n"


def run_sign(binder: Path, signer: str, meaning: str, *, signatories: Path | None, revocations: Path | None,
             keys: Path | None, state: Path | None, target: str | None = None, root: Path | None = None) -> str:
    from generator.esign.sign import sign_binder

    people = _signatories(signatories, revocations)
    key_dir = _keys_dir(keys)
    client = _records_client(target, root or Path.cwd()) if target else None  # reachable before signing
    result = sign_binder(binder, people, signer, meaning, key_file=key_dir / f"{signer}.p12",
                         source=passphrase_source(signer), lockout=_lockout(key_dir, state))
    ev = result.event
    text = (f"signed {binder} field {result.field}: {ev['name']} ({ev['signer']}), meaning {ev['meaning']}, "
            f"{ev['time'].replace('T', ' ').replace('Z', ' UTC')}\n"
            f"  revision signed: {ev['revision_signed_sha256']}\n  event: {result.event_path}\n")
    if client is not None:
        stored = client.write_binder_event(ev)
        text += (f"  event stored: s3://{client.bucket}/{stored.key} (lock {stored.lock_mode or 'none'} until "
                 f"{stored.retain_until or '-'})\n")
    return text


def run_verify(binder: Path, *, trust: Path | None, signatories: Path | None,
               revocations: Path | None) -> tuple[str, bool]:
    from generator.esign.verify import load_trust_root, verify_binder

    people = _signatories(signatories, revocations)
    root = load_trust_root(trust) if trust is not None else None
    report = verify_binder(binder, people, root)
    lines = [f"{binder}: trust root {report.trust_root}"]
    for sig in report.signatures:
        when = sig.time.replace("T", " ").replace("Z", " UTC") if sig.time else "unknown time"
        mark = "OK " if not sig.problems else "BAD"
        lines.append(f"  [{mark}] {sig.field}: {sig.name} ({sig.signer or 'unknown signer'}), "
                     f"meaning {sig.meaning or '?'}, {when}")
        lines += [f"        {p}" for p in sig.problems]
    for problem in report.problems:
        lines.append(f"  [BAD] {problem}")
    if report.ok:
        lines.append(f"VERIFIED: {len(report.signatures)} signature(s) intact, trusted and in order; "
                     "no change after signing; every attachment matches the manifest")
    else:
        lines.append(f"NOT VERIFIED: {len(report.all_problems())} problem(s)")
    return "\n".join(lines) + "\n", report.ok


def run_approve(document: Path, signer: str, meaning: str, *, signatories: Path | None, revocations: Path | None,
                keys: Path | None, state: Path | None) -> str:
    from generator.esign.approve import approve_document

    people = _signatories(signatories, revocations)
    key_dir = _keys_dir(keys)
    approval = approve_document(document, people, signer, meaning, key_file=key_dir / f"{signer}.p12",
                                source=passphrase_source(signer), lockout=_lockout(key_dir, state))
    return (f"approved {document}: {approval['name']} ({approval['signer']}), meaning {approval['meaning']}, "
            f"{approval['time'].replace('T', ' ').replace('Z', ' UTC')}\n  fingerprint: {approval['fingerprint']}\n")


def _records_client(target_name: str, root: Path) -> Any:
    """The records client of a target: a running `valgen deploy` for moto, the account for aws (as `inspect`)."""
    from generator.records import RecordsClient
    from generator.targets import find_profile

    profile = find_profile(target_name, root)
    if profile.kind == "moto":
        from generator.targets.moto import attach_moto, state_path

        return RecordsClient(attach_moto(profile, state_path(root)))
    from generator.targets.aws import AwsTarget

    return RecordsClient(AwsTarget(profile))


def run_publish(binder: Path, *, target: str, root: Path, package: str | None, signer: str | None,
                signatories: Path | None, revocations: Path | None, keys: Path | None, state: Path | None) -> str:
    from generator.esign.publish import publish_binder

    people = _signatories(signatories, revocations)
    client = _records_client(target, root)
    extra: dict[str, Any] = {}
    if signer is not None:
        key_dir = _keys_dir(keys)
        extra = {"signer_id": signer, "key_file": key_dir / f"{signer}.p12", "source": passphrase_source(signer),
                 "lockout": _lockout(key_dir, state)}
    result = publish_binder(client, binder, people, package=package, **extra)
    lines = [f"published {binder} as {result.package} revision {result.revision} (top hash {result.top_hash})"]
    lines += [f"  {name}" for name in result.files]
    if result.record_event_key:
        lines.append(f"  record signature event: {result.record_event_key}")
    return "\n".join(lines) + "\n"


def run_verify_remote(*, target: str, root: Path, package: str, revision: int | None, trust: Path | None,
                      signatories: Path | None, revocations: Path | None) -> tuple[str, bool]:
    from generator.esign.publish import verify_published
    from generator.esign.verify import load_trust_root

    people = _signatories(signatories, revocations)
    root_cert = load_trust_root(trust) if trust is not None else None
    report = verify_published(_records_client(target, root), package, revision, people, root_cert)
    lines = [f"{package} revision {report.revision} (top hash {report.top_hash}) on target {target}"]
    if report.rehash_problems:
        lines += [f"  [BAD] re-hash from S3: {p}" for p in report.rehash_problems]
    else:
        lines.append("  [OK ] every object re-hashed from S3 by its version ID matches the manifest")
    if report.binder is not None:
        for sig in report.binder.signatures:
            when = sig.time.replace("T", " ").replace("Z", " UTC") if sig.time else "unknown time"
            lines.append(f"  [{'OK ' if not sig.problems else 'BAD'}] {sig.field}: {sig.name} "
                         f"({sig.signer or 'unknown signer'}), meaning {sig.meaning or '?'}, {when}")
            lines += [f"        {p}" for p in sig.problems]
        lines += [f"  [BAD] {p}" for p in report.binder.problems]
    lines += [f"  {line}" for line in report.record_events]
    lines += [f"  [BAD] {p}" for p in report.problems]
    lines.append("VERIFIED" if report.ok else "NOT VERIFIED")
    return "\n".join(lines) + "\n", report.ok
