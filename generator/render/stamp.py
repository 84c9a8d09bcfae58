"""Running header and footer ("Page X of Y") stamped onto the assembled pages, without re-layout.

Laying out one overlay page per binder page in WeasyPrint costs about as much as a
content page, so instead every distinct piece of header/footer text (the binder's
name, each section title, the footer line, "Page", "of" and the digits) is laid out
once, each on its own small sample page. Each piece becomes a Form XObject that
shows its sample page clipped to the piece's box (the box comes from WeasyPrint's layout);
each binder page then places the pieces it needs with a translation. The fonts
are WeasyPrint's embedded subsets, so the result stays PDF/A; the bytes depend
only on the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = ["HeadFoot", "sample_html", "stamp_pages"]

MM = 72.0 / 25.4
PAGE_W, PAGE_H = 595.276, 841.89
LEFT, RIGHT = 15 * MM, PAGE_W - 15 * MM
HEAD_RULE_Y = PAGE_H - 15.5 * MM  # rule under the header
FOOT_RULE_Y = 12.5 * MM  # rule over the footer
NAVY = "0.078 0.212 0.365"
GREY = "0.663 0.714 0.765"


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadFoot:
    """The texts of the running header and footer."""

    head_left: str  # e.g. "VG-BINDER · Validation Binder"
    head_left_bold: str  # the bold leading part of head_left ("VG-BINDER")
    foot_left: str  # "Version 1.0 · Not released"
    foot_center: str  # "Generated … UTC" or the demonstration notice
    foot_center_warn: bool
    sections: tuple[str, ...]  # distinct section labels, in order


def _token_ids(sections: Sequence[str]) -> dict[str, str]:
    ids = {"hl": "", "fl": "", "fc": "", "page": "Page ", "of": " of "}
    ids.update({f"d{d}": str(d) for d in range(10)})
    ids.update({f"s{i}": label for i, label in enumerate(sections)})
    return ids


def sample_html(hf: HeadFoot) -> tuple[str, tuple[str, ...]]:
    """One page holding every piece of header/footer text, each in an element with an id."""
    rest = hf.head_left[len(hf.head_left_bold):]
    # one piece per page, so each piece's XObject holds only its own text (text extraction stays clean)
    pieces = [
        f'<span id="tok-hl"><b>{escape(hf.head_left_bold)}</b>{escape(rest)}</span>',
        f'<span id="tok-fl">{escape(hf.foot_left)}</span>',
        f'<span id="tok-fc" class="{"warn" if hf.foot_center_warn else ""}">{escape(hf.foot_center)}</span>',
        '<b><span id="tok-page">Page&#160;</span></b>',
        '<b><span id="tok-of">&#160;of&#160;</span></b>',
        *(f'<b><span id="tok-d{d}">{d}</span></b>' for d in range(10)),
        *(f'<span id="tok-s{i}">{escape(label)}</span>' for i, label in enumerate(hf.sections)),
    ]
    lines = [f"<div>{piece}</div>" for piece in pieces]
    html = (
        "<!DOCTYPE html><html><head><style>"
        "@page { size: A4; margin: 10mm; } html { font-family: FreeSans, FreeSerif, sans-serif; font-size: 7.2pt;"
        " color: #3b4a5a; line-height: 1.25; } b { color: #14365d; } .warn { color: #8a5a00; font-weight: bold; }"
        " div { white-space: nowrap; break-after: page; } div:last-child { break-after: auto; }"
        "</style></head><body>" + "".join(lines) + "</body></html>"
    )
    ids = tuple(f"tok-{k}" for k in _token_ids(hf.sections))
    return html, ids


def stamp_pages(
    pdf: Any,
    sample_pdf: Any,
    boxes: Sequence[tuple[str, int, float, float, float, float]],
    hf: HeadFoot,
    page_sections: Sequence[str],
    skip: Callable[[int], bool] = lambda _i: False,
) -> None:
    """Draw header and footer on every page of `pdf` (a pikepdf.Pdf) from the laid-out sample."""
    from pikepdf import Array, Dictionary, Name

    rects = {name[4:]: (x0, y0, x1, y1) for name, _page, x0, y0, x1, y1 in boxes}
    page_of = {name[4:]: page for name, page, *_rest in boxes}
    bases = [pdf.copy_foreign(p.as_form_xobject()) for p in sample_pdf.pages]
    tokens: dict[str, Any] = {}
    for key, (x0, y0, x1, y1) in sorted(rects.items()):
        base = bases[page_of[key]]
        w, h = x1 - x0, y1 - y0
        # a form that shows only this piece: the sample page, clipped to the piece's box
        content = f"q {x0:.3f} {y0:.3f} {w:.3f} {h:.3f} re W n /VgBase Do Q".encode()
        tokens[key] = pdf.make_stream(
            content, Type=Name.XObject, Subtype=Name.Form, BBox=Array([x0, y0, x1, y1]),
            Resources=Dictionary(XObject=Dictionary(VgBase=base)),
        )
    section_index = {label: i for i, label in enumerate(hf.sections)}
    total = len(pdf.pages)
    digits_w = {d: rects[f"d{d}"][2] - rects[f"d{d}"][0] for d in range(10)}

    def place(key: str, x: float, top: float) -> str:
        x0, _y0, _x1, y1 = rects[key]
        return f"q 1 0 0 1 {x - x0:.3f} {top - y1:.3f} cm /Vg{key} Do Q\n"

    def width(key: str) -> float:
        x0, _y0, x1, _y1 = rects[key]
        return x1 - x0

    head_top = HEAD_RULE_Y + 1.2 * MM + (rects["hl"][3] - rects["hl"][1])
    foot_top = FOOT_RULE_Y - 1.0 * MM
    for index, page in enumerate(pdf.pages):
        if skip(index):
            continue
        ops = [place("hl", LEFT, head_top)]
        label = page_sections[index]
        if label in section_index:
            key = f"s{section_index[label]}"
            ops.append(place(key, RIGHT - width(key), head_top))
        ops.append(f"q {NAVY} RG 0.6 w {LEFT:.3f} {HEAD_RULE_Y:.3f} m {RIGHT:.3f} {HEAD_RULE_Y:.3f} l S Q\n")
        ops.append(f"q {GREY} RG 0.4 w {LEFT:.3f} {FOOT_RULE_Y:.3f} m {RIGHT:.3f} {FOOT_RULE_Y:.3f} l S Q\n")
        ops.append(place("fl", LEFT, foot_top))
        ops.append(place("fc", (LEFT + RIGHT - width("fc")) / 2, foot_top))
        # "Page X of Y", right-aligned
        pieces = ["page", *(f"d{c}" for c in str(index + 1)), "of", *(f"d{c}" for c in str(total))]
        run = sum(width(p) if not p.startswith("d") else digits_w[int(p[1])] for p in pieces)
        x = RIGHT - run
        for p in pieces:
            ops.append(place(p, x, foot_top))
            x += width(p)
        names = {"hl", "fl", "fc", "page", "of", *(p for p in pieces)}
        if label in section_index:
            names.add(f"s{section_index[label]}")
        resources = page.obj.get("/Resources")
        if resources is None:
            resources = Dictionary()
            page.obj["/Resources"] = resources
        if "/XObject" not in resources:
            resources["/XObject"] = Dictionary()
        for name in sorted(names):
            resources.XObject[f"/Vg{name}"] = tokens[name]
        page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
        page.contents_add(pdf.make_stream(b"\nQ\n" + "".join(ops).encode()), prepend=False)
