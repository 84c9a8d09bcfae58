"""The binder PDF: print templates laid out by WeasyPrint in independent parts, assembled as PDF/A-3b.

Why parts: one WeasyPrint process grows worse than linearly with page count (issue
6, Speed), so the binder is cut into parts of bounded size, laid out on every core,
and assembled with pikepdf. Everything that spans parts is done at assembly from
what each worker reports: "Page X of Y" and the running header (stamped onto each
page from one laid-out sample of their texts, see `generator.render.stamp`), the table of contents (rendered last with the real page numbers),
links between items (``vg:ID`` URIs turned into destinations), bookmarks,
signature fields (placed where the layout put the boxes), attachments and the
manifest. The same inputs give the same bytes: no clock, no random IDs.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import jinja2

from generator.binder.model import Binder, CaseOutcomeCount, ExecutedCase
from generator.errors import ValgenError
from generator.model import fingerprint
from generator.render.chart import vsr_chart_svg
from generator.render.stamp import HeadFoot, sample_html, stamp_pages

__all__ = ["AttachmentSpec", "Part", "PdfResult", "binder_parts", "render_pdf", "template_env"]

TEMPLATES = Path(__file__).parent / "templates"
SYMBOL = {"passed": "✓", "failed": "✗", "error": "!", "not run": "○"}
GROUP_ORDER = ("failed", "error", "not run", "passed")
PX_TO_PT = 0.75  # WeasyPrint lays out in CSS px (1/96 in); PDF user space is points (1/72 in)
# Weight of content per part: about 8-12 pages, enough that the per-part cost and the blank
# space at the end of each part stay small, small enough that every core stays busy.
PART_WEIGHT = 150.0

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentSpec:
    """A file to embed: attachment name, its bytes, MIME type, PDF/A-3 relationship."""

    name: str
    data: bytes
    mime: str
    relationship: str  # Source | Data | Supplement | Unspecified
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """One independently rendered piece of the binder."""

    key: str
    kind: str
    title: str
    number: str
    first: bool
    items: tuple[Any, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    weight: float = 10.0  # estimated layout cost, to start the costliest parts first


@dataclass(frozen=True, slots=True, kw_only=True)
class PartOutput:
    """What a worker reports back: the part's PDF and the layout facts assembly needs."""

    pdf: bytes
    pages: int
    anchors: tuple[tuple[str, int, float, float], ...]  # name, page, x, y (PDF points)
    bookmarks: tuple[tuple[int, str, int, float], ...]  # level, label, page, y
    boxes: tuple[tuple[str, int, float, float, float, float], ...]  # id, page, x0, y0, x1, y1


@dataclass(frozen=True, slots=True, kw_only=True)
class PdfResult:
    """What `render_pdf` produced."""

    path: Path
    pages: int
    parts: int
    attachments: int
    sha256: str
    signature_fields: tuple[str, ...]
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per phase, for the benchmark


def template_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=False,
        lstrip_blocks=False,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["SYMBOL"] = SYMBOL
    env.filters["sentences"] = _sentences
    return env


def _sentences(items: Sequence[str]) -> str:
    """List items as running text, each ending with a full stop (content may or may not end them)."""
    return " ".join(x.strip() if x.strip().endswith((".", "!", "?")) else x.strip() + "." for x in items if x.strip())


def _case_weight(case: ExecutedCase) -> float:
    return 2.5 + 0.9 * len(case.steps)


def _chunks(items: Sequence[Any], weight: Callable[[Any], float]) -> list[tuple[Any, ...]]:
    chunks: list[tuple[Any, ...]] = []
    current: list[Any] = []
    load = 0.0
    for item in items:
        w = weight(item)
        if current and load + w > PART_WEIGHT:
            chunks.append(tuple(current))
            current, load = [], 0.0
        current.append(item)
        load += w
    if current or not chunks:
        chunks.append(tuple(current))
    return chunks


