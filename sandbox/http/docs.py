"""Swagger UI 5 (renders OpenAPI 3.1; Connexion's bundled 4.x cannot) from the swagger-ui-py wheel, one
page per API, with a test key already in Authorize (Swagger UI's `preauthorizeApiKey`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import swagger_ui
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC_DIR = Path(swagger_ui.__file__).resolve().parent / "static"


@dataclass(frozen=True)
class DocsPage:
    api: str
    title: str
    spec_url: str
    #: a public fixture test key to pre-fill in Authorize (None: nothing to pre-fill, e.g. the control plane)
    key: str | None = None
    #: security scheme names of the spec the key is filled into
    schemes: tuple[str, ...] = ()
    #: "Try it out" goes to `to` instead of `from` (HREF: the path form of a tenant, as no Host names one)
    rewrite: tuple[str, str] | None = None


def _page(page: DocsPage, static: str) -> str:
    # Values go into the script as JSON, escaped for an HTML <script> element.
    config = json.dumps(
        {"url": page.spec_url, "key": page.key, "schemes": list(page.schemes), "rewrite": page.rewrite}
    ).replace("</", "<\\/")
    title = page.title.replace("&", "&amp;").replace("<", "&lt;")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-ui-standalone-preset.js"></script>
<script>
const page = {config};
window.ui = SwaggerUIBundle({{url: page.url, dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout",
  persistAuthorization: false,
  requestInterceptor: (request) => {{
    if (page.rewrite) {{
      const from = location.origin + page.rewrite[0] + "/", to = location.origin + page.rewrite[1] + "/";
      if (request.url.startsWith(from)) request.url = to + request.url.slice(from.length);
    }}
    return request;
  }},
  onComplete: () => {{
    if (page.key) for (const scheme of page.schemes) window.ui.preauthorizeApiKey(scheme, page.key);
  }}}});
</script></body></html>
"""


class SwaggerDocsMiddleware:
    """Serves `<docs_path>/` (HTML) and `<docs_path>/static/*` for each API's docs page."""

    def __init__(self, app: ASGIApp, pages: dict[str, DocsPage]) -> None:
        self.app = app
        self.pages = pages  # docs path -> page
        self.static = StaticFiles(directory=STATIC_DIR)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            for docs_path, page in self.pages.items():
                if path == docs_path:
                    await RedirectResponse(docs_path + "/", status_code=308)(scope, receive, send)
                    return
                if path == docs_path + "/":
                    await HTMLResponse(_page(page, docs_path + "/static"))(scope, receive, send)
                    return
                if path.startswith(docs_path + "/static/"):
                    static_scope = dict(scope, path=path[len(docs_path) + len("/static") :])
                    await self.static(static_scope, receive, send)
                    return
        await self.app(scope, receive, send)
