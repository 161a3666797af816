"""Stage 2 of docs-check: an index of one vendor's spec, to name the operation an example shows.

METHOD + path (under any base the vendor's pages or our mounts use) -> operation; operation and webhook
summaries for pages that name an operation by heading only; and the schemas of an operation's bodies."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs

from sandbox.contracts.vendors import Conventions
from sandbox.core.routes import parameters_in, route_pattern
from sandbox.core.tenant_paths import without_tenant
from sandbox.spec import load_spec


class SpecIndex:
    def __init__(self, conv: Conventions) -> None:
        self.conv = conv
        self.spec = load_spec(conv.spec_file)
        self.bases = self._bases()
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in self.spec["paths"].items():
            self.routes.append((route_pattern(template, trailing_slash=True), template, item))
        self.routes.sort(key=lambda route: parameters_in(route[0]))
        #: operation summaries (and webhook summaries): pages that name operations by heading only
        self.summaries: list[tuple[str, str | None, str | None, dict[str, Any]]] = []
        for template, item in self.spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and op.get("summary"):
                    self.summaries.append((_words(op["summary"]), method.upper(), template, op))
        for name, item in self.spec.get("webhooks", {}).items():
            for op in item.values():
                if isinstance(op, dict) and op.get("summary"):
                    self.summaries.append((_words(op["summary"]), None, f"webhook {name}", op))

    def by_heading(self, context: str) -> tuple[int, str | None, str | None, dict[str, Any]] | None:
        """(position in `context`, method, path, operation) of the last operation summary it mentions."""
        best = None
        lowered = context.lower()
        for words, method, template, op in self.summaries:
            match = None
            if words:
                pattern = r"\W+".join(re.escape(word) for word in words.split())
                for match in re.finditer(pattern, lowered):  # noqa: B007 - the last match is the one kept
                    pass
            if match is not None and (best is None or match.start() > best[0]):
                best = (match.start(), method, template, op)
        return best

    def _bases(self) -> list[str]:
        bases = set()
        for server in self.spec.get("servers", []):
            path = urlsplit(server["url"]).path.rstrip("/")
            bases.add(path)
        # what the vendor's pages write: /api/v1/* beside /v1, /api/* for HREF, our own mounts
        bases |= {"/api/v1", "/v1", "/api", self.conv.solo_base.rstrip("/")}
        from sandbox.apis import registry

        api = registry().get(self.conv.api)
        if api is not None:
            bases |= {m.rstrip("/") for m in (*api.mounts, *api.solo_mounts)}
        return sorted(bases, key=len, reverse=True)

    @property
    def tenant_path_bases(self) -> list[str]:
        """Bases of the APIs that also take a tenant in the path (`/href/<slug>/api` is `/href/api`)."""
        from sandbox.apis import registry

        return [m for api in registry().values() if api.tenant_from_host for m in api.mounts]

    @property
    def foreign_mounts(self) -> list[str]:
        from sandbox.apis import registry

        own = set(self.bases)
        return [m for name, api in registry().items() if name != self.conv.api for m in api.mounts if m not in own]

    def operation(
        self, method: str | None, url: str | None, wants_body: bool = False
    ) -> tuple[str, dict[str, Any], str] | None:
        """(template, operation, relative path) for a method and a URL or path. Without a method (a path
        heading), the path's only operation, or the one that takes a body for a request sample."""
        if not url:
            return None
        path = urlsplit(url).path if url.startswith("http") else url.split("?")[0]
        path = next((bare for base in self.tenant_path_bases if (bare := without_tenant(path, base))), path)
        if any(path.startswith(mount + "/") for mount in self.foreign_mounts):
            return None
        candidates = [path[len(base):] for base in self.bases if base and path.startswith(base + "/")]
        candidates.append(path)
        for relative in candidates:
            for pattern, template, item in self.routes:
                if not pattern.match(relative):
                    continue
                if method and method.lower() in item:
                    return template, item[method.lower()], relative
                if not method:
                    operations = {m: op for m, op in item.items() if m in ("get", "post", "put", "patch", "delete")}
                    if wants_body:
                        operations = {m: op for m, op in operations.items() if "requestBody" in op}
                    if len(operations) == 1 or (operations and not wants_body):
                        # several operations: the caller tries their bodies; the first is a start
                        return template, next(iter(operations.values())), relative
        return None

    def validator(self, schema: dict[str, Any]) -> Any:
        return jsonschema_rs.validator_for({**schema, "components": self.spec.get("components", {})},
                                           validate_formats=True)

    def sample_schemas(self, operation: dict[str, Any], role: str | None, status: int | None) -> list[tuple[str, Any]]:
        """Every JSON body the operation documents, the likeliest first: (name, schema)."""
        bodies: list[tuple[str, Any]] = []
        request = self.request_schema(operation)
        if request is not None:
            bodies.append(("request body", request))
        for key, response in operation.get("responses", {}).items():
            if "$ref" in response:
                response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            media = response.get("content", {}).get("application/json")
            if media and media.get("schema") is not None:
                bodies.append((f"{key} response", media["schema"]))
        def rank(entry: tuple[str, Any]) -> int:
            name = entry[0]
            if status is not None and name.startswith(str(status)):
                return 0
            if role == "request" and name == "request body":
                return 1
            if role == "response" and name.startswith("2"):
                return 1
            return 2
        return sorted(bodies, key=rank)

    def request_schema(self, operation: dict[str, Any]) -> dict[str, Any] | None:
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return media.get("schema") if media else None

    def response_schema(self, operation: dict[str, Any], status: int | None) -> tuple[int | None, dict[str, Any] | None]:
        responses = operation.get("responses", {})
        keys = [str(status)] if status else [k for k in responses if k.startswith("2")]
        for key in keys:
            response = responses.get(key)
            if response is None:
                continue
            if "$ref" in response:
                response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            media = response.get("content", {}).get("application/json")
            return int(key), (media or {}).get("schema")
        return None, None


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))

