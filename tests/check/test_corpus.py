"""The broken-input corpus: each folder is one input; the CLI's exact output and exit code are pinned.

Each case folder holds the input files, an optional `args` file (default: `check .`),
and `expected.out` (stdout then stderr, as the user sees them) with `expected.exit`.
Regenerate after an intended change with VALGEN_REGEN=1 and review the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
EXPECTED = {"expected.out", "expected.exit", "args", "README"}


def _prepare(case: str, workdir: Path) -> None:
    shutil.copytree(CORPUS / case, workdir, ignore=shutil.ignore_patterns(*EXPECTED))
    if case == "huge-file":
        # 50 MB: generated here rather than committed; refused before it is read.
        with (workdir / "urs.yaml").open("wb") as handle:
            handle.write(b"# padding\n" * (5 * 1024 * 1024))


def _run(case: str, workdir: Path) -> tuple[str, int]:
    args_file = CORPUS / case / "args"
    args = args_file.read_text().split() if args_file.exists() else ["check", "."]
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "generator", *args], cwd=workdir, capture_output=True,
                          text=True, env=env, timeout=60)
    return proc.stdout + proc.stderr, proc.returncode


def test_corpus_has_at_least_30_broken_inputs() -> None:
    broken = [c for c in CASES if (CORPUS / c / "expected.exit").exists()
              and (CORPUS / c / "expected.exit").read_text().strip() != "0"]
    assert len(broken) >= 30


@pytest.mark.parametrize("case", CASES)
def test_case_output_and_exit_code(case: str, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    _prepare(case, workdir)
    output, code = _run(case, workdir)
    assert "Traceback" not in output, output
    if os.environ.get("VALGEN_REGEN"):
        (CORPUS / case / "expected.out").write_text(output)
        (CORPUS / case / "expected.exit").write_text(f"{code}\n")
    assert output == (CORPUS / case / "expected.out").read_text()
    assert code == int((CORPUS / case / "expected.exit").read_text())
