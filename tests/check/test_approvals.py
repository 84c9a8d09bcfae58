"""`valgen check` verifies approvals: a real `valgen approve` passes; edits to the approval or the document are caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cli import main

CLEAN = Path(__file__).parent / "corpus" / "clean"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    assert main(["demo-keys", str(folder)]) == 0
    return folder


@pytest.fixture
def approved(keys: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(CLEAN, repo / "requirements")
    for name in ("signatories.yaml", "revocations.yaml"):
        shutil.copy(keys / name, repo / "requirements" / name)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("VALGEN_SIGNING_PASSPHRASE", "demo-reviewer-passphrase")
    assert main(["approve", "requirements/fs.yaml", "--signer", "demo-reviewer", "--meaning", "reviewed",
                 "--keys", str(keys), "--state", str(tmp_path / "state")]) == 0
    capsys.readouterr()
    return repo


def test_a_real_approval_passes(approved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "."]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_an_edited_approval_fails_its_signature(approved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fs = approved / "requirements" / "fs.yaml"
    fs.write_text(fs.read_text().replace('meaning: "reviewed"', 'meaning: "approved"'))
    assert main(["check", "."]) == 1
    out = capsys.readouterr().out
    assert "error[CHG003]" in out and "demo-reviewer" in out


def test_a_changed_document_makes_the_approval_stale(approved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fs = approved / "requirements" / "fs.yaml"
    fs.write_text(fs.read_text().replace("The bucket keeps every object version.", "The bucket keeps versions."))
    assert main(["check", "."]) == 1
    out = capsys.readouterr().out
    assert "warning[CHG002]" in out and "error[CHG003]" not in out
