"""Sphinx configuration for daskglm's documentation."""

import daskglm

project = "daskglm"
author = "the daskglm developers"
release = daskglm.__version__
extensions = ["sphinx.ext.autodoc", "numpydoc", "sphinx.ext.intersphinx"]
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "alabaster"
intersphinx_mapping = {}
