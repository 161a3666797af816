"""Cross-cutting behaviour as thin ASGI middleware over `sandbox.core`:

- `EdgeMiddleware` (outermost, before Connexion's exception handling): trace id, which API a path
  belongs to, the control plane's CSRF/Host guard, the body-size limit, and the headers every response
  carries (trace id, rate limits).
- `GateMiddleware` (after routing, before Connexion's security): the vendor's key auth, roles and
  per-key rate limits, so 401/403/429 come out in the vendor's own words. Injected faults follow it
  (`sandbox.http.faults.FaultMiddleware`).
- `IdempotencyMiddleware` (after auth, before validation): marks writes as one transaction, and replays
  the first response of an Idempotency-Key.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.config import Config
from sandbox.core import errors as E
from sandbox.core import host_guard, idempotency
from sandbox.core.auth import SAFE_METHODS, Principal, authenticate
from sandbox.core.clock import utc_iso
from sandbox.core.definition import ApiDefinition
from sandbox.core.ratelimit import RateLimitsUnavailable
from sandbox.http import write_unit
from sandbox.http.connexion_fence import routed_operation_id
from sandbox.http.context import IdempotencyClaim, RequestState, begin, state_of
from sandbox.http.errors import render
from sandbox.runtime import Runtime


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str:
    from http.cookies import SimpleCookie

    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(_header(scope, b"cookie") or "")
    except Exception:  # noqa: BLE001 - a malformed Cookie header is simply no cookie
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""


def _same_secret(sent: str, token: str) -> bool:
    """Constant-time comparison over bytes: compare_digest refuses non-ASCII strings, and a TypeError
    from a client's header value was a 500. Header values are latin-1 decoded, so this gets the raw bytes."""
    return hmac.compare_digest(sent.encode("latin-1", "replace"), token.encode())


#: the vendor's local development hosts, and its production host form (`acme.hrefcreative.co`), so a
#: client that points the vendor's hostname at the sandbox (/etc/hosts, a proxy) works unchanged
_HOST_SUFFIXES = (".localtest.me", ".localhost", ".hrefcreative.co")


def _host_tenant(host: str | None) -> str | None:
    """`acme.localtest.me:4010` or `acme.hrefcreative.co` -> `acme`."""
    name = (host or "").split(":", 1)[0].lower().rstrip(".")  # a fully qualified name may end with a dot
    for suffix in _HOST_SUFFIXES:
        if name.endswith(suffix):
            label = name[: -len(suffix)]
            return label if label and "." not in label else None
    return None