def binder_parts(binder: Binder) -> tuple[list[Part], list[Part]]:
    """(front parts before the TOC, body parts after it), in binder order."""
    front = [
        Part(key="cover", kind="cover", title="Cover", number="", first=True),
        Part(key="control", kind="control", title="Document control", number="", first=True),
        Part(key="signatures", kind="signatures", title="Approval signatures", number="", first=True),
    ]
    body: list[Part] = []
    number = 0

    def section(key: str, kind: str, title: str, items: Sequence[Any] = (), weight: Callable[[Any], float] | None = None,
                extra: dict[str, Any] | None = None) -> None:
        nonlocal number
        number += 1
        chunks = _chunks(items, weight) if weight else [tuple(items)]
        for i, chunk in enumerate(chunks):
            body.append(Part(key=key, kind=kind, title=title, number=str(number), first=i == 0, items=chunk,
                             extra=extra or {}, weight=sum(map(weight, chunk)) if weight else 10.0))

    section("vsr", "vsr", "Validation Summary Report")
    section("plan", "plan", "Validation Plan")
    section("regulations", "regulations", "Regulation catalogue", binder.clauses, lambda c: 1.6)
    section("urs", "urs", "User Requirements Specification", binder.urs, lambda u: 2.0)
    section("risk", "risk", "Risk assessment", binder.risks, lambda r: 3.0)
    section("fs", "fs", "Functional Specification", binder.fs, lambda f: 1.6)
    section("ds", "ds", "Design Specification", binder.ds, lambda d: 2.0)
    section("sop", "sop", "Standard Operating Procedures", binder.sops, lambda s: 4.0 + len(s.procedure))
    names = {"iq": "Installation Qualification", "oq": "Operational Qualification", "pq": "Performance Qualification"}
    counts = {c.stage: c for c in binder.vsr.outcomes}
    for stage in ("iq", "oq", "pq"):
        cnt = counts.get(stage) or CaseOutcomeCount(stage=stage, passed=0, failed=0, error=0, not_run=0)
        section(stage, "stage", f"{names[stage]} — executed protocol", binder.cases_of(stage), _case_weight,
                {"count": cnt})
    section("deviations", "deviations", "Deviation log")
    gaps = [
        {"item": g.item, "level": c.level, "reason": g.reason} for c in binder.coverage for g in c.gaps
    ]
    section("matrix", "matrix", "Traceability matrix", matrix_by_urs(binder), lambda r: 1.2 + 0.12 * len(r["cases"]),
            {"gaps": gaps})
    section("evidence", "evidence", "Evidence index", binder.evidence, lambda e: 0.9)
    return front, body


def matrix_by_urs(binder: Binder) -> list[dict[str, Any]]:
    """The matrix as printed: one row per URS listing its clauses (the binder keeps one row per
    clause-URS pair; the CSV/XLSX carry that form), then clauses no URS covers."""
    rows: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for r in binder.matrix:
        key = r.urs if r.urs is not None else f"clause:{r.clause}"
        if key not in rows:
            grouped: dict[str, list[str]] = {}
            for cid, outcome in r.cases:
                grouped.setdefault(outcome.value, []).append(cid)
            rows[key] = {
                "clauses": [], "urs": r.urs, "urs_title": r.urs_title, "excluded": bool(r.clause_excluded),
                "fs": r.fs, "ds": r.ds, "sops": r.sops, "risks": r.risks, "cases": r.cases, "result": r.result,
                "summary": ", ".join(f"{len(ids)} {k}" for k, ids in sorted(grouped.items())),
                # the cases grouped by latest result, problems first, so a failure stands out in the row
                "groups": [{"outcome": k, "cases": grouped[k]} for k in GROUP_ORDER if k in grouped],
                "deviations": r.deviations, "evidence": len(r.evidence),
                "gaps": [g for g in r.gaps if "traces to no regulation clause" not in g or r.clause is None],
            }
            order.append(key)
        if r.clause is not None:
            rows[key]["clauses"].append((r.clause, r.clause_excluded))
    return [rows[k] for k in order]


def _fingerprints(binder: Binder) -> dict[str, str]:
    return {d.id: fingerprint(d) for d in binder.documents}


def render_part_html(env: jinja2.Environment, binder: Binder, part: Part, common: dict[str, Any]) -> str:
    context = {"site": False, "link": _pdf_link, **common}
    return env.get_template("part.html.j2").render(binder=binder, part=part, **context)


def _pdf_link(item_id: str) -> str:
    """Every item link is a vg: URI in a part; assembly resolves it against all parts' anchors."""
    return "vg:" + item_id


