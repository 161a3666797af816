"""`lead-sandbox listen --forward-to URL`: like `stripe listen`. Registers a webhook endpoint on the
sandbox that points at a local receiver, prints every event with its verified signature, and
forwards it unchanged (body and headers) to your app; your app's status is what the sandbox sees,
so its retries behave as they would against your app directly."""

from __future__ import annotations

import signal
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
from sandbox.spec import load_spec

#: headers a vendor's receiver cares about; forwarded unchanged
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}


def all_events(api: str) -> list[str]:
    spec = load_spec(registry()[api].spec_file)
    return list(spec["components"]["schemas"]["EventType"]["enum"])


def listen(
    *,
    api: str,
    sandbox_base: str,
    key: str,
    forward_to: str | None,
    events: list[str] | None = None,
    out: Any = sys.stdout,
    stop: threading.Event | None = None,
) -> int:
    definition = registry()[api]
    style = definition.webhooks
    if style is None:
        print(f"lead-sandbox listen: {api} sends no webhooks", file=sys.stderr)
        return 2
    stop = stop or threading.Event()
    state: dict[str, Any] = {"secret": None}
    forwarder = httpx.Client(timeout=30, trust_env=False)

    async def receive(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = style.verify is not None and style.verify(state["secret"], body, headers)
        event = next((v for k, v in headers.items() if k.endswith("-event")), "?")
        delivery = next((v for k, v in headers.items() if k.endswith("-delivery")), "?")
        stamp = datetime.now().strftime("%H:%M:%S")
        line = f"{stamp}  --> {event} [{delivery}] signature {'verified' if verified else 'INVALID'}"
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
    client = httpx.Client(base_url=sandbox_base.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, trust_env=False)
    with serve_in_thread(receiver) as origin:
        created = client.post("/webhooks", json={"url": origin + "/", "events": events or all_events(api),
                                                 "description": "lead-sandbox listen"})
        if created.status_code != 201:
            print(f"lead-sandbox listen: could not register an endpoint: {created.status_code} {created.text}",
                  file=sys.stderr)
            return 1
        endpoint = created.json()["data"]
        state["secret"] = endpoint["secret"]
        print(f"Ready! Forwarding {api} events to {forward_to or '(print only)'}; endpoint {endpoint['id']}, "
              f"signing secret {endpoint['secret']} (Ctrl-C to stop)", file=out, flush=True)
        try:
            stop.wait()
        finally:
            client.delete(f"/webhooks/{endpoint['id']}")
            client.close()
            forwarder.close()
    return 0


def run(args: Any) -> int:
    """CLI entry: stop on Ctrl-C or SIGTERM, removing the endpoint it registered."""
    from sandbox.seeding import load_fixture

    apis = registry()
    if args.api not in apis:
        print(f"lead-sandbox listen: unknown API {args.api!r}", file=sys.stderr)
        return 2
    key = args.key or next(
        k["key"] for t in load_fixture(args.api)["tenants"] for k in t["keys"] if k.get("role", "admin") == "admin"
    )
    base = args.base_url or f"http://127.0.0.1:4010{apis[args.api].mounts[0]}"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    events = [e.strip() for e in args.events.split(",")] if args.events else None
    return listen(api=args.api, sandbox_base=base, key=key, forward_to=args.forward_to, events=events, stop=stop)
