"""The Sphinx extension behind the root conf.py: generate the binder's pages and point Sphinx at them.

`sphinx-build . build/html` loads the content under ``valgen_root`` and the run
directories in ``valgen_runs`` (default: every ``runs/*/run.json``), builds the
binder and writes its pages into ``<outdir>/../.site-src``; the extension then
makes that folder Sphinx's source directory, so nothing else in the repository
is read as documentation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["setup"]


def _generate(app: Any, config: Any) -> None:
    from sphinx.errors import ExtensionError

    from generator.binder import build_binder, load_run_dir
    from generator.errors import ValgenError
    from generator.esign.approve import approval_verifier
    from generator.load import load_model
    from generator.render.build import git_commit, pinned_time
    from generator.render.site import write_site_sources

    root = (Path(app.confdir) / config.valgen_root).resolve()
    try:
        model = load_model(root)
        run_dirs = [Path(p) for p in config.valgen_runs] or sorted(p.parent for p in (root / "runs").glob("*/run.json"))
        runs = [load_run_dir(d) for d in run_dirs]
        commit, commit_time = git_commit(root)
        binder = build_binder(model, runs, commit=commit, generated=pinned_time(commit_time),
                              approval_check=approval_verifier(root))
    except ValgenError as exc:
        raise ExtensionError(f"valgen: {exc.render().strip()}") from None
    srcdir = Path(app.outdir).parent / ".site-src"
    write_site_sources(binder, srcdir, pdf_name=None)
    app.srcdir = srcdir  # the generated pages are the only sources (read before the project is created)
    config.html_static_path = [str(srcdir / "_static")]
    config.project = f"{binder.doc_id} {binder.title}"
    config.html_title = f"{binder.doc_id} v{binder.version}"


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("valgen_root", ".", "env")
    app.add_config_value("valgen_runs", [], "env")
    app.connect("config-inited", _generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
