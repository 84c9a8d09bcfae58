"""The HTML site: page snapshots of the generated sources, and a headless Chromium check that
the index renders and every ID link resolves to its anchor."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from binder_factory import make_model, make_run, write_run_dir

from generator.binder import build_binder, load_run_dir
from generator.model.run import Outcome
from generator.render.site import build_site, site_link, write_site_sources

SNAPSHOTS = Path(__file__).parent / "snapshots"

HARNESS = """<!DOCTYPE html><html><body><pre id="result">pending</pre><script>
const pages = %s;
const ids = {}; const links = []; let indexInfo = null;
function load(name) {
  return new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.onload = () => resolve(frame.contentDocument);
    frame.src = name; document.body.appendChild(frame);
  });
}
(async () => {
  for (const name of pages) {
    const doc = await load(name);
    ids[name] = Array.from(doc.querySelectorAll('[id]')).map(e => e.id);
    for (const a of doc.querySelectorAll('a.id')) links.push([name, a.getAttribute('href'), a.textContent]);
    if (name === 'index.html') {
      const box = doc.querySelector('.conclusion');
      indexInfo = {title: doc.title, verdict: box ? box.innerText : null,
                   height: doc.body.scrollHeight, toc: doc.querySelectorAll('.toctree-wrapper a').length};
    }
  }
  const broken = links.filter(([from, href, text]) => {
    const [page, anchor] = href.split('#');
    return !(ids[page] || []).includes(anchor) || anchor !== text;
  });
  document.getElementById('result').textContent = JSON.stringify({links: links.length, broken, index: indexInfo});
})();
</script></body></html>"""


def _binder(tmp_path: Path):  # type: ignore[no-untyped-def]
    model = make_model(extra_urs=1)
    run = make_run(model, outcomes={"OQ-003": Outcome.FAILED, "IQ-002": Outcome.NOT_RUN})
    return build_binder(model, [load_run_dir(write_run_dir(tmp_path / "runs", run))],
                        generated="2026-01-01T00:00:00Z", commit="0123456789abcdef")


def test_site_page_snapshots(tmp_path: Path) -> None:
    """The generated pages for a fixed binder (set UPDATE_SNAPSHOTS=1 to refresh after a deliberate change)."""
    names = write_site_sources(_binder(tmp_path), tmp_path / "src")
    assert names[:3] == ["vsr", "plan", "regulations"]
    for page in ("vsr", "oq", "matrix"):
        got = (tmp_path / "src" / f"{page}.rst").read_text(encoding="utf-8")
        snap = SNAPSHOTS / f"site-{page}.rst"
        if os.environ.get("UPDATE_SNAPSHOTS") or not snap.exists():
            snap.write_text(got, encoding="utf-8")
        assert got == snap.read_text(encoding="utf-8"), page


def test_every_id_link_points_at_a_page_that_shows_it(tmp_path: Path) -> None:
    binder = _binder(tmp_path)
    link = site_link(binder)
    assert link("URS-001") == "urs.html#URS-001"
    assert link("21CFR11.10(e)") == "regulations.html#21CFR11.10(e)"
    assert link("DEV-001") == "deviations.html#DEV-001"
    assert link("URS-999") == ""  # not in the binder: shown as text, never a broken link


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_site_renders_in_headless_chromium_and_every_id_link_resolves(tmp_path: Path) -> None:
    binder = _binder(tmp_path)
    out = build_site(binder, tmp_path / "html", pdf_name="../binder.pdf")
    pages = sorted(p.name for p in out.glob("*.html") if p.name not in ("genindex.html", "search.html"))
    assert "index.html" in pages and "matrix.html" in pages
    (out / "harness.html").write_text(HARNESS % json.dumps(pages), encoding="utf-8")
    chromium = _chromium()
    assert chromium is not None
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--virtual-time-budget=30000", "--dump-dom", (out / "harness.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    found = re.search(r'<pre id="result">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(found[1].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert report["index"]["title"].startswith("VG-BINDER Validation Binder")
    assert "NOT RELEASED FOR USE" in report["index"]["verdict"]
    assert report["index"]["height"] > 300 and report["index"]["toc"] >= 14
    assert report["links"] > 40
    assert report["broken"] == []


def test_sphinx_build_with_the_root_conf_builds_only_the_generated_pages(corpus: tuple[Path, Path],
                                                                         tmp_path: Path) -> None:
    """`sphinx-build` with the repository's conf.py: the extension generates the pages and is the only source."""
    import sys

    root, run = corpus
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "build" / "html"
    env = {**os.environ, "VALGEN_RUNS": str(run), "SOURCE_DATE_EPOCH": "1767225600"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-c", str(repo), "-D", f"valgen_root={root}", str(root), str(out)],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    pages = {p.name for p in out.glob("*.html")}
    assert {"index.html", "vsr.html", "matrix.html", "oq.html", "evidence.html"} <= pages
    assert not list(out.rglob("*.yaml.html")) and not (out / "requirements").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "NOT RELEASED FOR USE" in index or "RELEASED FOR USE" in index
    evidence = (out / "evidence.html").read_text(encoding="utf-8")
    # the index names each run's attachment folder once, then the files within it
    assert "runs/20260101T000000Z-bench/</span>" in evidence
    assert re.search(r"[0-9a-f]{64}&#160;&#160;evidence/", evidence)
