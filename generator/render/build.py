"""`valgen build`: content + runs -> binder PDF/A-3b, HTML site, matrix CSV/XLSX, manifest and SHA256SUMS.

Output layout (``-o DIR``, default ``build/``)::

    binder.pdf               the binder, with every attachment embedded
    traceability-matrix.csv  the matrix
    traceability-matrix.xlsx
    html/                    the Sphinx site
    manifest.json            commit, pinned time, SHA-256 of every input file and attachment
    content/..., runs/...    copies of the attachments, so SHA256SUMS can be checked here
    SHA256SUMS               `sha256sum -c` format: every attachment, manifest.json and the outputs

Reproducible: the generation time is pinned (SOURCE_DATE_EPOCH, else the content's
git commit time, else 1970-01-01), so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from generator.binder import Binder, RunBundle, build_binder, load_run_dir
from generator.errors import ValgenError
from generator.model import Model
from generator.render.pdf import AttachmentSpec, PdfResult, render_pdf
from generator.render.tables import write_matrix_csv, write_matrix_xlsx

__all__ = ["BuildResult", "build", "build_inputs", "git_commit", "pinned_time"]

ProgressFn = Callable[[str, int, int], None]

MIME = {
    ".json": "application/json", ".xml": "application/xml", ".html": "text/html", ".yaml": "application/yaml",
    ".yml": "application/yaml", ".txt": "text/plain", ".csv": "text/csv", ".png": "image/png", ".pdf": "application/pdf",
    ".log": "text/plain",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildResult:
    """What `build` wrote and how long each part took."""

    binder: Binder
    pdf: PdfResult
    csv: Path
    xlsx: Path
    html: Path | None
    manifest: Path
    sums: Path
    timings: dict[str, float]


def git_commit(root: Path) -> tuple[str, int | None]:
    """The content's git commit and its commit time (epoch seconds), or ("", None) outside git."""
    try:
        out = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%H %ct"], capture_output=True,
                             text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return "", None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 2:
        return "", None
    return parts[0], int(parts[1])


def pinned_time(commit_time: int | None) -> str:
    """SOURCE_DATE_EPOCH if set, else the commit time, else the epoch; UTC ISO 8601 with Z."""
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env:
        try:
            epoch = int(env)
        except ValueError:
            raise ValgenError(f"SOURCE_DATE_EPOCH={env!r} is not an integer",
                              fix="set SOURCE_DATE_EPOCH to seconds since 1970-01-01 UTC, or unset it") from None
    else:
        epoch = commit_time or 0
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mime(name: str) -> str:
    if name.endswith("SHA256SUMS"):
        return "text/plain"
    return MIME.get(Path(name).suffix.lower(), "application/octet-stream")


def build_inputs(root: Path, runs: Sequence[RunBundle], content: Sequence[Path]) -> list[tuple[str, Path, str]]:
    """(attachment name, file, relationship) for every input: content files and every run file."""
    found: list[tuple[str, Path, str]] = []
    resolved_root = root.resolve()
    for path in content:
        try:
            rel = path.resolve().relative_to(resolved_root).as_posix()
        except ValueError:
            rel = path.name
        found.append((f"content/{rel}", path, "Source"))
    for bundle in runs:
        for f in bundle.files:
            found.append((f"runs/{bundle.run.run_id}/{f.path}", bundle.directory / f.path, "Data"))
    names = [n for n, _, _ in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValgenError(f"two inputs would be embedded under the same name: {', '.join(dupes[:5])}",
                          fix="pass each run directory once; run IDs must be unique")
    return sorted(found)


def build(
    root: Path,
    run_dirs: Sequence[Path],
    out_dir: Path,
    *,
    model: Model | None = None,
    jobs: int | None = None,
    progress: ProgressFn | None = None,
    html: bool = True,
) -> BuildResult:
    """Render everything for the content under `root` and the given run directories into `out_dir`."""
    from generator.load import content_files, load_model

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    notify = progress or (lambda _s, _d, _t: None)
    content = content_files(root)
    model = model if model is not None else load_model(root)
    runs = [load_run_dir(d) for d in run_dirs]
    ids = [b.run.run_id for b in runs]
    if len(set(ids)) != len(ids):
        raise ValgenError("the same run was given twice", fix="pass each --run directory once")
    commit, commit_time = git_commit(root)
    generated = pinned_time(commit_time)
    from generator.esign.approve import approval_verifier

    # documents approved by signature count as approved only when the signature and signer hold
    binder = build_binder(model, runs, commit=commit, generated=generated, approval_check=approval_verifier(root))
    timings["binder"] = time.perf_counter() - t0
    notify("binder", 1, 1)

    inputs = build_inputs(root, runs, content)
    entries = []
    attachments: list[AttachmentSpec] = []
    for name, path, relationship in inputs:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        entries.append((name, digest, len(data)))
        attachments.append(AttachmentSpec(name=name, data=data, mime=_mime(name), relationship=relationship,
                                          description=f"SHA-256 {digest}"))
    manifest = {
        "binder": binder.doc_id,
        "version": binder.version,
        "commit": commit,
        "generated": generated,
        "release": binder.vsr.release,
        "files": [{"name": n, "sha256": d, "size": s} for n, d, s in entries],
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    sums_lines = "".join(f"{d}  {n}\n" for n, d, _ in entries)
    attachments.append(AttachmentSpec(name="manifest.json", data=manifest_bytes, mime="application/json",
                                      relationship="Supplement", description="binder manifest"))
    attachments.append(AttachmentSpec(name="SHA256SUMS", data=sums_lines.encode(), mime="text/plain",
                                      relationship="Supplement", description="SHA-256 of every input file"))

    out_dir.mkdir(parents=True, exist_ok=True)
    input_bytes = [(spec.name, spec.data) for spec in attachments[:len(inputs)]]

    def copy_inputs() -> None:
        """Copies of the attachments beside the PDF, so `sha256sum -c SHA256SUMS` holds in out_dir
        (the bytes that were hashed and embedded, not a second read of the files)."""
        for top in ("content", "runs"):
            shutil.rmtree(out_dir / top, ignore_errors=True)
        for name, data in input_bytes:
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    t1 = time.perf_counter()
    csv_path = out_dir / "traceability-matrix.csv"
    xlsx_path = out_dir / "traceability-matrix.xlsx"
    # the matrix tables are written by the layout workers beside the PDF parts (files are their only effect)
    pdf = render_pdf(binder, out_dir / "binder.pdf", attachments, jobs=jobs, progress=notify,
                     side_jobs=(partial(write_matrix_csv, binder, csv_path), partial(write_matrix_xlsx, binder, xlsx_path),
                                copy_inputs))
    timings["pdf"] = time.perf_counter() - t1
    notify("tables", 1, 1)

    html_dir: Path | None = None
    if html:
        from generator.render.site import build_site

        t3 = time.perf_counter()
        html_dir = build_site(binder, out_dir / "html", pdf_name="../binder.pdf")
        timings["html"] = time.perf_counter() - t3
        notify("html", 1, 1)

    manifest_path = out_dir / "manifest.json"
    manifest_path.write_bytes(manifest_bytes)
    outputs = [pdf.path, csv_path, xlsx_path, manifest_path]
    lines = sums_lines + "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out_dir).as_posix()}\n" for p in outputs
    )
    sums = out_dir / "SHA256SUMS"
    sums.write_text(lines, encoding="utf-8")
    timings["total"] = time.perf_counter() - t0
    return BuildResult(binder=binder, pdf=pdf, csv=csv_path, xlsx=xlsx_path, html=html_dir, manifest=manifest_path,
                       sums=sums, timings=timings)
