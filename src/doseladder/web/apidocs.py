"""The interactive API documentation (``/docs``, Swagger UI) served from the installed
packages, with no content delivery network, under a strict Content-Security-Policy.

FastAPI's default ``/docs`` page loads Swagger UI from a CDN and starts it with an inline
script.  Here the Swagger UI files come from the ``fastapi-offline`` package (a web extra,
mounted read-only at :data:`ASSETS_URL`), and the page starts it with our own
``/static/apidocs.js``, so the page's policy is ``script-src 'self'`` and ``style-src 'self'``
with nothing inline (the icons of its stylesheet are ``data:`` images).  ``/redoc`` is not
served (Redoc needs inline styles and blob workers).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "DOCS_CSP", "DOCS_URL", "assets_dir", "install_api_docs"]

DOCS_URL = "/docs"
#: where the Swagger UI files of the ``fastapi-offline`` package are served
ASSETS_URL = "/docs-assets"
#: the policy of the documentation page: nothing from other hosts, no inline script
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/apidocs.js"></script>
</body>
</html>
"""


def assets_dir() -> Path:
    """The directory of the Swagger UI files shipped by ``fastapi-offline``."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install_api_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (create the app with ``docs_url=None, redoc_url=None``)."""
    from html import escape

    page = _PAGE.format(
        title=escape(app.title),
        assets=ASSETS_URL,
        openapi=escape(app.openapi_url or "/openapi.json"),
    )

    @app.get(DOCS_URL, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(
            page, headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"}
        )

    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