def _relative_location(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """A redirect (Starlette's trailing-slash one) names the path only: Starlette builds an absolute
    `Location` from the client's `Host`, which a client (or a DNS-rebinding page) chooses. A path-only
    reference resolves against the origin the client really used (RFC 9110 §10.2.2)."""
    name, value = header
    if name.lower() != b"location":
        return header
    parts = urlsplit(value.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return header
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return name, ("/" + path.lstrip("/")).encode("latin-1")  # never `//host`, which would be absolute again


def anonymous_bucket(runtime: Runtime, api: ApiDefinition, scope: Scope) -> tuple[str, int]:
    """Requests without a valid key are limited per client address on the lowest plan."""
    client = scope.get("client") or ("-", 0)
    plan = api.anonymous_plan or min(api.plans, key=lambda name: api.plans[name])
    return f"{api.name}:addr:{client[0]}", runtime.budget(api, plan)


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = self.runtime
        trace_id = runtime.trace_id()
        path, tenant = runtime.route_tenant(scope["path"])
        if tenant is not None:  # /href/<slug>/api/... is routed as /href/api/... for tenant <slug>
            scope["path"] = path
            scope["raw_path"] = path.encode()
        mount = runtime.mount_at(path)
        if mount is not None and mount.api.tenant_from_host and tenant is None:
            tenant = _host_tenant(_header(scope, b"host"))
        state = begin(scope, RequestState(runtime, trace_id, mount, addressed_tenant=tenant))
        # Servers started without lifespan events still get their job worker.
        runtime.worker.ensure_started()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Appended as raw pairs: nothing inside sets these headers (an idempotent replay stores the
                # response as it was before this layer), so there is nothing to replace.
                raw = list(message.get("headers", ()))
                if 300 <= message["status"] < 400:
                    raw = [_relative_location(pair) for pair in raw]
                raw.append((b"x-trace-id", trace_id.encode()))
                rate = state.rate
                if rate is None and mount is not None and mount.api.plans:
                    # No operation matched (404/405), so the gate did not run: count the request
                    # per client address, so that every response still carries the headers.
                    try:
                        rate = state.rate = runtime.limiter.hit(*anonymous_bucket(runtime, mount.api, scope))
                    except RateLimitsUnavailable:
                        rate = None  # this response is an error already
                if rate is not None:
                    raw.extend(rate.raw_headers())
                message["headers"] = raw
            await send(message)

        if host_guard.guards(path):
            refusal = _control_plane_refusal(scope, runtime.config)
            if refusal is not None:
                await self._reject(scope, send_with_headers, E.Forbidden(refusal))
                return

        limit = runtime.config.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, send_with_headers, E.PayloadTooLarge())
            return

        if declared is None and _header(scope, b"transfer-encoding") is not None:
            # A chunked body has no Content-Length, and Connexion treats such a body as missing.
            # Buffer it (bounded by the limit) and declare its length.
            try:
                body = await _read_body(receive, limit)
            except E.PayloadTooLarge as exc:
                await self._reject(scope, send_with_headers, exc)
                return
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"transfer-encoding"] + [
                (b"content-length", str(len(body)).encode())
            ]
            receive = _replay_receive(body, receive)

        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # chunked bodies carry no Content-Length
                    raise E.PayloadTooLarge()
            return message

        await self.app(scope, receive_limited, send_with_headers)

    @staticmethod
    async def _reject(scope: Scope, send: Send, error: E.SandboxError) -> None:
        status, body, headers = render(scope, error)
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


def _control_plane_refusal(scope: Scope, config: Config) -> str | None:
    host = _header(scope, b"host")
    return host_guard.host_refusal(host, config.host, config.allowed_hosts) or host_guard.origin_refusal(
        _header(scope, b"origin"), _header(scope, b"sec-fetch-site"), host
    )


class GateMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = state_of(scope)
        mount = state.mount if state is not None else None
        if state is None or mount is None:
            await self.app(scope, receive, send)
            return
        api = mount.api
        if mount.unserved is not None:
            raise E.NotFound(mount.unserved)
        operation_id = routed_operation_id(scope)
        principal: Principal | None = None
        failure: E.SandboxError | None = None
        if api.admin_only:
            if operation_id != "getHealth":  # load balancers probe without the admin token
                self._check_admin(scope)
            await self.app(scope, receive, send)
            return
        tenant = state.addressed_tenant
        if api.tenant_from_host and (tenant is None or self.runtime.store.get_tenant(api.name, tenant) is None):
            raise E.TenantNotFound(
                f"No tenant {tenant!r} here: send Host <tenant>.localtest.me or use {mount.prefix.rsplit('/', 1)[0]}/<tenant>/api"
                if tenant
                else f"No tenant in this request: send Host <tenant>.localtest.me or use {mount.prefix.rsplit('/', 1)[0]}/<tenant>/api"
            )
        if operation_id in mount.secured and api.auth is not None:
            try:
                principal = authenticate(
                    api.auth, api.name, _header(scope, api.auth.header.encode()), self.runtime.store
                )
                if api.tenant_from_host and principal.tenant != tenant:
                    raise E.InvalidApiKey("This key belongs to another tenant")
            except E.SandboxError as exc:
                failure = exc
        if api.plans:
            if principal is not None:
                bucket = f"{api.name}:key:{principal.key_hash}"
                budget = self.runtime.budget(api, principal.plan)
            else:
                bucket, budget = anonymous_bucket(self.runtime, api, scope)
            try:
                rate = self.runtime.limiter.hit(bucket, budget)
            except RateLimitsUnavailable:
                if api.rate_limits_fail_closed:
                    raise E.ServiceUnavailable(
                        "Rate limiting is unavailable (its Redis cannot be reached); this route fails closed "
                        "rather than let traffic through unmetered. Retry shortly."
                    ) from None
                rate = None  # this API serves unmetered while the counters are away
            state.rate = rate
            # Without a valid key the answer is the vendor's 401 whatever the address's budget: callers
            # sharing an address (a contract run's negative cases, a mistyped key) never get 429 instead.
            if rate is not None and not rate.allowed and failure is None:
                raise E.RateLimited(
                    f"Rate limit of {rate.limit} requests per minute exceeded; retry after the window resets",
                    headers={"Retry-After": str(rate.retry_after())},
                )
        if failure is not None:
            raise failure
        if principal is not None and scope["method"] not in SAFE_METHODS and not principal.can_write:
            raise E.Forbidden("This key is read-only: it cannot create, change or delete anything")
        state.principal = principal
        await self.app(scope, receive, send)

    def _check_admin(self, scope: Scope) -> None:
        token = self.runtime.config.admin_token
        if token is None:
            return
        sent = _header(scope, b"authorization") or ""
        scheme, _, value = sent.partition(" ")
        if scheme.lower() == "bearer" and _same_secret(value.strip(), token):
            return
        # The inspector's browser session (sandbox.inspector.web: same-site cookie set after the token was given)
        if not _same_secret(_cookie(scope, "lead_sandbox_admin"), token):
            raise E.Unauthorized("The control plane needs `Authorization: Bearer <admin token>`")


class IdempotencyMiddleware:
    """Marks state-changing requests of the vendor APIs as one write unit (sandbox.http.write_unit), and
    under an Idempotency-Key: replays a stored response at once (before validation, so a reused key with
    another payload is a 409 even when that payload is invalid), or hands the key to the write unit,
    which stores the response in the same transaction as the handler's writes."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        state = state_of(scope)
        mount = state.mount if state is not None else None
        if state is None or mount is None or mount.api.admin_only:
            await self.app(scope, receive, send)
            return
        state.write = True
        principal = state.principal
        key = _header(scope, b"idempotency-key")
        if key is None or principal is None or not mount.api.idempotency:
            await self.app(scope, receive, send)
            return
        if not key.strip() or len(key) > idempotency.MAX_KEY_LENGTH:
            raise E.ValidationFailed(
                f"Idempotency-Key must be 1 to {idempotency.MAX_KEY_LENGTH} characters", field="Idempotency-Key"
            )

        body = await _read_body(receive)
        relative_path = scope["path"][len(mount.prefix) :]
        claim = IdempotencyClaim(
            mount.api.name, principal.tenant, key, idempotency.fingerprint(scope["method"], relative_path, body)
        )
        now = utc_iso(state.clock_for(claim.api, claim.tenant).now())
        existing = self.runtime.store.idempotency_get(claim.api, claim.tenant, key, now)
        outcome = idempotency.decide(existing, claim.fingerprint)
        if outcome.decision is idempotency.Decision.CONFLICT:
            raise write_unit.conflict()
        if outcome.decision is idempotency.Decision.REPLAY:
            assert outcome.entry is not None
            await write_unit.replay_response(outcome.entry)(scope, receive, send)
            return
        state.idempotency = claim  # the write unit claims it again inside its transaction (a concurrent twin)
        await self.app(scope, _replay_receive(body, receive), send)


async def _read_body(receive: Receive, limit: int | None = None) -> bytes:
    """The whole request body; PayloadTooLarge as soon as it passes `limit` bytes."""
    chunks = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if limit is not None and size > limit:
            raise E.PayloadTooLarge()
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay_receive(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
