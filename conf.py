"""Sphinx configuration for the binder's HTML site: `sphinx-build . build/html`.

The pages are generated from the content and the run records by the extension
`generator.render.sphinx_ext` (into build/.site-src); nothing else in the
repository is a documentation source.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

extensions = ["generator.render.sphinx_ext"]

# valgen: the content root and the run directories the site shows
# (VALGEN_RUNS: run directories separated by os.pathsep; default: every runs/*/run.json).
valgen_root = "."
valgen_runs = [p for p in os.environ.get("VALGEN_RUNS", "").split(os.pathsep) if p]

project = "valgen binder"
root_doc = "index"
exclude_patterns = [
    ".venv", "build", "runs", "tests", "bench", "generator", "qualification", "requirements", "specs", "sops",
    "schemas", "README.md", "**/.pytest_cache", "**/__pycache__",
]
html_theme = "alabaster"
html_theme_options = {"page_width": "1200px", "sidebar_width": "230px"}
html_css_files = ["valgen.css"]
html_show_sourcelink = False
html_copy_source = False
html_permalinks = False
