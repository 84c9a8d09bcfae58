"""Identity checks before any signature: two components (signer ID + PKCS#12 passphrase) and the lockout.

21 CFR 11.200(a)(1): at least two distinct identification components, the signer
ID and a secret only the signer knows (here the passphrase of the signer's own
PKCS#12 key). 11.300(d): three wrong passphrases in a row lock the signer for
`LOCK_MINUTES` and every attempt is logged with its UTC time, so unauthorized use
can be detected and reported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from generator.errors import EXIT_NOT_OK, ValgenError
from generator.esign.signatories import Signer, cert_fingerprint, format_time, parse_time

__all__ = [
    "ENV_PASSPHRASE",
    "LOCK_ATTEMPTS",
    "LOCK_MINUTES",
    "Credential",
    "Lockout",
    "PassphraseSource",
    "SigningRefused",
    "unlock_credential",
]

ENV_PASSPHRASE = "VALGEN_SIGNING_PASSPHRASE"
LOCK_ATTEMPTS = 3
LOCK_MINUTES = 30

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class SigningRefused(ValgenError):
    """A signature or approval was refused by a rule (exit 1: what was checked is not OK)."""

    exit_code = EXIT_NOT_OK


@dataclass(frozen=True, slots=True)
class PassphraseSource:
    """Where a passphrase came from and a function that yields one (None when none is available).

    `kind` is ``terminal`` (asked with getpass) or ``environment`` (VALGEN_SIGNING_PASSPHRASE,
    unattended runs only); the signature event records it.
    """

    kind: str
    ask: Callable[[], str | None]
    retries: bool  # a person at a terminal may try again; an unattended run gets one attempt


@dataclass(frozen=True, slots=True)
class Credential:
    """An unlocked signing key with the identity components that unlocked it."""

    signer: Signer
    pkcs12: bytes
    passphrase: bytes
    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    components: tuple[str, ...]


class Lockout:
    """Consecutive failed passphrases per signer, the lock they cause, and the attempt log.

    State lives in `state_dir/lockout.json`; every attempt is appended to
    `state_dir/identity-log.jsonl` (UTC times).
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.state_file = state_dir / "lockout.json"
        self.log_file = state_dir / "identity-log.jsonl"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # A damaged lockout file must not silently reset the counters (11.300(d)).
            raise ValgenError(f"cannot read the lockout state {self.state_file}: {exc}",
                              fix="restore the file, or have QA review the identity log and remove it") from None
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.state_file)

    def log(self, signer_id: str, now: datetime, event: str, detail: str = "") -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        entry = {"time": format_time(now), "signer": signer_id, "event": event, "detail": detail}
        with self.log_file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")

    def locked_until(self, signer_id: str, now: datetime) -> datetime | None:
        entry = self._load().get(signer_id, {})
        until = entry.get("locked_until")
        if isinstance(until, str):
            moment = parse_time(until)
            if moment > now:
                return moment
        return None

    def failure(self, signer_id: str, now: datetime) -> int:
        """Record one wrong passphrase; returns the attempts left before the lock (0 = now locked)."""
        data = self._load()
        entry = data.get(signer_id, {})
        failures = int(entry.get("failures", 0)) + 1
        entry = {"failures": failures, "last_failure": format_time(now)}
        left = max(LOCK_ATTEMPTS - failures, 0)
        if left == 0:
            entry = {"failures": 0, "locked_until": format_time(now + timedelta(minutes=LOCK_MINUTES)),
                     "locked_at": format_time(now)}
        data[signer_id] = entry
        self._save(data)
        self.log(signer_id, now, "wrong passphrase", f"{failures} in a row")
        if left == 0:
            self.log(signer_id, now, "locked", f"{LOCK_ATTEMPTS} wrong passphrases in a row; "
                     f"locked until {entry['locked_until']} (21 CFR 11.300(d))")
        return left

    def success(self, signer_id: str, now: datetime, source: str) -> None:
        data = self._load()
        if signer_id in data:
            del data[signer_id]
            self._save(data)
        self.log(signer_id, now, "identity verified", f"signer ID + PKCS#12 passphrase ({source})")


def unlock_credential(signer: Signer, key_file: Path, source: PassphraseSource, lockout: Lockout,
                      now: datetime) -> Credential:
    """Check both identity components and return the unlocked key, or raise SigningRefused.

    The certificate inside the PKCS#12 must be the one the signatories file lists
    for this signer: a key of someone else cannot sign under this ID (11.100(a)).
    """
    until = lockout.locked_until(signer.id, now)
    if until is not None:
        lockout.log(signer.id, now, "refused while locked", f"locked until {format_time(until)}")
        raise SigningRefused(f"signer '{signer.id}' is locked until {format_time(until)} after "
                             f"{LOCK_ATTEMPTS} wrong passphrases in a row (21 CFR 11.300(d))",
                             fix="wait for the lock to expire; if these attempts were not yours, report them to QA")
    try:
        blob = key_file.read_bytes()
    except OSError as exc:
        raise ValgenError(f"cannot read the key of '{signer.id}' at {key_file}: {exc.strerror}",
                          fix="pass --keys DIR holding <signer-id>.p12 (or set VALGEN_KEYS_DIR)") from None
    while True:
        secret = source.ask()
        if secret is None:
            raise ValgenError(
                f"no passphrase for '{signer.id}': no terminal to ask on and {ENV_PASSPHRASE} is not set",
                fix=f"run at a terminal, or for an unattended run set {ENV_PASSPHRASE}")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(blob, secret.encode())
        except ValueError:
            left = lockout.failure(signer.id, now)
            if left == 0:
                raise SigningRefused(
                    f"wrong passphrase for '{signer.id}': {LOCK_ATTEMPTS} in a row, the signer is now locked for "
                    f"{LOCK_MINUTES} minutes (21 CFR 11.300(d)); the attempts are logged in {lockout.log_file}",
                    fix="wait for the lock to expire; if these attempts were not yours, report them to QA") from None
            if source.retries:
                continue
            raise SigningRefused(f"wrong passphrase for '{signer.id}' ({left} attempt(s) left before the lock)",
                                 fix="give the passphrase of this signer's PKCS#12 key") from None
        break
    if cert is None or key is None or not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise ValgenError(f"{key_file} holds no usable signing key and certificate",
                          fix="use the PKCS#12 file issued to this signer")
    if cert_fingerprint(cert) != signer.fingerprint:
        lockout.log(signer.id, now, "refused", f"key file certificate {cert_fingerprint(cert)} is not the signer's")
        raise SigningRefused(
            f"the certificate in {key_file} ({cert_fingerprint(cert)}) is not the one registered for "
            f"'{signer.id}' ({signer.fingerprint})",
            fix="use this signer's own PKCS#12 key; a signature is never made with another person's key (11.100(a))")
    lockout.success(signer.id, now, source.kind)
    components = ("signer ID", f"PKCS#12 passphrase ({source.kind})")
    return Credential(signer=signer, pkcs12=blob, passphrase=secret.encode(), private_key=key, certificate=cert,
                      chain=tuple(extra), components=components)
