"""The landing page (`/`) and the web inspector (`/_sandbox/ui/`), server-rendered with Jinja2.

Pages only read; every action (redeliver, clock, reset, trigger, faults) is a same-origin `fetch` from
`static/inspector.js` to the control plane, so it goes through the same checks as any other client."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.core import webhooks
from sandbox.core.journal import status_range
from sandbox.runtime import Runtime

HERE = Path(__file__).resolve().parent
UI = "/_sandbox/ui"
#: The admin token in a cookie, for browsers (they cannot add `Authorization` to a page load).
COOKIE = "lead_sandbox_admin"
PAGE_SIZE = 50

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(), auto_reload=False)


def _pretty(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


_env.filters["pretty"] = _pretty
_env.globals["UI"] = UI
#: the landing page counts the APIs it serves in words, as prose does (a scaffolded sixth included)
_env.globals["NUMBER_WORDS"] = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _status_class(status: int | None) -> str:
    return f"s{(status or 0) // 100}xx"


_env.filters["status_class"] = _status_class


class Inspector:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.router = Router(
            routes=[
                Route("/", self.landing),
                Route(UI, lambda request: RedirectResponse(UI + "/", status_code=308)),
                Route(UI + "/", self.guarded(self.overview)),
                Route(UI + "/tenants/{api}/{slug}", self.guarded(self.tenant)),
                Route(UI + "/requests", self.guarded(self.requests)),
                Route(UI + "/webhooks", self.guarded(self.webhooks)),
                Route(UI + "/outbox", self.guarded(self.outbox)),
                Route(UI + "/faults", self.guarded(self.faults)),
                Route(UI + "/login", self.login, methods=["GET", "POST"]),
                Mount(UI + "/static", StaticFiles(directory=HERE / "static"), name="static"),
            ]
        )

    # -- plumbing ----------------------------------------------------------------------------------------
    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        runtime = self.runtime
        context.setdefault("clock", {"now": runtime.clock.now_iso(), "frozen": runtime.clock.frozen})
        page = _env.get_template(template).render(
            request=request,
            path=request.url.path,
            apis=[info for info in runtime.catalog if not info.control_plane],
            **context,
        )
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    def allowed(self, request: Request) -> bool:
        token = self.runtime.config.admin_token
        if token is None:
            return True
        sent = request.headers.get("authorization", "")
        scheme, _, value = sent.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token):
            return True
        return hmac.compare_digest(request.cookies.get(COOKIE, ""), token)

    def guarded(self, page: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def guard(request: Request) -> Response:
            if not self.allowed(request):
                return self.render(request, "login.html", 401, next=request.url.path, failed=False)
            return await page(request)

        return guard

    async def login(self, request: Request) -> Response:
        """With an admin token, the browser proves it once and keeps it in a same-site cookie."""
        if request.method == "GET":
            return self.render(request, "login.html", next=UI + "/", failed=False)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))  # no multipart dependency for one field
        token, target = form.get("token", [""])[0], form.get("next", [UI + "/"])[0]
        if not target.startswith(UI):
            target = UI + "/"
        expected = self.runtime.config.admin_token
        if expected is not None and not hmac.compare_digest(token, expected):
            return self.render(request, "login.html", 401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/_sandbox")
        return response

    def _tenants(self) -> list[tuple[str, Any]]:
        store = self.runtime.store
        return [(api, t) for api in self.runtime.apis for t in store.list_tenants(api)]

    # -- pages ---------------------------------------------------------------------------------------------
    async def landing(self, request: Request) -> Response:
        return self.render(request, "landing.html", control=next(i for i in self.runtime.catalog if i.control_plane))

    async def overview(self, request: Request) -> Response:
        store = self.runtime.store
        tenants = [
            {"api": api, "slug": t.slug, "name": t.name, "plan": t.plan, "kinds": store.record_kinds(api, t.slug)}
            for api, t in self._tenants()
        ]
        return self.render(request, "overview.html", tenants=tenants)

    async def tenant(self, request: Request) -> Response:
        api, slug = request.path_params["api"], request.path_params["slug"]
        store = self.runtime.store
        record = store.get_tenant(api, slug) if api in self.runtime.apis else None
        if record is None:
            return self.render(request, "missing.html", 404, what=f"tenant {slug} of {api}")
        kinds = store.record_kinds(api, slug)
        names = [name for name, _ in kinds]
        kind = request.query_params.get("kind") or ("leads" if "leads" in names else names[0] if names else "")
        items = store.collection(api, slug, kind).page(before_seq=None, limit=PAGE_SIZE).items if kind else []
        recent = [entry for _, entry in self.runtime.journal.query(api=api, tenant=slug, limit=10)]
        definition = self.runtime.apis[api]
        # A tenant's page shows and moves that tenant's own test clock.
        tenant_clock = self.runtime.clock_for(api, slug)
        context: dict[str, Any] = {
            "clock": {"now": tenant_clock.now_iso(), "frozen": tenant_clock.frozen},
            "clock_scope": {"api": api, "tenant": slug},
        }
        return self.render(
            request, "tenant.html", api=api, tenant=record, kinds=kinds, kind=kind, items=items, recent=recent,
            events=sorted(definition.triggers), keys=store.list_keys(api, slug), **context,
        )

    async def requests(self, request: Request) -> Response:
        params = request.query_params
        trace_id = params.get("trace_id") or None
        filters = {name: params.get(name) or None for name in ("api", "tenant", "status")}
        error = None
        try:
            status_range(filters["status"])
        except ValueError as exc:
            error, filters["status"] = str(exc), None
        rows = self.runtime.journal.query(
            api=filters["api"], tenant=filters["tenant"], status=filters["status"], trace_id=trace_id,
            limit=1 if trace_id else PAGE_SIZE,
        )
        entries = [entry for _, entry in rows]
        if trace_id:
            if not entries:
                return self.render(request, "missing.html", 404, what=f"request {trace_id}")
            entry = entries[0]
            return self.render(request, "request.html", entry=entry, deliveries=self._announced_by(entry))
        return self.render(
            request, "requests.html", entries=entries, filters=filters, error=error,
            query=urlencode({k: v for k, v in filters.items() if v}),
        )

    def _announced_by(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        """The webhook deliveries that carry a record this request created or changed (lead -> webhook)."""
        body = (entry.get("response") or {}).get("body")
        ids = set(_record_ids(body))
        if not ids or not entry.get("api") or not entry.get("tenant"):
            return []
        deliveries = self.runtime.store.collection(entry["api"], entry["tenant"], "webhook_deliveries")
        found = []
        for delivery in deliveries.page(before_seq=None, limit=200).items:
            if any(record_id in delivery["body"] for record_id in ids):
                found.append({"api": entry["api"], "tenant": entry["tenant"], **webhooks.delivery_view(delivery, with_responses=True)})
        return found

    async def webhooks(self, request: Request) -> Response:
        store = self.runtime.store
        api_filter = request.query_params.get("api") or None
        endpoints, deliveries = [], []
        for api, t in self._tenants():
            if api_filter not in (None, api):
                continue
            for endpoint in store.collection(api, t.slug, "webhook_endpoints").all():
                endpoints.append({"api": api, "tenant": t.slug, **{k: v for k, v in endpoint.items() if k != "secret"}})
            for delivery in store.collection(api, t.slug, "webhook_deliveries").page(before_seq=None, limit=PAGE_SIZE).items:
                deliveries.append({"api": api, "tenant": t.slug, **webhooks.delivery_view(delivery, with_responses=True)})
        deliveries.sort(key=lambda d: d.get("created_at", ""), reverse=True)
        return self.render(
            request, "webhooks.html", endpoints=endpoints, deliveries=deliveries[:PAGE_SIZE], api_filter=api_filter
        )

    async def outbox(self, request: Request) -> Response:
        items = []
        for api, t in self._tenants():
            for item in self.runtime.store.collection(api, t.slug, "outbox").page(before_seq=None, limit=PAGE_SIZE).items:
                items.append({"api": api, "tenant": t.slug, **item})
        items.sort(key=lambda i: i.get("created_at", ""), reverse=True)
        return self.render(request, "outbox.html", items=items[:PAGE_SIZE])

    async def faults(self, request: Request) -> Response:
        from sandbox.spec import load_spec

        operations = {}
        for name, api in self.runtime.apis.items():
            if api.admin_only:
                continue
            spec = load_spec(api.spec_file)
            operations[name] = sorted(
                op["operationId"] for item in spec["paths"].values() for op in item.values()
                if isinstance(op, dict) and "operationId" in op
            )
        return self.render(request, "faults.html", faults=self.runtime.store.list_faults(), operations=operations)


_ID = re.compile(r"^[a-z]+_[0-9A-Za-z-]{8,}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _record_ids(body: Any) -> list[str]:
    """Ids of the record(s) a response names: `data.id`, `id`, `lead.id`, … one level deep."""
    if not isinstance(body, dict):
        return []
    found = []
    for candidate in (body, body.get("data"), body.get("lead")):
        if isinstance(candidate, dict):
            for key in ("id", "lead_id"):
                value = candidate.get(key)
                if isinstance(value, str) and _ID.match(value):
                    found.append(value)
    return found


class InspectorMiddleware:
    """Answers `/` and `/_sandbox/ui/...`; everything else goes on to the APIs."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.inspector = Inspector(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/" or path == UI or path.startswith(UI + "/"):
                await self.inspector.router(scope, receive, send)
                return
        await self.app(scope, receive, send)
