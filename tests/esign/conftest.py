"""Shared fixtures for the e-signature tests: demo keys, test binders, a signing helper."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from generator.esign.fixture import build_test_binder
from generator.esign.identity import Lockout, PassphraseSource
from generator.esign.keys import DemoKeys, write_demo_keys
from generator.esign.sign import SignResult, sign_binder
from generator.esign.signatories import Signatories, load_signatories

ORDER = (("demo-author", "authored"), ("demo-reviewer", "reviewed"), ("demo-qa", "approved"))


@pytest.fixture(scope="session", autouse=True)
def _font_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The signature appearance caches its font subset under XDG_CACHE_HOME: keep that inside the test's tmp."""
    import os

    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def demo_keys(tmp_path_factory: pytest.TempPathFactory) -> DemoKeys:
    return write_demo_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> DemoKeys:
    """A second, unrelated CA with its own signers (fresh random keys)."""
    return write_demo_keys(tmp_path_factory.mktemp("other-keys"), fresh=True)


@pytest.fixture(scope="session")
def signatories(demo_keys: DemoKeys) -> Signatories:
    return load_signatories(demo_keys.signatories)


def revoked_people(folder: Path, demo_keys: DemoKeys, revoked_at: str, reason: str) -> Signatories:
    """The demo signatories in `folder` with demo-author revoked at `revoked_at` (rewritten on each call)."""
    folder.mkdir(exist_ok=True)
    shutil.copy(demo_keys.signatories, folder / "signatories.yaml")
    (folder / "revocations.yaml").write_text(
        "format: valgen-revocations/1\nrevocations:\n  - signer: demo-author\n"
        f"    revoked_at: \"{revoked_at}\"\n    reason: {reason}\n")
    return load_signatories(folder / "signatories.yaml")


def env_source(passphrase: str) -> PassphraseSource:
    return PassphraseSource("environment variable VALGEN_SIGNING_PASSPHRASE (unattended run)", lambda: passphrase,
                            False)


SignFn = Callable[..., SignResult]


@pytest.fixture
def sign(demo_keys: DemoKeys, signatories: Signatories, tmp_path: Path) -> SignFn:
    def _sign(binder: Path, signer: str, meaning: str, *, people: Signatories | None = None,
              keys: DemoKeys | None = None, passphrase: str | None = None, now: datetime | None = None) -> SignResult:
        k = keys or demo_keys
        return sign_binder(binder, people or signatories, signer, meaning, key_file=k.keys[signer],
                           source=env_source(passphrase if passphrase is not None else k.passphrases[signer]),
                           lockout=Lockout(tmp_path / "state"), now=now)
    return _sign


@pytest.fixture(scope="session")
def signed_binder(tmp_path_factory: pytest.TempPathFactory, demo_keys: DemoKeys, signatories: Signatories) -> Path:
    """A test binder signed authored -> reviewed -> approved by the three demo signers (built once)."""
    folder = tmp_path_factory.mktemp("signed")
    binder = build_test_binder(folder / "binder.pdf", pages=4)
    for signer, meaning in ORDER:
        sign_binder(binder, signatories, signer, meaning, key_file=demo_keys.keys[signer],
                    source=env_source(demo_keys.passphrases[signer]), lockout=Lockout(folder / "state"))
    return binder


@pytest.fixture
def signed_copy(signed_binder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "binder.pdf"
    shutil.copy(signed_binder, target)
    return target
