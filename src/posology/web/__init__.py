"""The clinician's pages: server-rendered (Jinja2), every asset shipped in the package."""