# ---------------------------------------------------------------- worker side


_CACHE: dict[str, Any] = {}


def _weasy() -> tuple[Any, list[Any]]:
    """One font configuration and one parsed print stylesheet per process (re-creating them per
    part costs more than laying out a page); made in the parent before forking, so inherited."""
    if "fonts" not in _CACHE:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        _CACHE["fonts"] = fonts
        _CACHE["sheets"] = [CSS(string=(TEMPLATES / "print.css").read_text(encoding="utf-8"), font_config=fonts)]
    return _CACHE["fonts"], _CACHE["sheets"]


def render_part(html: str, box_ids: tuple[str, ...] = (), print_css: bool = True) -> PartOutput:
    """Lay out one part and write it as PDF (runs in a worker process)."""
    # The cyclic collector is paused while a part is laid out: the layout allocates hundreds of
    # thousands of objects, and the collector's passes over the growing heap cost ~10 % of the
    # layout; the part's garbage is collected once, when the collector runs again after it.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _render_part(html, box_ids, print_css)
    finally:
        if enabled:
            gc.enable()


def _render_part(html: str, box_ids: tuple[str, ...], print_css: bool) -> PartOutput:
    from weasyprint import HTML

    fonts, sheets = _weasy()
    document = HTML(string=html, base_url=str(TEMPLATES)).render(
        stylesheets=sheets if print_css else [], font_config=fonts)
    anchors: list[tuple[str, int, float, float]] = []
    bookmarks: list[tuple[int, str, int, float]] = []
    boxes: list[tuple[str, int, float, float, float, float]] = []
    for index, page in enumerate(document.pages):
        height = page.height
        for name, (x1, y1, x2, y2) in page.anchors.items():
            anchors.append((name, index, x1 * PX_TO_PT, (height - y1) * PX_TO_PT))
            if name in box_ids:
                # the box WeasyPrint laid out for the signature field's element (issue 6: placed from layout)
                boxes.append((name, index, x1 * PX_TO_PT, (height - y2) * PX_TO_PT,
                              x2 * PX_TO_PT, (height - y1) * PX_TO_PT))
        for level, label, (_x, y), _state in page.bookmarks:
            bookmarks.append((level, label, index, (height - y) * PX_TO_PT))
    pdf = document.write_pdf(uncompressed_pdf=False)
    assert pdf is not None
    return PartOutput(pdf=pdf, pages=len(document.pages), anchors=tuple(sorted(anchors)),
                      bookmarks=tuple(bookmarks), boxes=tuple(boxes))


# ---------------------------------------------------------------- parent side


