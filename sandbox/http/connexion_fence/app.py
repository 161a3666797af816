"""`FencedApp`: Connexion's AsyncApp with every seam of the fence applied to this app only.

The middleware list is Connexion's documented `middlewares=[...]`: its default stack, with the two
validation middlewares replaced by the fence's subclasses and the sandbox's own middlewares inserted
where `MiddlewarePosition` would put them (`add_middleware` finds a position by Connexion's exact class,
so it cannot be used once the validation middlewares are subclasses)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from connexion import AsyncApp
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware

from sandbox.http.connexion_fence.lean_operation import LeanASGIApp
from sandbox.http.connexion_fence.security import SECURITY_MAP
from sandbox.http.connexion_fence.spec31 import add_api_31, is_31
from sandbox.http.connexion_fence.validate_once import RequestValidation
from sandbox.http.connexion_fence.validators import VALIDATOR_MAP, ResponseValidation
from sandbox.http.connexion_fence.version import check_connexion_version

_REPLACED: dict[type, type] = {
    RequestValidationMiddleware: RequestValidation,
    ResponseValidationMiddleware: ResponseValidation,
}



def middleware_stack(inserted: Sequence[tuple[MiddlewarePosition, type, dict[str, Any]]]) -> list[Any]:
    """Connexion's default stack with the fence's validation, and each `(position, class, options)`
    inserted just before its position's middleware, in the order given (as `add_middleware` would)."""
    stack: list[Any] = []
    for default in ConnexionMiddleware.default_middlewares:
        for position, cls, options in inserted:
            if position.value is default:
                stack.append(partial(cls, **options))
        stack.append(_REPLACED.get(default, default))
    return stack


class FencedApp(AsyncApp):
    """An AsyncApp serving OpenAPI 3.1 specs with 2020-12 validation and the lean request path."""

    def __init__(self, import_name: str, *, middlewares: list[Any], **kwargs: Any) -> None:
        check_connexion_version()
        kwargs.setdefault("validator_map", VALIDATOR_MAP)
        kwargs.setdefault("security_map", SECURITY_MAP)
        super().__init__(import_name, middlewares=middlewares, **kwargs)
        # AsyncApp.__init__ hard-codes its ASGI app (`AsyncASGIApp()`); swap it before any API is added.
        lean = LeanASGIApp()
        self.middleware.app = lean
        self._middleware_app = lean

    def add_api(self, specification: Any, *, base_path: str | None = None, name: str | None = None,
                **options: Any) -> Any:
        if is_31(specification):
            add_api_31(self.middleware, specification, base_path=base_path, name=name, **options)
            return None
        return super().add_api(specification, base_path=base_path, name=name, **options)
