"""The state one app instance owns: config, store, clock, ids, rate limiter and the mounted APIs.

Built by `create_app`, never at import time, so every test gets a fresh one."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.apis.base import ApiDefinition
from sandbox.config import Config
from sandbox.core.clock import Clock
from sandbox.core.ids import IdFactory
from sandbox.core.ratelimit import RateLimiter
from sandbox.core.store import Store

_PARAM = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True)
class Mount:
    prefix: str
    api: ApiDefinition
    #: (path regex, allowed methods) for every path item of the spec, for 405 `Allow`
    routes: tuple[tuple[re.Pattern[str], str], ...] = ()
    #: operationIds that need a key (spec `security`, operation-level overrides applied)
    secured: frozenset[str] = frozenset()

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
        regex = re.compile(_PARAM.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")))
        routes.append((regex, ", ".join(sorted(set(methods)))))
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation and operation.get("security", top_security):
                secured.add(operation["operationId"])
    return Mount(prefix, api, tuple(routes), frozenset(secured))


@dataclass
class Runtime:
    config: Config
    store: Store
    clock: Clock
    ids: IdFactory
    limiter: RateLimiter
    apis: dict[str, ApiDefinition]
    mounts: list[Mount] = field(default_factory=list)

    @classmethod
    def build(cls, config: Config, apis: dict[str, ApiDefinition], clock: Clock | None = None) -> Runtime:
        return cls(
            config=config,
            store=Store(config.db),
            clock=clock or Clock(),
            ids=IdFactory(f"ids:{config.seed}"),
            limiter=RateLimiter(config.rate_limit_storage, config.rate_window),
            apis=apis,
        )

    def mount_at(self, path: str) -> Mount | None:
        for mount in self.mounts:  # sorted longest prefix first
            if path == mount.prefix or path.startswith(mount.prefix + "/"):
                return mount
        return None

    def budget(self, api: ApiDefinition, plan: str) -> int:
        return self.config.budget(api.name, plan, api.plans.get(plan, min(api.plans.values())))

    @staticmethod
    def trace_id() -> str:
        # Trace ids must be unique across restarts (support tickets stitch logs by them), so they
        # come from the OS, unlike seeded record ids.
        return str(uuid.uuid4())