def _toc_entries(binder: Binder, outputs: Sequence[tuple[Part, PartOutput]], offsets: Sequence[int]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for (part, out), offset in zip(outputs, offsets, strict=True):
        for level, label, page, y in out.bookmarks:
            if level > 2:
                continue
            anchor = f"sec-{part.key}" if level == 1 else _bookmark_anchor(out, label, page, y, f"sec-{part.key}")
            entries.append({"level": level, "label": part.title if level == 1 else label,
                            "number": part.number if level == 1 else "", "page": offset + page + 1,
                            "anchor": anchor})
    return entries


def _bookmark_anchor(out: PartOutput, label: str, page: int, y: float, fallback: str) -> str:
    """The anchor at a level-2 heading's position (the templates give such headings an id)."""
    for name, p, _x, ay in out.anchors:
        if p == page and abs(ay - y) < 2.0 and not name.startswith("sec-"):
            return name
    return fallback


def render_pdf(
    binder: Binder,
    out_path: Path,
    attachments: Sequence[AttachmentSpec],
    *,
    jobs: int | None = None,
    progress: ProgressFn | None = None,
    single_pass: bool = False,
    side_jobs: Sequence[Callable[[], object]] = (),
) -> PdfResult:
    """Render the binder to `out_path` (PDF/A-3b). `single_pass` lays out everything in one
    WeasyPrint document in this process (the benchmark's baseline), with the same assembly.
    `side_jobs` run in the worker pool beside the layout (their effects must be files: they run
    in forked processes); they run in this process when `single_pass` is set."""
    started = time.perf_counter()
    env = template_env()
    front, body = binder_parts(binder)
    section_numbers = {p.key: p.number for p in body}
    common: dict[str, Any] = {
        "chart": vsr_chart_svg(binder),
        "fingerprints": _fingerprints(binder),
    }
    # the VSR and cover refer to other sections / pages by number
    body = [Part(key=p.key, kind=p.kind, title=p.title, number=p.number, first=p.first, items=p.items,
                 extra={**p.extra, "section_numbers": section_numbers}, weight=p.weight) for p in body]
    sig_ids = tuple(s.field for s in binder.signatures)
    notify = progress or (lambda _stage, _done, _total: None)

    parts = [*front, *body]
    jobs = max(1, jobs or os.cpu_count() or 1)
    outputs: list[PartOutput | None] = [None] * len(parts)

    if single_pass:
        for side_job in side_jobs:
            side_job()
        return _single_pass(binder, env, common, parts, out_path, attachments, sig_ids)

    # This process never imports WeasyPrint: each worker does on its first part (importing it and
    # initializing fontconfig take about a second), both at once, where here one core would wait.
    # The cover names the signature page: the third page when the document control fits one page, as
    # it does unless the content has very many documents; it is laid out again below if not.
    parts[0] = Part(key="cover", kind="cover", title="Cover", number="", first=True, extra={"signature_page": 3})
    # the header/footer texts are known before layout (the section labels in page order, TOC included)
    labels = [_part_label(p) for p in parts[:3]] + ["Table of contents"] + [_part_label(p) for p in parts[3:]]
    head_foot = _head_foot_texts(binder, labels)
    global _JOB
    _JOB = _Job(env=env, binder=binder, parts=parts, common=common, sig_ids=sig_ids, side=tuple(side_jobs),
                head_foot=head_foot)
    ctx = get_context("fork")
    pool_start = time.perf_counter()
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            # Workers render their part's HTML themselves (the Jinja work runs on every core too), the
            # costliest parts first so the slowest does not start last; side jobs fill the tail.
            futures: dict[Future[Any], int] = {}
            for i in sorted(range(len(parts)), key=lambda i: -parts[i].weight):
                futures[pool.submit(_layout_job, i)] = i
            sample_future = pool.submit(_sample_job)
            side_futures = [pool.submit(_side_job, k) for k in range(len(side_jobs))]
            total_steps = len(parts) + 2
            done = 0
            for future in _as_completed(futures):
                outputs[futures[future]] = future.result()
                done += 1
                notify("layout", done, total_steps)
            for side in side_futures:
                side.result()
            sample_future.result()
            layout_done = time.perf_counter()

            def in_pool(html: str) -> PartOutput:
                result: PartOutput = pool.submit(render_part, html).result()
                return result

            control_pages = outputs[1].pages if outputs[1] else 1
            if control_pages != 1:
                cover = Part(key="cover", kind="cover", title="Cover", number="", first=True,
                             extra={"signature_page": 2 + control_pages})
                outputs[0] = in_pool(render_part_html(env, binder, cover, common))
                parts[0] = cover
            done += 1
            notify("layout", done, total_steps)
            ready = [(p, o) for p, o in zip(parts, outputs, strict=True) if o is not None]
            toc_part, toc_out, _offsets = _render_toc(env, binder, common, ready, in_pool)
    finally:
        _JOB = None
    all_parts = [*ready[:3], (toc_part, toc_out), *ready[3:]]
    notify("layout", total_steps, total_steps)
    toc_done = time.perf_counter()
    result = _assemble(binder, all_parts, out_path, attachments, notify, (head_foot, sample_future.result()))
    return dataclasses.replace(result, phases={"prepare": pool_start - started, "layout": layout_done - pool_start,
                                               "toc": toc_done - layout_done, **result.phases})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    """What the forked layout workers inherit instead of receiving it pickled with each task."""

    env: jinja2.Environment
    binder: Binder
    parts: list[Part]
    common: dict[str, Any]
    sig_ids: tuple[str, ...]
    side: tuple[Callable[[], object], ...]
    head_foot: HeadFoot


_JOB: _Job | None = None


def _job() -> _Job:
    """The job a worker inherited (only missing if a worker were not forked from render_pdf)."""
    if _JOB is None:
        raise ValgenError("layout worker started without a job", fix="report this as a bug")
    return _JOB


def _layout_job(index: int) -> PartOutput:
    """Worker: render one part's HTML from the inherited job and lay it out."""
    job = _job()
    part = job.parts[index]
    html = render_part_html(job.env, job.binder, part, job.common)
    return render_part(html, job.sig_ids if part.kind == "signatures" else ())


def _sample_job() -> PartOutput:
    return _sample(_job().head_foot)


def _side_job(index: int) -> None:
    _job().side[index]()


def _as_completed(futures: dict[Future[Any], int]) -> Any:
    from concurrent.futures import as_completed

    return as_completed(futures)


def _render_toc(
    env: jinja2.Environment, binder: Binder, common: dict[str, Any], ready: list[tuple[Part, PartOutput]],
    render: Callable[[str], PartOutput] = render_part,
) -> tuple[Part, PartOutput, list[int]]:
    front, body = ready[:3], ready[3:]
    front_pages = sum(o.pages for _, o in front)
    # first guess from the number of entries (about 55 fit a page), so one layout usually settles it
    count = sum(1 for _, o in [*front[1:], *body] for level, *_rest in o.bookmarks if level <= 2)
    toc_pages = max(1, -(-count // 55))
    for _attempt in range(4):
        offsets_front: list[int] = []
        page = 0
        for _, o in front:
            offsets_front.append(page)
            page += o.pages
        page += toc_pages
        offsets_body = []
        for _, o in body:
            offsets_body.append(page)
            page += o.pages
        entries = _toc_entries(binder, [*front[1:], *body], [*offsets_front[1:], *offsets_body])
        toc = Part(key="toc", kind="toc", title="Table of contents", number="", first=True, extra={"entries": entries})
        out = render(render_part_html(env, binder, toc, common))
        if out.pages == toc_pages:
            return toc, out, [*offsets_front, front_pages, *offsets_body]
        toc_pages = out.pages
    # The TOC's own page count feeds the page numbers it lists; four layouts always settled in practice.
    raise ValgenError(f"the table of contents did not settle after four layouts ({toc_pages} pages)",
                      fix="report this as a bug with the binder's content")


def _part_label(part: Part) -> str:
    """The section label the running header shows on a part's pages."""
    return f"{part.number}  {part.title}" if part.number else ("" if part.kind == "cover" else part.title)


def _page_sections(all_parts: Sequence[tuple[Part, PartOutput]]) -> list[str]:
    sections: list[str] = []
    for part, out in all_parts:
        sections.extend([_part_label(part)] * out.pages)
    return sections


def _head_foot_texts(binder: Binder, labels: Sequence[str]) -> HeadFoot:
    demo = binder.vsr.demonstration
    return HeadFoot(
        head_left=f"{binder.doc_id} · {binder.title}", head_left_bold=binder.doc_id,
        foot_left=f"Version {binder.version} · {binder.status}",
        foot_center="DEMONSTRATION TARGET — not evidence for a GxP system" if demo
        else f"Generated {binder.generated} UTC",
        foot_center_warn=demo, sections=tuple(dict.fromkeys(label for label in labels if label)),
    )


def _sample(hf: HeadFoot) -> PartOutput:
    html, ids = sample_html(hf)
    return render_part(html, ids, False)


def _head_foot(binder: Binder, all_parts: Sequence[tuple[Part, PartOutput]],
               ready: tuple[HeadFoot, PartOutput] | None) -> tuple[HeadFoot, list[str], PartOutput]:
    """The header/footer texts, each page's section label, and the laid-out sample page of every text
    piece (`ready`: one laid out beside the parts, used when its labels are those of the pages)."""
    sections = _page_sections(all_parts)
    hf = _head_foot_texts(binder, sections)
    if ready is not None and ready[0] == hf:
        return hf, sections, ready[1]
    return hf, sections, _sample(hf)


def _single_pass(binder: Binder, env: jinja2.Environment, common: dict[str, Any], parts: list[Part], out_path: Path,
                 attachments: Sequence[AttachmentSpec], sig_ids: tuple[str, ...]) -> PdfResult:
    """Baseline for the benchmark: every part's body in one HTML document, laid out in one process."""
    import re

    bodies = []
    for p in parts:
        html = render_part_html(env, binder, p if p.kind != "cover" else
                                Part(key="cover", kind="cover", title="Cover", number="", first=True,
                                     extra={"signature_page": 3}), common)
        inner = re.search(r"<body>(.*)</body>", html, re.S)
        bodies.append(f'<div class="part-start">{inner.group(1) if inner else ""}</div>')
    head = render_part_html(env, binder, parts[1], common).split("<body>", 1)[0]
    whole = head + "<body>" + "".join(bodies) + "</body></html>"
    out = render_part(whole, sig_ids)
    part = Part(key="all", kind="all", title="Binder", number="", first=True)
    return _assemble(binder, [(part, out)], out_path, attachments, lambda *_: None)


# ---------------------------------------------------------------- assembly


def _srgb_profile() -> bytes:
    """WeasyPrint's sRGB ICC profile, found without importing WeasyPrint (a second's work this
    process otherwise never needs: the workers lay out)."""
    import importlib.util

    spec = importlib.util.find_spec("weasyprint")
    if spec is None or spec.origin is None:
        raise ValgenError("WeasyPrint is not installed", fix="create the environment with `make demo` or `make test`")
    return (Path(spec.origin).parent / "pdf" / "sRGB2014.icc").read_bytes()


def _pdf_date(iso: str) -> str:
    digits = "".join(ch for ch in iso if ch.isdigit())[:14].ljust(14, "0")
    return f"D:{digits}Z"


def _xmp(binder: Binder) -> bytes:
    from xml.sax.saxutils import escape

    title = escape(f"{binder.doc_id} {binder.title} — {binder.system}")
    when = binder.generated
    doc_uuid = hashlib.sha256(f"{binder.doc_id}|{binder.version}|{binder.commit}".encode()).hexdigest()
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>3</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>valgen</xmp:CreatorTool>
   <xmp:CreateDate>{when}</xmp:CreateDate>
   <xmp:ModifyDate>{when}</xmp:ModifyDate>
   <xmp:MetadataDate>{when}</xmp:MetadataDate>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>valgen (WeasyPrint, pikepdf)</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">
   <xmpMM:DocumentID>uuid:{doc_uuid[:8]}-{doc_uuid[8:12]}-{doc_uuid[12:16]}-{doc_uuid[16:20]}-{doc_uuid[20:32]}</xmpMM:DocumentID>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def _assemble(
    binder: Binder,
    all_parts: Sequence[tuple[Part, PartOutput]],
    out_path: Path,
    attachments: Sequence[AttachmentSpec],
    notify: ProgressFn,
    head_foot: tuple[HeadFoot, PartOutput] | None = None,
) -> PdfResult:
    import pikepdf
    from pikepdf import Array, Dictionary, Name, String

    started = time.perf_counter()
    pdf = pikepdf.Pdf.new()
    # global anchor table and bookmarks
    anchors: dict[str, tuple[int, float, float]] = {}
    bookmarks: list[tuple[int, str, int, float]] = []
    boxes: list[tuple[str, int, float, float, float, float]] = []
    offset = 0
    sources = []
    for _part, out in all_parts:
        src = pikepdf.Pdf.open(BytesIO(out.pdf))
        sources.append(src)
        pdf.pages.extend(src.pages)
        for name, page, x, y in out.anchors:
            anchors.setdefault(name, (offset + page, x, y))
        bookmarks.extend((level, label, offset + page, y) for level, label, page, y in out.bookmarks)
        boxes.extend((name, offset + page, x0, y0, x1, y1) for name, page, x0, y0, x1, y1 in out.boxes)
        offset += out.pages
    total = offset
    notify("assemble", 1, 4)

    # running header/footer ("Page X of Y"), stamped from one laid-out sample page
    hf, page_sections, sample = _head_foot(binder, all_parts, head_foot)
    sample_pdf = pikepdf.Pdf.open(BytesIO(sample.pdf))
    sources.append(sample_pdf)
    stamp_pages(pdf, sample_pdf, sample.boxes, hf, page_sections)
    notify("assemble", 2, 4)

    # item links: vg:ID -> in-document destination; PDF/A: every annotation printable
    page_objs = [p.obj for p in pdf.pages]
    for pdf_page in pdf.pages:
        annots = pdf_page.obj.get("/Annots")
        if annots is None:
            continue
        keep = Array()
        for annot in annots:
            action = annot.get("/A")
            uri = str(action.get("/URI")) if action is not None and "/URI" in action else ""
            if uri.startswith("vg:"):
                target = anchors.get(uri[3:])
                if target is None:
                    continue  # an ID that is not in the binder: drop the link, keep the text
                del annot["/A"]
                annot["/Dest"] = Array([page_objs[target[0]], Name.XYZ, target[1], target[2], 0])
            annot["/F"] = 4
            keep.append(annot)
        pdf_page.obj["/Annots"] = keep

    # bookmarks (outline)
    with pdf.open_outline() as outline:
        stack: list[tuple[int, Any]] = []
        for level, label, page, y in bookmarks:
            item = pikepdf.OutlineItem(label, page, "XYZ", left=0, top=y)
            while stack and stack[-1][0] >= level:
                stack.pop()
            (stack[-1][1].children if stack else outline.root).append(item)
            stack.append((level, item))
    notify("assemble", 3, 4)

    # empty signature fields where the layout placed the boxes (names agreed with issue 7)
    fields = Array()
    field_names = []
    for name, page, x0, y0, x1, y1 in boxes:
        appearance = pdf.make_stream(b"", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, x1 - x0, y1 - y0])
        widget = pdf.make_indirect(Dictionary(
            Type=Name.Annot, Subtype=Name.Widget, FT=Name.Sig, T=String(name),
            Rect=[round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2)], F=4, P=page_objs[page],
            AP=Dictionary(N=appearance),
        ))
        page_dict = pdf.pages[page].obj
        if "/Annots" not in page_dict:
            page_dict["/Annots"] = Array()
        page_dict["/Annots"].append(widget)
        fields.append(widget)
        field_names.append(name)
    if len(fields):
        pdf.Root.AcroForm = Dictionary(Fields=fields, SigFlags=0)

    # attachments with PDF/A-3 relationships, in name order
    when = _pdf_date(binder.generated)
    af = Array()
    names = Array()
    for spec in sorted(attachments, key=lambda a: a.name):
        filespec = pikepdf.AttachedFileSpec(
            pdf, spec.data, description=spec.description, filename=spec.name, mime_type=spec.mime,
            creation_date=when, mod_date=when, relationship=Name("/" + spec.relationship),
        )
        obj = pdf.make_indirect(filespec.obj)
        names.append(String(spec.name))
        names.append(obj)
        af.append(obj)
    if len(af):
        # One flat name-tree node with every file, keys in sorted order (ISO 32000-1 7.9.6): inserting
        # through pdf.attachments rebalances the tree per file and cost 1 s per 1,300 files.
        pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=names))
        pdf.Root.AF = af

    # PDF/A-3b identification, output intent, metadata
    icc = _srgb_profile()
    icc_stream = pdf.make_stream(icc, N=3)
    pdf.Root.OutputIntents = Array([Dictionary(
        Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=String("sRGB IEC61966-2.1"),
        Info=String("sRGB IEC61966-2.1"), DestOutputProfile=icc_stream,
    )])
    pdf.Root.Metadata = pdf.make_stream(_xmp(binder), Type=Name.Metadata, Subtype=Name.XML)
    pdf.Root.Lang = String("en")
    pdf.Root.PageMode = Name.UseOutlines
    pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
    pdf.docinfo["/Title"] = String(f"{binder.doc_id} {binder.title} — {binder.system}")
    pdf.docinfo["/Creator"] = String("valgen")
    pdf.docinfo["/Producer"] = String("valgen (WeasyPrint, pikepdf)")
    pdf.docinfo["/CreationDate"] = String(when)
    pdf.docinfo["/ModDate"] = String(when)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    pdf.save(tmp, deterministic_id=True, compress_streams=True, min_version="1.7",
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    for src in sources:
        src.close()
    os.replace(tmp, out_path)
    notify("assemble", 4, 4)
    digest = hashlib.sha256(out_path.read_bytes()).hexdigest()
    return PdfResult(path=out_path, pages=total, parts=len(all_parts), attachments=len(attachments), sha256=digest,
                     signature_fields=tuple(field_names), phases={"assemble": time.perf_counter() - started})

