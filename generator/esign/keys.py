"""Demo signing material: a demo CA, three demo signers as PKCS#12, and their signatories file.

Every certificate says "DEMO — NOT FOR GxP USE". By default the keys are derived
from fixed public seeds (ECDSA P-256, RFC 6979 deterministic signatures, fixed
validity), so `valgen demo-keys` always yields the same certificates and the
repository's `requirements/signatories.yaml` lists their fingerprints. Anyone can
re-derive these private keys: that is exactly why they are demo keys. `fresh=True`
draws random keys instead.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from generator.errors import ValgenError
from generator.esign.signatories import (
    REVOCATIONS_FORMAT,
    REVOCATIONS_HEADER,
    SIGNATORIES_FORMAT,
    SIGNATORIES_HEADER,
    cert_fingerprint,
)

__all__ = ["DEMO_MARK", "DEMO_SIGNERS", "DemoKeys", "DemoSigner", "write_demo_keys"]

DEMO_MARK = "DEMO — NOT FOR GxP USE"
_DEMO_ASCII = "DEMO - NOT FOR GxP USE"  # policy qualifiers must be ASCII (RFC 5280 IA5String)
# A UUID-derived OID (ITU-T X.667, arc 2.25): needs no registration and names the demo policy.
_DEMO_POLICY = x509.ObjectIdentifier("2.25.194701505647972069465685787084952324118")
_NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
_NOT_AFTER = datetime(2036, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoSigner:
    """One demo person: ID, printed name, title, allowed meanings, demo passphrase."""

    id: str
    name: str
    title: str
    meanings: tuple[str, ...]
    passphrase: str


DEMO_SIGNERS: tuple[DemoSigner, ...] = (
    DemoSigner("demo-author", "Alex Author", "Validation Engineer", ("authored",), "demo-author-passphrase"),
    DemoSigner("demo-reviewer", "Riley Reviewer", "System Owner", ("reviewed",), "demo-reviewer-passphrase"),
    DemoSigner("demo-qa", "Quinn Approver", "Head of Quality Assurance", ("reviewed", "approved", "released"),
               "demo-qa-passphrase"),
)


@dataclass(frozen=True, slots=True)
class DemoKeys:
    """What `write_demo_keys` wrote."""

    directory: Path
    ca_pem: Path
    signatories: Path
    revocations: Path
    keys: dict[str, Path]
    passphrases: dict[str, str]


def _key(label: str, fresh: bool) -> ec.EllipticCurvePrivateKey:
    if fresh:
        return ec.generate_private_key(ec.SECP256R1())
    # Deterministic demo key: a public seed, reduced into [1, n-1] of P-256.
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    value = int.from_bytes(hashlib.sha256(f"valgen demo key v1: {label}".encode()).digest(), "big")
    return ec.derive_private_key(value % (order - 1) + 1, ec.SECP256R1())


def _serial(label: str, fresh: bool) -> int:
    if fresh:
        return x509.random_serial_number()
    return int.from_bytes(hashlib.sha256(f"valgen demo serial v1: {label}".encode()).digest()[:16], "big") >> 1


def _algorithm(fresh: bool) -> ec.ECDSA:
    return ec.ECDSA(hashes.SHA256(), deterministic_signing=not fresh)


def _name(common: str, title: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if title is not None:
        parts.append(x509.NameAttribute(NameOID.TITLE, title))
    parts += [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEMO_MARK),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "valgen demo"),
    ]
    return x509.Name(parts)


def _ca(fresh: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key("ca", fresh)
    name = _name(f"valgen Demo CA ({DEMO_MARK})")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial("ca", fresh))
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
            _DEMO_POLICY, [_DEMO_ASCII])]), critical=False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=not fresh)
    )
    return key, cert


def _signer_cert(person: DemoSigner, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
                 fresh: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key(person.id, fresh)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{person.name} ({DEMO_MARK})", person.title))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial(person.id, fresh))
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # non-repudiation (content commitment): the key is for signatures with a meaning (11.50)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                              x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
            _DEMO_POLICY, [_DEMO_ASCII])]), critical=False)
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=not fresh)
    )
    return key, cert


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line + "\n" for line in text.strip().splitlines())


def signatories_text(ca_cert: x509.Certificate, people: list[tuple[DemoSigner, x509.Certificate]]) -> str:
    """The signatories file for the given CA and signer certificates."""
    out = [SIGNATORIES_HEADER, f"format: {SIGNATORIES_FORMAT}\n", "trust_root:\n",
           f"  fingerprint: \"{cert_fingerprint(ca_cert)}\"\n", "  certificate: |\n", _indent(_pem(ca_cert), 4),
           "signers:\n"]
    for person, cert in people:
        out += [
            f"  - id: {person.id}\n",
            f"    name: {person.name}\n",
            f"    title: {person.title}\n",
            f"    meanings: [{', '.join(person.meanings)}]\n",
            "    status: active\n",
            f"    fingerprint: \"{cert_fingerprint(cert)}\"\n",
            "    certificate: |\n",
            _indent(_pem(cert), 6),
        ]
    return "".join(out)


def revocations_text() -> str:
    """An empty revocation list with its format header."""
    return REVOCATIONS_HEADER + f"format: {REVOCATIONS_FORMAT}\nrevocations: []\n"


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def write_demo_keys(directory: Path, *, fresh: bool = False) -> DemoKeys:
    """Write ca.pem, <signer>.p12 (passphrase-protected), passphrases.txt, signatories.yaml, revocations.yaml."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValgenError(f"cannot create {directory}: {exc.strerror}", fix="choose a writable directory") from None
    ca_key, ca_cert = _ca(fresh)
    ca_pem = directory / "ca.pem"
    _write(ca_pem, _pem(ca_cert).encode())
    people: list[tuple[DemoSigner, x509.Certificate]] = []
    keys: dict[str, Path] = {}
    passphrases: dict[str, str] = {}
    for person in DEMO_SIGNERS:
        key, cert = _signer_cert(person, ca_key, ca_cert, fresh)
        passphrase = secrets.token_urlsafe(12) if fresh else person.passphrase
        blob = pkcs12.serialize_key_and_certificates(
            person.id.encode(), key, cert, [ca_cert], serialization.BestAvailableEncryption(passphrase.encode()))
        path = directory / f"{person.id}.p12"
        _write(path, blob, 0o600)  # private key material: owner-only
        keys[person.id] = path
        passphrases[person.id] = passphrase
        people.append((person, cert))
    lines = [f"# {DEMO_MARK}: demo passphrases, for demonstrations and tests only.\n"]
    lines += [f"{sid}: {pw}\n" for sid, pw in passphrases.items()]
    _write(directory / "passphrases.txt", "".join(lines).encode(), 0o600)
    signatories = directory / "signatories.yaml"
    _write(signatories, signatories_text(ca_cert, people).encode())
    revocations = directory / "revocations.yaml"
    _write(revocations, revocations_text().encode())
    return DemoKeys(directory=directory, ca_pem=ca_pem, signatories=signatories, revocations=revocations,
                    keys=keys, passphrases=passphrases)
