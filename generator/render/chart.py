"""The VSR's at-a-glance chart, drawn by us as SVG: cases by outcome per stage and coverage per level.

Outcomes differ in fill colour and also in lightness and pattern (hatched error,
dashed outline for not run), and every segment carries its count, so the chart
still reads in grey print.
"""

from __future__ import annotations

from html import escape

from generator.binder.model import Binder

__all__ = ["vsr_chart_svg"]

_OUTCOMES = (
    ("passed", "Passed", "#6cbf84", "#125c2b"),
    ("failed", "Failed", "#a3241c", "#a3241c"),
    ("error", "Error", "url(#hatch)", "#6b3d00"),
    ("not_run", "Not run", "#ffffff", "#555555"),
)


def vsr_chart_svg(binder: Binder) -> str:
    """An inline SVG (no external resources, deterministic text) for the VSR."""
    width = 640
    label_w = 70
    bar_w = 430
    row_h = 22
    out: list[str] = []
    y = 18
    out.append(f'<text x="0" y="{y - 6}" class="t">Cases by latest outcome, per stage</text>')
    for count in binder.vsr.outcomes:
        out.append(f'<text x="0" y="{y + 14}" class="l">{escape(count.stage.upper())} ({count.total})</text>')
        x = float(label_w)
        total = count.total or 1
        values = {"passed": count.passed, "failed": count.failed, "error": count.error, "not_run": count.not_run}
        if count.total == 0:
            out.append(f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{row_h - 6}" fill="#f1f4f7" '
                       f'stroke="#a9b6c3" stroke-width="0.6"/>')
            out.append(f'<text x="{label_w + 4}" y="{y + 12}" class="v">no cases</text>')
        for key, _label, fill, stroke in _OUTCOMES:
            n = values[key]
            if not n:
                continue
            w = bar_w * n / total
            dash = ' stroke-dasharray="3,2"' if key == "not_run" else ""
            out.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row_h - 6}" fill="{fill}" '
                       f'stroke="{stroke}" stroke-width="0.8"{dash}/>')
            if w >= 18:
                colour = "#ffffff" if key in ("failed",) else "#1c232b"
                out.append(f'<text x="{x + w / 2:.2f}" y="{y + 12}" class="v" text-anchor="middle" '
                           f'fill="{colour}">{n}</text>')
            x += w
        y += row_h
    # legend
    lx = label_w
    for _key, label, fill, stroke in _OUTCOMES:
        dash = ' stroke-dasharray="3,2"' if label == "Not run" else ""
        out.append(f'<rect x="{lx}" y="{y}" width="10" height="10" fill="{fill}" stroke="{stroke}" '
                   f'stroke-width="0.8"{dash}/>')
        out.append(f'<text x="{lx + 14}" y="{y + 9}" class="v">{label}</text>')
        lx += 80
    y += 30
    out.append(f'<text x="0" y="{y - 6}" class="t">Coverage per level</text>')
    for cov in binder.coverage:
        pct = cov.percent
        w = bar_w * pct / 100.0
        out.append(f'<text x="0" y="{y + 12}" class="l">{escape(cov.level.upper())}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{row_h - 8}" fill="#ffffff" '
                   f'stroke="#a9b6c3" stroke-width="0.6"/>')
        fill = "#14365d" if cov.complete else "#a3241c"
        out.append(f'<rect x="{label_w}" y="{y}" width="{w:.2f}" height="{row_h - 8}" fill="{fill}"/>')
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 11}" class="v">{pct:.1f} % ({cov.covered}/{cov.total})'
                   f'{"" if cov.complete else " — gaps"}</text>')
        y += row_h - 2
    height = y + 4
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Cases by outcome and coverage per level">'
        '<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="5" height="5" fill="#e8d2b0"/>'
        '<line x1="0" y1="0" x2="0" y2="5" stroke="#6b3d00" stroke-width="2"/></pattern></defs>'
        '<style>.t{font-family:FreeSans;font-weight:bold;font-size:11px;fill:#14365d}'
        '.l{font-family:FreeSans;font-weight:bold;font-size:10px;fill:#1c232b}'
        '.v{font-family:FreeSans;font-size:9px;fill:#1c232b}</style>'
        + "".join(out) + "</svg>"
    )
