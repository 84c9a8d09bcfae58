"""`valgen build` outputs: reproducible bytes, manifest and SHA256SUMS, attachments, PDF/A-3b, signature fields."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest

from generator.cli import main
from generator.render.build import build

SNAPSHOTS = Path(__file__).parent / "snapshots"


def test_two_builds_are_byte_identical(built: Path, corpus: tuple[Path, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root, run = corpus
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    again = tmp_path / "again"
    build(root, [run], again, jobs=2, html=False)
    for name in ("binder.pdf", "traceability-matrix.csv", "traceability-matrix.xlsx", "manifest.json", "SHA256SUMS"):
        assert (built / name).read_bytes() == (again / name).read_bytes(), name


def test_sha256sums_check_holds_and_covers_every_attachment(built: Path) -> None:
    result = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=built, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = {line.split("  ", 1)[1] for line in (built / "SHA256SUMS").read_text().splitlines()}
    assert {"binder.pdf", "traceability-matrix.csv", "traceability-matrix.xlsx", "manifest.json"} <= listed
    assert "runs/20260101T000000Z-bench/run.json" in listed
    assert any(name.startswith("content/") and name.endswith(".yaml") for name in listed)


def test_tampered_copy_fails_the_check(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(built, copy, ignore=shutil.ignore_patterns("html"))
    (copy / "runs/20260101T000000Z-bench/run.json").write_text("{}", encoding="utf-8")
    result = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=copy, capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "run.json: FAILED" in result.stdout


def test_attachments_and_manifest_are_embedded(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    with pikepdf.open(built / "binder.pdf") as pdf:
        names = set(pdf.attachments.keys())
        expected = {f["name"] for f in manifest["files"]} | {"manifest.json", "SHA256SUMS"}
        assert names == expected
        for entry in manifest["files"]:
            data = pdf.attachments[entry["name"]].get_file().read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert pdf.attachments["manifest.json"].get_file().read_bytes() == (built / "manifest.json").read_bytes()
        embedded_sums = pdf.attachments["SHA256SUMS"].get_file().read_bytes().decode()
        assert embedded_sums == "".join(f"{f['sha256']}  {f['name']}\n" for f in manifest["files"])
        # PDF/A-3: every embedded file is listed in /AF with a relationship
        assert len(pdf.Root.AF) == len(expected)
        assert all("/AFRelationship" in spec for spec in pdf.Root.AF)
    kinds = {name.rsplit("/", 1)[-1] for name in names}
    assert {"run.json", "junit.xml", "report.html", "step-1.json"} <= kinds


def test_pdfa3b_identification_fonts_and_links(built: Path) -> None:
    with pikepdf.open(built / "binder.pdf") as pdf:
        xmp = bytes(pdf.Root.Metadata.read_bytes())
        assert b"<pdfaid:part>3</pdfaid:part>" in xmp and b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"
        assert len(pdf.open_outline().root) >= 10  # bookmarks per section
        links = 0
        for page in pdf.pages:
            for annot in page.obj.get("/Annots", []):
                assert annot.F == 4  # printable (PDF/A)
                if annot.Subtype == "/Link":
                    links += 1
                    assert "/Dest" in annot and "/A" not in annot  # every vg: link resolved in-document
        assert links > 20
    fonts = subprocess.run(["pdffonts", str(built / "binder.pdf")], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(re.search(r"\byes\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", r) for r in rows), fonts


def test_page_x_of_y_and_toc(built: Path) -> None:
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(built / "binder.pdf")],
                                                              capture_output=True, text=True, check=True).stdout)[1])
    text = subprocess.run(["pdftotext", "-layout", str(built / "binder.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")
    for number in (1, 2, pages):
        assert f"Page {number} of {pages}" in text[number - 1]
    toc = next(t for t in text if "Table of contents" in t)
    # the TOC's page number for the matrix is the page that starts it
    found = re.search(r"Traceability matrix\s*\.*\s*(\d+)", toc)
    assert found, toc
    assert "Traceability matrix" in text[int(found[1]) - 1]
    assert "DEMONSTRATION TARGET" in text[0]


def test_signature_fields_are_placed_on_the_signature_page(built: Path) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    with (built / "binder.pdf").open("rb") as fh:
        reader = PdfFileReader(fh)
        fields = {name: value for name, value, _ref in enumerate_sig_fields(reader)}
    assert set(fields) == {"sig-1-authored", "sig-2-reviewed", "sig-3-approved"}
    assert all(v is None for v in fields.values())  # unsigned
    text = subprocess.run(["pdftotext", str(built / "binder.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")
    with pikepdf.open(built / "binder.pdf") as pdf:
        for index, page in enumerate(pdf.pages):
            for annot in page.obj.get("/Annots", []):
                if annot.get("/FT") == "/Sig":
                    x0, y0, x1, y1 = (float(v) for v in annot.Rect)
                    assert 0 < x0 < x1 < float(page.MediaBox[2]) and 0 < y0 < y1 < float(page.MediaBox[3])
                    assert y1 - y0 > 50  # the 26 mm box, not a degenerate one
                    assert "Approval signatures" in text[index]


def test_matrix_csv_has_every_row(built: Path) -> None:
    with (built / "traceability-matrix.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["urs"] or r["clause"] for r in rows)
    assert any(r["case_results"] for r in rows)
    from openpyxl import load_workbook

    wb = load_workbook(built / "traceability-matrix.xlsx")
    assert wb["Traceability matrix"].max_row == len(rows) + 1


def test_manifest_snapshot(built: Path) -> None:
    """The manifest of a pinned build of the seeded corpus (set UPDATE_SNAPSHOTS=1 to refresh)."""
    import os

    got = (built / "manifest.json").read_text()
    snap = SNAPSHOTS / "manifest.json"
    if os.environ.get("UPDATE_SNAPSHOTS") or not snap.exists():
        snap.write_text(got)
    assert got == snap.read_text()


def test_cli_build_bad_run_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["build", "--path", str(tmp_path), "--run", str(tmp_path / "missing"), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "does not exist" in err and "fix:" in err and "Traceback" not in err
