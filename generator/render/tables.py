"""The traceability matrix as CSV and XLSX (openpyxl), one row per matrix row, every cell plain text.

Both files carry exactly the binder's matrix (no recomputation) and are written
reproducibly: fixed column order, no timestamps in the XLSX document properties
other than the binder's pinned generation time.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from generator.binder.model import Binder, MatrixRow

__all__ = ["MATRIX_COLUMNS", "matrix_rows", "write_matrix_csv", "write_matrix_xlsx"]

MATRIX_COLUMNS = (
    "clause", "clause_excluded", "urs", "urs_title", "fs", "ds", "sop", "risks", "cases", "case_results",
    "result", "deviations", "evidence", "gaps",
)


def _row(r: MatrixRow) -> list[str]:
    return [
        r.clause or "",
        r.clause_excluded or "",
        r.urs or "",
        r.urs_title,
        " ".join(r.fs),
        " ".join(r.ds),
        " ".join(r.sops),
        " ".join(f"{k.id}(class {k.risk_class}, {k.priority})" for k in r.risks),
        " ".join(c for c, _ in r.cases),
        " ".join(f"{c}={o.value}" for c, o in r.cases),
        r.result.value if r.result else "",
        " ".join(r.deviations),
        " ".join(r.evidence),
        "; ".join(r.gaps),
    ]


def matrix_rows(binder: Binder) -> list[list[str]]:
    return [_row(r) for r in binder.matrix]


def write_matrix_csv(binder: Binder, path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MATRIX_COLUMNS)
    writer.writerows(matrix_rows(binder))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def _normalize_zip(data: bytes, pinned: str) -> bytes:
    """Rewrite a zip with fixed member times and the pinned modification time (openpyxl stamps
    the save time into docProps/core.xml), so the XLSX bytes do not depend on the clock."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + pinned.encode() + rb"\g<2>", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def write_matrix_xlsx(binder: Binder, path: Path, widths: Sequence[int] | None = None) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "Traceability matrix"
    ws.append(list(MATRIX_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="14365D")
    fills = {"passed": "DFF1E5", "failed": "F4C7C3", "error": "E8D2B0", "not run": "FFFFFF"}
    result_col = MATRIX_COLUMNS.index("result") + 1
    for values in matrix_rows(binder):
        ws.append(values)
        result = values[result_col - 1]
        if result in fills:
            ws.cell(row=ws.max_row, column=result_col).fill = PatternFill("solid", fgColor=fills[result])
    for idx, width in enumerate(widths or (14, 10, 10, 36, 14, 14, 10, 26, 26, 36, 10, 12, 50, 40), start=1):
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    cov = wb.create_sheet("Coverage")
    cov.append(["level", "title", "covered", "total", "percent", "gaps"])
    for c in binder.coverage:
        cov.append([c.level, c.title, c.covered, c.total, round(c.percent, 1), "; ".join(f"{g.item}: {g.reason}" for g in c.gaps)])
    pinned = datetime.strptime(binder.generated, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).replace(tzinfo=None)
    wb.properties.created = pinned
    wb.properties.modified = pinned
    wb.properties.creator = "valgen"
    wb.properties.title = f"{binder.doc_id} traceability matrix"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_normalize_zip(buffer.getvalue(), binder.generated))
    return path
