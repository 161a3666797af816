"""Swagger UI 5 (renders OpenAPI 3.1; Connexion's bundled 4.x cannot) from the swagger-ui-py wheel."""

from __future__ import annotations

import html
from pathlib import Path

import swagger_ui
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC_DIR = Path(swagger_ui.__file__).resolve().parent / "static"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: "{spec_url}", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout",
  persistAuthorization: true}});
</script></body></html>
"""


class SwaggerDocsMiddleware:
    """Serves `<docs_path>` (HTML) and `<docs_path>/static/*` for each configured API docs page."""

    def __init__(self, app: ASGIApp, pages: dict[str, tuple[str, str]]) -> None:
        self.app = app
        self.pages = pages  # docs path -> (title, spec url)
        self.static = StaticFiles(directory=STATIC_DIR)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            for docs_path, (title, spec_url) in self.pages.items():
                if path == docs_path:
                    await RedirectResponse(docs_path + "/", status_code=308)(scope, receive, send)
                    return
                if path == docs_path + "/":
                    page = _PAGE.format(
                        title=html.escape(title), static=docs_path + "/static", spec_url=html.escape(spec_url)
                    )
                    await HTMLResponse(page)(scope, receive, send)
                    return
                if path.startswith(docs_path + "/static/"):
                    static_scope = dict(scope, path=path[len(docs_path) + len("/static") :])
                    await self.static(static_scope, receive, send)
                    return
        await self.app(scope, receive, send)
