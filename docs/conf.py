"""Sphinx configuration of the garment-transfer documentation.

Pages are Markdown (MyST); the API reference is generated from the package's Google-style docstrings (autodoc,
autosummary, napoleon). `make docs` builds it from the repository root with warnings as errors:

    PYTHONPATH=src .venv/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # document the checkout, not an installed copy

import garment_transfer  # noqa: E402

project = "garment-transfer"
author = "the garment-transfer authors"
copyright = "the garment-transfer authors"
release = version = garment_transfer.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# MyST: $...$ and $$...$$ maths, ::: fences, anchors for headings down to ### (links such as data.md#label-ids).
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference: one page per module, generated at build time into api/generated/ (not committed).
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_inherit_docstrings = False  # a method without a docstring shows none, not its base class's
autoclass_content = "both"  # the class docstring and the __init__ one
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

html_theme = "furo"
html_title = f"garment-transfer {release}"
html_static_path: list[str] = []
