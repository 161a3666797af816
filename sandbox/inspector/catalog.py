"""The served APIs as the landing page and the docs pages list them: base paths, docs, spec, test keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.http.docs import DocsPage

if TYPE_CHECKING:
    from sandbox.config import Config
    from sandbox.core.definition import ApiDefinition


@dataclass(frozen=True)
class FixtureKey:
    tenant: str
    tenant_name: str
    key: str
    role: str
    plan: str


@dataclass(frozen=True)
class ApiInfo:
    name: str
    title: str
    bases: tuple[str, ...]
    #: where "Try it out" and a client go (HREF: the path form for the first tenant)
    base_url_path: str
    spec_url: str
    docs_path: str
    keys: tuple[FixtureKey, ...] = field(default=())
    control_plane: bool = False

    @property
    def key(self) -> str | None:
        """The key pre-filled in Swagger UI: the first tenant's first admin key."""
        return next((k.key for k in self.keys if k.role == "admin"), None)


def _fixture_keys(api: str) -> tuple[FixtureKey, ...]:
    from sandbox.seeding import load_fixture

    return tuple(
        FixtureKey(tenant["slug"], tenant["name"], key["key"], key.get("role", "admin"), key.get("plan", tenant["plan"]))
        for tenant in load_fixture(api)["tenants"]
        for key in tenant.get("keys", [])
    )


def build(config: Config, apis: dict[str, ApiDefinition]) -> list[ApiInfo]:
    infos = []
    for api in apis.values():
        bases = api.bases(config.solo)
        keys = () if api.admin_only else _fixture_keys(api.name)
        if api.admin_only:
            docs_path = bases[0] + "/docs"
        else:
            parent = "" if config.solo else "/" + api.name
            docs_path = parent + (api.docs_path or "/docs")
        base_url_path = api.tenant_base(bases[0], keys[0].tenant) if api.tenant_from_host and keys else bases[0]
        infos.append(
            ApiInfo(api.name, api.title, bases, base_url_path, bases[0] + "/openapi.json", docs_path, keys, api.admin_only)
        )
    return infos


def docs_pages(infos: list[ApiInfo], specs: dict[str, dict[str, Any]]) -> dict[str, DocsPage]:
    pages = {}
    for info in infos:
        schemes = tuple(specs[info.name].get("components", {}).get("securitySchemes", {}))
        rewrite = (info.bases[0], info.base_url_path) if info.base_url_path != info.bases[0] else None
        pages[info.docs_path] = DocsPage(info.name, specs[info.name]["info"]["title"], info.spec_url, info.key, schemes, rewrite)
    return pages
