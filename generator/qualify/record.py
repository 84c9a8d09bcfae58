"""The run directory on disk: run.json, evidence files, SHA256SUMS, written so a killed run is never 'complete'.

Write order (the commit point is the last rename):
1. `run.json` with ``complete: false`` as soon as the run starts;
2. evidence files as results arrive (only the controller process writes);
3. JUnit XML and the HTML report (written by pytest and pytest-html);
4. the final run.json bytes are prepared in memory; `SHA256SUMS` (covering every
   file, the final run.json included) is written via temp file + rename;
5. the final run.json is written to a temp file and renamed over the first one.
A run killed before step 5 leaves ``complete: false`` on disk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from generator.digest import sha256_file
from generator.errors import ValgenError

__all__ = ["SUMS_NAME", "RunDirectory", "sha256_file", "verify_sums"]

SUMS_NAME = "SHA256SUMS"
RUN_JSON = "run.json"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder, fsync, rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()


class RunDirectory:
    """One run's folder, ``<out>/<UTC timestamp>-<short id>/``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, out: Path, now: dt.datetime | None = None) -> RunDirectory:
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValgenError(f"cannot create the runs folder {out}: {exc.strerror}", fix="choose a writable folder with -o") from exc
        for _ in range(20):
            path = out / f"{stamp}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise ValgenError(f"cannot create the run folder {path}: {exc.strerror}", fix="choose a writable folder with -o") from exc
            return cls(path)
        raise ValgenError(f"cannot find a free run folder name under {out}")

    def write_run(self, data: dict[str, Any]) -> None:
        """Write run.json atomically (used for the initial, incomplete record)."""
        write_atomic(self.path / RUN_JSON, _json_bytes(data))

    def write_evidence(self, case_id: str, name: str, content: str) -> str:
        """Write one evidence file; returns its path relative to the run folder."""
        rel = Path("evidence") / _SAFE.sub("_", case_id) / _SAFE.sub("_", name)
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, content.encode())
        return rel.as_posix()

    def finalize(self, data: dict[str, Any]) -> None:
        """Write SHA256SUMS over every file (with the final run.json), then commit run.json."""
        final = _json_bytes(data)
        lines: list[str] = []
        for file in sorted(p for p in self.path.rglob("*") if p.is_file()):
            rel = file.relative_to(self.path).as_posix()
            if rel in (SUMS_NAME, RUN_JSON) or file.name.startswith("."):
                continue
            lines.append(f"{sha256_file(file)}  {rel}")
        lines.append(f"{hashlib.sha256(final).hexdigest()}  {RUN_JSON}")
        lines.sort(key=lambda line: line.split("  ", 1)[1])
        write_atomic(self.path / SUMS_NAME, ("\n".join(lines) + "\n").encode())
        write_atomic(self.path / RUN_JSON, final)


def verify_sums(run_dir: Path) -> list[str]:
    """Problems found checking SHA256SUMS in `run_dir` (empty when every file matches and none is unlisted)."""
    sums = run_dir / SUMS_NAME
    if not sums.is_file():
        return [f"{sums}: missing"]
    problems: list[str] = []
    listed: set[str] = set()
    for number, line in enumerate(sums.read_text().splitlines(), start=1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            problems.append(f"{sums}:{number}: not a sha256sum line")
            continue
        listed.add(rel)
        file = run_dir / rel
        if not file.is_file():
            problems.append(f"{rel}: listed but missing")
        elif sha256_file(file) != digest:
            problems.append(f"{rel}: changed (SHA-256 differs)")
    for file in run_dir.rglob("*"):
        rel = file.relative_to(run_dir).as_posix()
        if file.is_file() and rel != SUMS_NAME and rel not in listed:
            problems.append(f"{rel}: not listed in {SUMS_NAME}")
    return problems
