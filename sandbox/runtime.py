"""The state one app instance owns: config, store, clock, ids, rate limiter and the mounted APIs.

Built by `create_app`, never at import time, so every test gets a fresh one."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from sandbox.config import Config
from sandbox.core.clock import Clock, StoredClock
from sandbox.core.definition import ApiDefinition, JobHandler
from sandbox.core.ids import IdFactory
from sandbox.core.journal import Journal
from sandbox.core.ratelimit import RateLimiter
from sandbox.core.routes import parameters_in, route_pattern
from sandbox.core.store import Job, Store
from sandbox.core.tenant_paths import tenant_base_pattern
from sandbox.core.webhooks import DELIVER, attempt_delivery, publish
from sandbox.core.workspace import Workspace
from sandbox.worker import JobWorker


@dataclass(frozen=True)
class Mount:
    prefix: str
    api: ApiDefinition
    #: (path regex, allowed methods) for every path item of the spec, for 405 `Allow`
    routes: tuple[tuple[re.Pattern[str], str], ...] = ()
    #: operationIds that need a key (spec `security`, operation-level overrides applied)
    secured: frozenset[str] = frozenset()
    #: a prefix the vendor does not serve to integrations: why (every request is a 404 in the API's shape)
    unserved: str | None = None

    def allow(self, path: str) -> str | None:
        relative = path[len(self.prefix) :] or "/"
        for pattern, methods in self.routes:
            if pattern.fullmatch(relative):
                return methods
        return None


def mount_for(prefix: str, api: ApiDefinition, spec: dict[str, Any]) -> Mount:
    routes = []
    secured = set()
    top_security = spec.get("security", [])
    for template, item in spec.get("paths", {}).items():
        methods = sorted(m.upper() for m in item if m in {"get", "put", "post", "delete", "patch", "head"})
        if "GET" in methods:
            methods.append("HEAD")
        routes.append((route_pattern(template), ", ".join(sorted(set(methods)))))
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation and operation.get("security", top_security):
                secured.add(operation["operationId"])
    routes.sort(key=lambda route: parameters_in(route[0]))
    return Mount(prefix, api, tuple(routes), frozenset(secured))


@dataclass
class Runtime:
    config: Config
    store: Store
    #: the clock of every tenant (`StoredClock`); `clock_for` gives one tenant's
    clock: StoredClock
    ids: IdFactory
    limiter: RateLimiter
    apis: dict[str, ApiDefinition]
    mounts: list[Mount] = field(default_factory=list)
    #: (pattern, base) for APIs whose tenant may be a path segment: /href/<slug>/api/... -> /href/api/...
    tenant_paths: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    worker: JobWorker = field(init=False)
    journal: Journal = field(init=False)
    #: the served APIs as the landing page lists them (sandbox.inspector.catalog.ApiInfo)
    catalog: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.journal = Journal(self.store)
        handlers: dict[str, JobHandler] = {DELIVER: deliver}
        for api in self.apis.values():
            handlers.update(api.jobs)
        self.worker = JobWorker(self, handlers, background={DELIVER})

    @classmethod
    def build(cls, config: Config, apis: dict[str, ApiDefinition], clock: Clock | None = None) -> Runtime:
        store = Store(config.db)
        for api in apis.values():
            for kind, field_name in api.indexes:
                store.ensure_index(kind, field_name)
        # Each start on a database continues with a new id stream: replaying the first start's stream after
        # a restart re-issued ids already stored (AskAd's uuid4 ids collided: a 500). The first start on a
        # database keeps the plain seed, so a fresh sandbox still gives the same ids for the same seed.
        start = store.next_count("id_stream")
        wall = (clock or Clock()).wall  # an injected clock supplies wall time; test time lives in the store
        return cls(
            config=config,
            store=store,
            clock=StoredClock(store, source=wall),
            ids=IdFactory(f"ids:{config.seed}" if start == 0 else f"ids:{config.seed}:{start}"),
            limiter=RateLimiter(
                config.redis or config.rate_limit_storage, config.rate_window, store=store,
                key_prefix=config.redis_prefix, wall=lambda: wall().timestamp(),
            ),
            apis=apis,
        )

    def add_tenant_path(self, base: str) -> None:
        self.tenant_paths.append((tenant_base_pattern(base), base))

    def route_tenant(self, path: str) -> tuple[str, str | None]:
        """(path to route, tenant taken from the path or None)."""
        for pattern, base in self.tenant_paths:
            match = pattern.match(path)
            if match:
                rest = match["rest"] or ""
                if len(rest) > 1 and rest.endswith("/"):
                    # no trailing-slash redirect: its Location could not carry the tenant segment
                    rest = rest.rstrip("/")
                return base + rest, match["slug"].lower()
        return path, None

    def mount_at(self, path: str) -> Mount | None:
        for mount in self.mounts:  # sorted longest prefix first
            if path == mount.prefix or path.startswith(mount.prefix + "/"):
                return mount
        return None

    def budget(self, api: ApiDefinition, plan: str) -> int:
        return self.config.budget(api.name, plan, api.plans.get(plan, min(api.plans.values())))

    def clock_for(self, api: str, tenant: str) -> StoredClock:
        """The tenant's test clock, read once from the store (one request's worth of time)."""
        return StoredClock(self.store, api, tenant, self.clock.wall, snapshot=True)

    def workspace(self, api: str, tenant: str, clock: StoredClock | None = None) -> Workspace:
        """A tenant's workspace whose events go out as this API's webhooks; `clock`: the tenant's clock as
        the request already read it (`RequestState.clock_for`), else read here."""
        style = self.apis[api].webhooks
        ws = Workspace(self.store, api, tenant, clock if clock is not None else self.clock_for(api, tenant), self.ids,
                       None, self.config.webhook_hosts)
        return ws if style is None else replace(ws, events=partial(publish, ws, style, always=False))

    @staticmethod
    def trace_id() -> str:
        # Trace ids must be unique across restarts (support tickets stitch logs by them), so they
        # come from the OS, unlike seeded record ids.
        return str(uuid.uuid4())


async def deliver(runtime: Runtime, job: Job) -> None:
    style = runtime.apis[job.api].webhooks
    if style is not None:
        await attempt_delivery(
            runtime.workspace(job.api, job.tenant), style, runtime.worker.client, job,
            timeout_seconds=runtime.config.webhook_timeout,
        )
