"""Demo keys and the signatories / revocations formats."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from generator.errors import ContentError
from generator.esign.keys import DEMO_MARK, DemoKeys, write_demo_keys
from generator.esign.signatories import cert_fingerprint, load_signatories

REPO = Path(__file__).resolve().parents[2]


def test_demo_keys_make_a_ca_three_signers_and_a_signatories_file(demo_keys: DemoKeys) -> None:
    people = load_signatories(demo_keys.signatories)
    assert [s.id for s in people.signers] == ["demo-author", "demo-reviewer", "demo-qa"]
    assert [s.meanings for s in people.signers] == [("authored",), ("reviewed",), ("reviewed", "approved", "released")]
    ca = x509.load_pem_x509_certificate(demo_keys.ca_pem.read_bytes())
    assert people.trust_root == ca
    for signer in people.signers:
        key, cert, chain = pkcs12.load_key_and_certificates(
            demo_keys.keys[signer.id].read_bytes(), demo_keys.passphrases[signer.id].encode())
        assert cert is not None and key is not None
        assert cert_fingerprint(cert) == signer.fingerprint
        assert DEMO_MARK in cert.subject.rfc4514_string()
        assert cert.issuer == ca.subject and chain == [ca]
        assert signer.name in cert.subject.rfc4514_string()
    assert DEMO_MARK in ca.subject.rfc4514_string()
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(demo_keys.keys["demo-qa"].read_bytes(), b"wrong")


def test_repository_signatories_are_the_demo_keys(demo_keys: DemoKeys) -> None:
    """The fixed demo keys reproduce the fingerprints committed in requirements/signatories.yaml."""
    committed = load_signatories(REPO / "requirements" / "signatories.yaml")
    fresh = load_signatories(demo_keys.signatories)
    assert [s.fingerprint for s in committed.signers] == [s.fingerprint for s in fresh.signers]
    assert committed.trust_root == fresh.trust_root
    assert committed.revocations == ()


def test_fresh_keys_differ(other_keys: DemoKeys, demo_keys: DemoKeys) -> None:
    a = load_signatories(demo_keys.signatories)
    b = load_signatories(other_keys.signatories)
    assert not {s.fingerprint for s in a.signers} & {s.fingerprint for s in b.signers}


def test_signatories_errors_name_file_line_column(tmp_path: Path, demo_keys: DemoKeys) -> None:
    text = demo_keys.signatories.read_text()
    broken = text.replace("meanings: [authored]", "meanings: [authored, signed]", 1)
    broken = broken.replace("- id: demo-reviewer", "- id: Demo Reviewer", 1)
    broken = broken.replace("status: active", "status: left", 1)
    path = tmp_path / "signatories.yaml"
    path.write_text(broken)
    with pytest.raises(ContentError) as caught:
        load_signatories(path)
    message = caught.value.message
    lines = broken.splitlines()
    meaning_line = next(i for i, line in enumerate(lines, 1) if "signed]" in line)
    id_line = next(i for i, line in enumerate(lines, 1) if "Demo Reviewer" in line)
    assert f"{path}:{meaning_line}:26: error[SIG001] unknown meaning 'signed'" in message
    assert f"{path}:{id_line}:9: error[SIG001] signer ID 'Demo Reviewer' is not valid" in message
    status_line = next(i for i, line in enumerate(lines, 1) if "status: left" in line)
    assert f"{path}:{status_line}:13: error[SIG001] unknown status 'left'" in message


def test_fingerprint_must_match_the_certificate(tmp_path: Path, demo_keys: DemoKeys) -> None:
    people = load_signatories(demo_keys.signatories)
    text = demo_keys.signatories.read_text().replace(people.signers[0].fingerprint, "sha256:" + "0" * 64)
    path = tmp_path / "signatories.yaml"
    path.write_text(text)
    with pytest.raises(ContentError, match=r"the certificate's SHA-256 is sha256:[0-9a-f]{64}, not sha256:0{64}"):
        load_signatories(path)


def test_revocations_are_validated(tmp_path: Path, demo_keys: DemoKeys) -> None:
    keys = write_demo_keys(tmp_path)
    keys.revocations.write_text("format: valgen-revocations/1\nrevocations:\n"
                                "  - signer: nobody\n    revoked_at: 2026-01-01\n    reason: lost\n")
    with pytest.raises(ContentError) as caught:
        load_signatories(keys.signatories)
    assert f"{keys.revocations}:3:13: error[SIG001] signer 'nobody' is not in the signatories file" in caught.value.message
    assert f"{keys.revocations}:4:17: error[SIG001] '2026-01-01' is not a UTC time" in caught.value.message


def test_one_certificate_cannot_belong_to_two_signers(tmp_path: Path, demo_keys: DemoKeys) -> None:
    text = demo_keys.signatories.read_text()
    author = text[text.index("  - id: demo-author"):text.index("  - id: demo-reviewer")]
    twin = author.replace("id: demo-author", "id: demo-author-2")
    path = tmp_path / "signatories.yaml"
    path.write_text(text + twin)
    with pytest.raises(ContentError, match=r"this certificate is already registered for signer 'demo-author'"):
        load_signatories(path)
