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


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_*_request`` methods whose docstrings cite
    its own glossary; they are scikit-learn's, not ours to document."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
