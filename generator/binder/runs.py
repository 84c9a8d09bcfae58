"""Reading run directories for the binder: run.json as a `Run` plus every file's SHA-256.

A run directory (written by `generator.qualify`) holds ``run.json``, the evidence
files, ``junit.xml``, ``report.html`` and ``SHA256SUMS``. The binder embeds all of
them as attachments and lists their hashes in its manifest, so this module hashes
every regular file it finds, in a stable order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from generator.digest import sha256_file
from generator.errors import ValgenError
from generator.model.run import Run, run_from_dict

__all__ = ["RunBundle", "RunFile", "load_run_dir", "sha256_file"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFile:
    """One file of a run directory, relative to it, with its SHA-256 and size."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunBundle:
    """A run record with the directory it came from and every file in it."""

    run: Run
    directory: Path
    files: tuple[RunFile, ...]

    def file(self, relpath: str) -> RunFile | None:
        return next((f for f in self.files if f.path == relpath), None)


def load_run_dir(directory: Path) -> RunBundle:
    """Read one run directory; raise ValgenError (exit 2) naming the file when it cannot be used."""
    run_json = directory / "run.json"
    if not directory.is_dir():
        raise ValgenError(f"run directory {directory} does not exist", fix="pass a directory written by 'valgen qualify'")
    if not run_json.is_file():
        raise ValgenError(
            f"{directory} has no run.json",
            fix="pass a run directory written by 'valgen qualify' (runs/<timestamp>-<id>/)",
        )
    try:
        data = json.loads(run_json.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValgenError(f"cannot read {run_json}: {exc}", fix="check the file's permissions and encoding") from None
    except json.JSONDecodeError as exc:
        raise ValgenError(
            f"run.json is not valid JSON: {exc.msg}",
            where=f"{run_json}:{exc.lineno}:{exc.colno}",
            fix="restore run.json from the run's original output; a hand-edited run record is not evidence",
        ) from None
    if not isinstance(data, dict):
        raise ValgenError("run.json does not hold a JSON object", where=str(run_json), fix="pass a run record")
    try:
        run = run_from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValgenError(
            f"run.json is not a run record of a known schema: {type(exc).__name__}: {exc}",
            where=str(run_json),
            fix="pass a run directory written by 'valgen qualify' of this version",
        ) from None
    files = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        files.append(RunFile(path=rel, sha256=sha256_file(path), size=path.stat().st_size))
    return RunBundle(run=run, directory=directory, files=tuple(files))
