"""Secret redaction of evidence: keys, tokens, signatures and passphrases never reach an evidence file."""

from __future__ import annotations

import datetime as dt
import json

from generator.qualify.redact import REDACTED, redact, redact_text


def test_aws_response_secrets_are_redacted_and_structure_kept() -> None:
    response = {
        "Credentials": {"AccessKeyId": "ASIAABCDEFGHIJKLMNOP", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCY",
                        "SessionToken": "IQoJb3JpZ2luX2VjEAMPLETOKEN", "Expiration": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)},
        "AssumedRoleUser": {"Arn": "arn:aws:sts::123456789012:assumed-role/auditor/alice"},
        "ResponseMetadata": {"HTTPHeaders": {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAABCDEFGHIJKLMNOP/20261128"}},
        "Body": b"\x00\x01",
        "passphrase": "demo-qa-passphrase",
        "NextToken": "page-2",
    }
    clean = redact(response)
    text = json.dumps(clean)
    for secret in ("ASIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI", "IQoJb3JpZ2luX2VjEAMPLETOKEN", "AKIAABCDEFGHIJKLMNOP",
                   "demo-qa-passphrase"):
        assert secret not in text
    assert clean["Credentials"]["AccessKeyId"] == REDACTED
    assert clean["Credentials"]["Expiration"] == "2030-01-01T00:00:00Z"  # times stay, in UTC with Z
    assert clean["AssumedRoleUser"]["Arn"].endswith("auditor/alice")  # identities are evidence, not secrets
    assert clean["NextToken"] == "page-2"
    assert clean["Body"] == "base64:AAE="


def test_secrets_inside_free_text_are_redacted() -> None:
    url = ("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAABCDEFGHIJKLMNOP%2F1"
           "&X-Amz-Signature=0123456789abcdef0123456789abcdef&X-Amz-Security-Token=FQoGZXIvYXdz")
    out = redact_text(url + " passphrase=hunter2 Signature=fedcba9876543210fedcba")
    for secret in ("AKIAABCDEFGHIJKLMNOP", "0123456789abcdef0123", "FQoGZXIvYXdz", "hunter2", "fedcba9876543210"):
        assert secret not in out
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in out
