"""`lead-sandbox listen`: like `stripe listen`. Registers a webhook endpoint for one tenant of any API
that sends webhooks (through the control plane, as a vendor dashboard would), pointing at a local
receiver; prints every event with its verified signature and forwards it unchanged (body and headers)
to your app. Your app's status is what the sandbox sees, so its retries behave as they would against
your app directly. The signing secret is derived from the API, tenant and forward URL, so it stays the
same across runs and your app is configured once."""

from __future__ import annotations

import hashlib
import sys
import threading
from datetime import datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.apis import registry
from sandbox.serving import serve_in_thread

#: headers a vendor's receiver does not care about; everything else is forwarded unchanged
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}
DESCRIPTION = "lead-sandbox listen"


class ListenError(Exception):
    """The endpoint could not be registered (no sandbox, unknown tenant, …): one line for the user."""


def stable_secret(api: str, tenant: str, forward_to: str | None) -> str:
    """The same `whsec_…` for the same API, tenant and forward URL on every run. A sandbox secret guards
    nothing real; what matters is that the user's app keeps verifying across restarts."""
    digest = hashlib.sha256(f"lead-sandbox listen|{api}|{tenant}|{forward_to or ''}".encode()).hexdigest()
    return "whsec_" + digest[:32]


def _header(headers: dict[str, str], suffix: str) -> str:
    return next((v for k, v in headers.items() if k.endswith(suffix)), "?")


def listen(
    *,
    api: str,
    tenant: str,
    origin: str,
    forward_to: str | None,
    events: list[str] | None = None,
    admin_token: str | None = None,
    out: Any = sys.stdout,
    stop: threading.Event | None = None,
) -> int:
    """Serve the receiver until `stop` is set; raises ListenError when the endpoint cannot be registered."""
    style = registry()[api].webhooks
    if style is None:
        raise ListenError(f"{api} sends no webhooks")
    stop = stop or threading.Event()
    secret = stable_secret(api, tenant, forward_to)
    forwarder = httpx.Client(timeout=30, trust_env=False)

    async def receive(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = style.verify is not None and style.verify(secret, body, headers)
        stamp = datetime.now().strftime("%H:%M:%S")
        line = (f"{stamp}  --> {_header(headers, '-event')} [{_header(headers, '-delivery')}] "
                f"signature {'verified' if verified else 'INVALID'}")
        if forward_to is None:
            print(line, file=out, flush=True)
            return Response(status_code=200)
        forwarded = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            answer = forwarder.post(forward_to, content=body, headers=forwarded)
            print(f"{line}  <-- {answer.status_code} from {forward_to}", file=out, flush=True)
            return Response(status_code=answer.status_code)
        except httpx.HTTPError as exc:
            print(f"{line}  <-- no answer from {forward_to}: {exc}", file=out, flush=True)
            return Response(status_code=502)

    receiver = Starlette(routes=[Route("/", receive, methods=["POST"])])
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    control = httpx.Client(base_url=origin + "/_sandbox", headers=headers, trust_env=False, timeout=10)
    try:
        with serve_in_thread(receiver) as receiver_origin:
            endpoint = _register(control, api, tenant, receiver_origin + "/", events, secret)
            print(f"Ready! Forwarding {api} events of {tenant} to {forward_to or '(print only)'}; endpoint "
                  f"{endpoint['id']}, signing secret {secret} (the same on every run; Ctrl-C to stop)",
                  file=out, flush=True)
            try:
                stop.wait()
            finally:
                _unregister(control, origin, api, tenant, endpoint["id"])
    finally:
        control.close()
        forwarder.close()
    return 0


def _register(control: httpx.Client, api: str, tenant: str, url: str, events: list[str] | None,
              secret: str) -> dict[str, Any]:
    body = {"api": api, "tenant": tenant, "url": url, "events": events or ["*"], "description": DESCRIPTION,
            "secret": secret}
    try:
        created = control.post("/webhooks", json=body)
    except httpx.HTTPError as exc:
        raise ListenError(f"no sandbox answers at {control.base_url} ({exc}); start one with `lead-sandbox serve`"
                          " or pass --base-url") from None
    if created.status_code != 201:
        raise ListenError(f"could not register an endpoint: {created.status_code} {_message(created)}")
    return dict(created.json()["data"])


def _unregister(control: httpx.Client, origin: str, api: str, tenant: str, endpoint_id: str) -> None:
    try:
        control.delete(f"/webhooks/{endpoint_id}", params={"api": api, "tenant": tenant})
    except httpx.HTTPError:
        print(f"lead-sandbox listen: could not remove endpoint {endpoint_id} from {origin}", file=sys.stderr)


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or response.text)
    except ValueError:
        return response.text[:200]
