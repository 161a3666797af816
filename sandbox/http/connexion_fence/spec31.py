"""OpenAPI 3.1 specs, accepted per app.

Connexion validates every spec against its bundled 3.0 meta-schema in `Specification.__init__` (and again
in `clone()`, i.e. once per middleware through `with_base_path`); a 3.1 spec fails it. The sandbox's
specs are meta-validated as 3.1 by tests/test_specs.py (openapi-spec-validator) instead, which also keeps
start-up fast. Upstream's `Specification.load` always builds its own `OpenAPISpecification`, so the app
loads 3.1 specs as `Specification31` itself; `clone()` keeps the class (`type(self)(...)`), so every
middleware's copy skips the 3.0 check too. 3.0 specs take Connexion's own path unchanged."""

from __future__ import annotations

from typing import Any

from connexion.middleware.main import API, ConnexionMiddleware
from connexion.spec import OpenAPISpecification


def is_31(specification: object) -> bool:
    return isinstance(specification, dict) and str(specification.get("openapi", "")).startswith("3.1")


class Specification31(OpenAPISpecification):
    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        if str(spec.get("openapi", "")).startswith("3.1"):
            return  # meta-validated by tests/test_specs.py with openapi-spec-validator
        super()._validate_spec(spec)


def _string_keys(obj: Any) -> Any:
    """YAML allows integer keys (`200:`), JSON does not (what upstream's `from_dict` does too)."""
    if isinstance(obj, dict):
        return {str(key): _string_keys(value) for key, value in obj.items()}
    return obj


def add_api_31(
    middleware: ConnexionMiddleware, specification: dict[str, Any], *, base_path: str | None,
    name: str | None, **options: Any,
) -> None:
    """`ConnexionMiddleware.add_api` for an already loaded 3.1 spec: the same API record, the same option
    merging (`_Options.replace`), built from a `Specification31`."""
    if middleware.middleware_stack is not None:
        raise RuntimeError("Cannot add api after an application has started")
    spec = Specification31(_string_keys(specification))
    # As upstream: the known options merge into the app's (`_Options.replace`); any other keyword argument
    # travels on to the API record for the middlewares that read it.
    known = {key: options.pop(key) for key in list(options) if key in vars(middleware.options)}
    merged = middleware.options.replace(**known)
    middleware.apis.append(API(spec, base_path=base_path, name=name, **merged.__dict__, **options))
