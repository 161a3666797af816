"""Settings of one sandbox process: a frozen dataclass, from the CLI or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

DEFAULT_DB = ".lead-sandbox/sandbox.db"
#: the specs: `openapi/` of the repository, installed as package data of `sandbox.openapi`
SPEC_DIR = Path(str(resources.files("sandbox.openapi")))
MiB = 1024 * 1024


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 4010
    #: `memory`, a file path, or an `sqlite:///path` URL.
    db: str = DEFAULT_DB
    seed: int = 42
    #: APIs to serve; empty means all. Exactly one means the vendor's own paths (`/v1`, `/api/v1`…).
    apis: tuple[str, ...] = ()
    #: Plan budget overrides, per minute: `{"growth": 100000}`, `{"hadar.growth": 100000}`, `{"*": 100000}`.
    plans: Mapping[str, int] = field(default_factory=dict)
    #: Validate every response against the spec (on in tests and contract runs; costs CPU).
    validate_responses: bool = False
    max_body_bytes: int = MiB
    #: `limits` storage URI for rate-limit counters (e.g. memory://); `redis` is the usual way.
    rate_limit_storage: str | None = None
    #: Redis for rate-limit counters shared by every worker and machine (`--redis`, LEAD_SANDBOX_REDIS).
    #: Without it the counters live in the database (shared by the workers on it).
    redis: str | None = None
    #: Prefix of every Redis key this deployment writes (several deployments may share one Redis).
    redis_prefix: str = "lead-sandbox"
    #: Worker processes of `serve` on one port (`--workers`, LEAD_SANDBOX_WORKERS).
    workers: int = 1
    #: Length of a rate-limit window. Budgets stay "per window"; shorten it to test back-off quickly.
    rate_window: int = 60
    #: Where webhooks may go: "loopback", "public" (default: loopback and public addresses) or "any"
    #: (private networks too); link-local and metadata addresses never (`sandbox/core/egress.py`).
    webhook_hosts: str = field(default_factory=lambda: os.environ.get("LEAD_SANDBOX_WEBHOOK_HOSTS", "public"))
    #: Upper bound of one webhook attempt in seconds; the vendors' 30 s when unset (tests shorten it).
    webhook_timeout: float | None = None
    #: When set, /_sandbox requires `Authorization: Bearer <admin_token>`.
    admin_token: str | None = None
    #: Keep the request journal (GET /_sandbox/requests, the inspector, the console log).
    journal: bool = True
    #: Print one line per request on stdout: "text", "json" (JSON lines), or None (quiet; tests, `--quiet`).
    console_log: str | None = None
    #: Host names (exact, `*.example.com`, or `*` for any) the control plane answers besides loopback
    #: names and `host`: a team deployment's own name. Anything else is refused (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    #: Connection limits (sandbox.http.server_limits): seconds for the request headers, seconds a request
    #: body may stall between chunks, and bytes of request line + headers before a 431.
    header_timeout: float = 20.0
    body_timeout: float = 20.0
    max_header_bytes: int = 32 * 1024

    def __post_init__(self) -> None:
        from sandbox.core.egress import parse_policy

        object.__setattr__(self, "webhook_hosts", parse_policy(self.webhook_hosts))  # raises on a typo

    @property
    def solo(self) -> bool:
        return len(self.apis) == 1

    def budget(self, api: str, plan: str, default: int) -> int:
        for name in (f"{api}.{plan}", plan, "*"):  # most specific override wins
            if name in self.plans:
                return self.plans[name]
        return default


def parse_plan_overrides(items: list[str]) -> dict[str, int]:
    """`["growth=100000", "hadar.starter=5"]` -> mapping; raises ValueError on a bad item."""
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value.isdigit() or int(value) < 1:
            raise ValueError(f"--plan takes NAME=PER_MINUTE with a positive integer, got {item!r}")
        out[name.strip()] = int(value)
    return out
