"""Dashboard of technical support. The knowledge base and downloads register themselves in
`techsupport.kb.admin`; this module makes Django's admin autodiscovery load them."""

from .kb import admin as kb_admin  # noqa: F401
