"""The HTTP face.

Owns: the feeds folder served as calendar clients fetch it, filtered feeds, the
JSON of `list`, a health check, and the pages people read (`server`, the only importer of
Starlette, uvicorn and Jinja2; `pages`, what the pages show as plain data; `templates/`,
`static/`).

May import: service, register (its door), timeline, listing, wording, feeds (names only),
model, clock, config, errors, files, logs.
"""

from __future__ import annotations

from calendar_tool.web.server import BackgroundServer, http_url, listen, make_app, run

__all__ = ["BackgroundServer", "http_url", "listen", "make_app", "run"]
