"""Which operation Connexion routed a request to, for the sandbox's middlewares after routing.

Connexion's `RoutingMiddleware` records it in the ASGI scope's extensions under `ROUTING_CONTEXT`, a
name from its private `middleware.abstract`. If a release moved it, the gate would see no operation, so no
operation would count as secured: tests/http/test_connexion_fence.py checks it is found after routing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT


def routed_scope_extensions(operation_id: str) -> dict[str, Any]:
    """The scope extensions Connexion's routing leaves for `operation_id`: for tests that call a middleware
    after routing without running Connexion's router."""
    return {ROUTING_CONTEXT: {"operation_id": operation_id}}


def routed_operation_id(scope: Mapping[str, Any]) -> str | None:
    """The operationId Connexion routed this request to; None before routing or when nothing matched."""
    operation_id = scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get("operation_id")
    return operation_id if isinstance(operation_id, str) else None
