"""The HTML site: Sphinx sources generated from the binder (same templates as the PDF) and built.

Each binder section becomes one page whose body is the print template's HTML for
that section (as a ``raw`` block), so the PDF and the site cannot disagree. Every
item ID is a link to ``<page>.html#<ID>``; IDs the binder does not hold are shown
as plain text, so every link in the site resolves.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generator.binder.model import Binder
from generator.render.chart import vsr_chart_svg
from generator.render.pdf import TEMPLATES, Part, binder_parts, template_env

__all__ = ["PAGES", "build_site", "site_link", "write_site_sources"]

# page name -> the kinds of item IDs it holds (its section key)
PAGES = (
    ("vsr", "Validation Summary Report"),
    ("plan", "Validation Plan"),
    ("regulations", "Regulation catalogue"),
    ("urs", "User Requirements Specification"),
    ("risk", "Risk assessment"),
    ("fs", "Functional Specification"),
    ("ds", "Design Specification"),
    ("sop", "Standard Operating Procedures"),
    ("iq", "Installation Qualification — executed protocol"),
    ("oq", "Operational Qualification — executed protocol"),
    ("pq", "Performance Qualification — executed protocol"),
    ("deviations", "Deviation log"),
    ("matrix", "Traceability matrix"),
    ("evidence", "Evidence index"),
    ("control", "Document control"),
)


def site_link(binder: Binder) -> Callable[[str], str]:
    """ID -> ``page.html#ID`` for every ID the binder shows; "" for anything else."""
    pages = dict(binder.item_pages)
    if binder.plan is not None:
        for criterion in binder.plan.criteria:
            pages.setdefault(criterion.id, "plan")
    page_of_kind = {"plan": "plan", "regulations": "regulations"}

    def link(item_id: str) -> str:
        page = pages.get(item_id)
        if page is None:
            return ""
        return f"{page_of_kind.get(page, page)}.html#{item_id}"

    return link


def _indent(html: str) -> str:
    return "\n".join(("   " + line) if line.strip() else "" for line in html.splitlines())


def _body(html: str) -> str:
    found = re.search(r"<body>(.*)</body>", html, re.S)
    return found.group(1).strip() if found else ""


def write_site_sources(binder: Binder, srcdir: Path, *, pdf_name: str | None = None) -> list[str]:
    """Write index.rst and one .rst page per binder section into `srcdir`; return the page names."""
    env = template_env()
    link = site_link(binder)
    front, body = binder_parts(binder)
    merged: dict[str, Part] = {}
    for part in [*front, *body]:
        seen = merged.get(part.key)
        if seen is None:
            merged[part.key] = Part(key=part.key, kind=part.kind, title=part.title, number=part.number, first=True,
                                    items=part.items, extra=dict(part.extra))
        else:
            merged[part.key] = Part(key=seen.key, kind=seen.kind, title=seen.title, number=seen.number, first=True,
                                    items=seen.items + part.items, extra=seen.extra)
    numbers = {p.key: p.number for p in body}
    context: dict[str, Any] = {
        "site": True, "link": link, "chart": vsr_chart_svg(binder),
        "fingerprints": {d.id: _fp(d) for d in binder.documents},
    }
    template = env.get_template("part.html.j2")
    if srcdir.exists():
        shutil.rmtree(srcdir)
    (srcdir / "_static").mkdir(parents=True)
    css = (TEMPLATES / "print.css").read_text(encoding="utf-8") + (TEMPLATES / "site.css").read_text(encoding="utf-8")
    (srcdir / "_static" / "valgen.css").write_text(css, encoding="utf-8")
    names: list[str] = []
    for key, title in PAGES:
        found = merged.get(key)
        if found is None:
            continue
        part = Part(key=found.key, kind=found.kind, title=found.title, number=found.number, first=True, items=found.items,
                    extra={**found.extra, "section_numbers": numbers})
        html = _body(template.render(binder=binder, part=part, **context))
        heading = f"{numbers.get(key, '')} {title}".strip()
        text = f"{heading}\n{'=' * len(heading)}\n\n.. raw:: html\n\n{_indent(html)}\n"
        (srcdir / f"{key}.rst").write_text(text, encoding="utf-8")
        names.append(key)
    index = io.StringIO()
    title = f"{binder.doc_id} {binder.title}"
    index.write(f"{title}\n{'=' * len(title)}\n\n")
    facts = [
        ("System", binder.system), ("Version", binder.version), ("Status", binder.status),
        ("Generated", f"{binder.generated} (UTC)"), ("Content commit", binder.commit or "not under git"),
    ]
    rows = "".join(f"<tr><th>{k}</th><td>{_esc(v)}</td></tr>" for k, v in facts)
    banner = ('<div class="banner">DEMONSTRATION TARGET — this binder qualifies the embedded moto demonstration '
              'target. It is not evidence for a GxP system.</div>') if binder.vsr.demonstration else ""
    verdict = ("✓ RELEASED FOR USE" if binder.vsr.release else "✗ NOT RELEASED FOR USE")
    pdf = f'<p>The signed record is the PDF binder: <a href="{pdf_name}">{pdf_name.rsplit("/", 1)[-1]}</a>.</p>' \
        if pdf_name else ""
    index.write(".. raw:: html\n\n" + _indent(
        f'{banner}<div class="conclusion{"" if binder.vsr.release else " not-released"}"><div class="verdict">'
        f'{verdict}</div><div>{_esc(binder.vsr.conclusion)}</div></div>'
        f'<table class="kv">{rows}</table>{pdf}'
    ) + "\n\n")
    index.write(".. toctree::\n   :maxdepth: 1\n   :caption: Contents\n\n")
    index.write("".join(f"   {n}\n" for n in names))
    (srcdir / "index.rst").write_text(index.getvalue(), encoding="utf-8")
    return names


def _esc(text: str) -> str:
    from html import escape

    return escape(text)


def _fp(document: Any) -> str:
    from generator.model import fingerprint

    return fingerprint(document)


SPHINX_CONF: dict[str, Any] = {
    "project": "valgen binder",
    "html_static_path": ["_static"],
    "html_css_files": ["valgen.css"],
    "html_show_sourcelink": False,
    "html_copy_source": False,
    "html_last_updated_fmt": None,
    "html_theme": "alabaster",
    "html_theme_options": {"page_width": "1200px", "sidebar_width": "230px"},
    "root_doc": "index",
    "exclude_patterns": [],
    "html_permalinks": False,
}


def build_site(binder: Binder, outdir: Path, *, pdf_name: str | None = None) -> Path:
    """Generate the sources beside `outdir` and build the site with Sphinx; return `outdir`."""
    from sphinx.application import Sphinx

    srcdir = outdir.parent / ".site-src"
    doctrees = outdir.parent / ".site-doctrees"
    write_site_sources(binder, srcdir, pdf_name=pdf_name)
    shutil.rmtree(doctrees, ignore_errors=True)
    if outdir.exists():
        shutil.rmtree(outdir)
    warnings = io.StringIO()
    overrides = {**SPHINX_CONF, "project": f"{binder.doc_id} {binder.title}", "html_title": f"{binder.doc_id} v{binder.version}"}
    app = Sphinx(str(srcdir), None, str(outdir), str(doctrees), "html", confoverrides=overrides,
                 status=None, warning=warnings, freshenv=True, verbosity=0)
    app.build(force_all=True)
    shutil.rmtree(doctrees, ignore_errors=True)
    return outdir
